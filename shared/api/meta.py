"""Common building blocks of every Waybill API object: the pydantic base, metadata, selectors, conditions.

Every model derives from :class:`ApiModel`: snake_case attributes in Python, camelCase keys on the
wire (``populate_by_name`` lets both spellings in), unknown keys ignored the way the API server
prunes them. ``to_dict()`` gives the wire form without unset fields; ``from_dict()`` parses it.
The kinds themselves live in one module per API group (``policy``, ``binding``, ``work``,
``cluster``); ``crdgen`` turns them into CRDs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from pydantic.alias_generators import to_camel

from shared.api.quantity import is_quantity

ConditionStatus = Literal["True", "False", "Unknown"]
LabelSelectorOperator = Literal["In", "NotIn", "Exists", "DoesNotExist"]

# A Kubernetes object name or label value: the generated schema carries these patterns.
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
CONDITION_REASON = r"^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$"
# A count or a percentage of a total (intstr fields such as maxUnavailable): 2 or "25%".
INT_OR_PERCENT_PATTERN = r"^(0|[1-9][0-9]*)%?$"


@dataclass(frozen=True)
class SchemaHint:
    """Marks a field type for the CRD generator: how to render what pydantic alone cannot say."""

    kind: Literal["int-or-string", "int-or-percent", "embedded-object", "preserve-unknown"]


def _check_quantity(value: int | str) -> int | str:
    if not is_quantity(value):
        raise ValueError(f"not a Kubernetes quantity (like 500m, 2Gi, 4): {value!r}")
    return value


# A resource quantity, as the API server stores it: an integer or a string such as "500m" or "2Gi".
Quantity = Annotated[int | str, AfterValidator(_check_quantity), SchemaHint("int-or-string")]
# A map of resource name (cpu, memory, pods, ...) to quantity, like core/v1 ResourceList.
ResourceList = dict[str, Quantity]
# A whole Kubernetes object carried inside another (a Work's manifests).
EmbeddedObject = Annotated[dict[str, Any], SchemaHint("embedded-object")]
# An arbitrary JSON object that is kept as is (raw status feedback).
RawObject = Annotated[dict[str, Any], SchemaHint("preserve-unknown")]


class ApiModel(BaseModel):
    """Base of every Waybill API model: camelCase wire names, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        validate_assignment=False,
        use_attribute_docstrings=True,
    )

    @model_serializer(mode="wrap")
    def _drop_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Leave out fields that are None, and empty lists/maps that default to empty.

        Only this model's own fields are filtered: embedded objects (manifests, raw status) are kept
        exactly as given, so ``emptyDir: {}`` in a manifest survives.
        """
        data: dict[str, Any] = handler(self)
        for name, info in type(self).model_fields.items():
            key = info.alias or name
            if key not in data:
                key = name
            if key not in data:
                continue
            value = data[key]
            if value is None or (value in ([], {}) and info.default_factory in (list, dict)):
                del data[key]
        return data

    def to_dict(self) -> dict[str, Any]:
        """The wire form (camelCase keys), leaving out unset fields and empty defaulted lists and maps."""
        return self.model_dump(mode="json", by_alias=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Parse the wire form; raises ``pydantic.ValidationError`` naming the bad fields."""
        return cls.model_validate(dict(data))


class OwnerReference(ApiModel):
    """metav1.OwnerReference."""

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(ApiModel):
    """The part of metav1.ObjectMeta Waybill uses (the CRD schema leaves metadata to the server)."""

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    finalizers: list[str] = Field(default_factory=list)
    owner_references: list[OwnerReference] = Field(default_factory=list)


class LabelSelectorRequirement(ApiModel):
    """One set-based requirement: ``key operator values``."""

    key: str = Field(min_length=1)
    operator: LabelSelectorOperator
    values: list[str] = Field(default_factory=list)


class LabelSelector(ApiModel):
    """metav1.LabelSelector: all ``matchLabels`` and ``matchExpressions`` must hold (empty matches all)."""

    match_labels: dict[str, str] = Field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = Field(default_factory=list)


class Condition(ApiModel):
    """metav1.Condition: one observation about an object (``Ready``, ``Applied``, ``Scheduled``...)."""

    # lists of conditions are list maps keyed by type (as in Kubernetes' own types), so that
    # writers applying different condition types server-side each own only their own entries
    LIST_MAP_KEYS: ClassVar[tuple[str, ...]] = ("type",)

    type: str = Field(min_length=1, max_length=316)
    status: ConditionStatus
    reason: str = Field(min_length=1, max_length=1024, pattern=CONDITION_REASON)
    message: str = Field(default="", max_length=32768)
    last_transition_time: str
    observed_generation: int | None = Field(default=None, ge=0)


MAX_CONDITION_MESSAGE = 32000
"""A condition message is cut to this many characters (the schema allows 32768)."""


def parse_time(text: Any) -> datetime | None:
    """A Kubernetes timestamp (RFC 3339, ``Z`` or an offset, any sub-second precision) as an
    aware datetime; None for anything missing or unparsable (callers treat that as unknown)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def now_rfc3339() -> str:
    """The current time as Kubernetes writes it (second precision, ``Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def transition_time(*, previous_status: str | None, previous_time: str | None, status: str, now: str) -> str:
    """The one rule for ``lastTransitionTime``: kept while the status stays, ``now`` when it moves."""
    if previous_status == status and previous_time:
        return previous_time
    return now


def stamp_wire_conditions(
    new: Sequence[Mapping[str, Any]], old: Sequence[Mapping[str, Any]] | None, *, now: str | None = None
) -> list[dict[str, Any]]:
    """``new`` conditions (wire dicts, without times) each stamped with ``lastTransitionTime`` by
    the one rule (``transition_time``): the time of ``old``'s condition of that type while the
    status stays, ``now`` when it moves. Only ``new``'s conditions are returned, in its order."""
    stamp = now or now_rfc3339()
    previous = {c.get("type"): c for c in old or [] if isinstance(c, Mapping)}
    out = []
    for condition in new:
        before = previous.get(condition.get("type"))
        stamped = dict(condition)
        stamped["lastTransitionTime"] = transition_time(
            previous_status=None if before is None else before.get("status"),
            previous_time=None if before is None else before.get("lastTransitionTime"),
            status=str(condition.get("status")),
            now=stamp,
        )
        out.append(stamped)
    return out


def set_wire_condition(
    conditions: Sequence[Mapping[str, Any]] | None,
    *,
    type: str,
    status: str,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    now: str | None = None,
) -> list[dict[str, Any]]:
    """``set_condition`` over wire dicts (what controllers read from caches and write back): the
    other conditions are kept as they are, this one is stamped by ``stamp_wire_conditions``."""
    current = [dict(c) for c in conditions or []]
    wanted: dict[str, Any] = {
        "type": type,
        "status": status,
        "reason": reason,
        "message": message[:MAX_CONDITION_MESSAGE],
    }
    if observed_generation is not None:
        wanted["observedGeneration"] = observed_generation
    (updated,) = stamp_wire_conditions([wanted], current, now=now)
    if not any(c.get("type") == type for c in current):
        return [*current, updated]
    return [updated if c.get("type") == type else c for c in current]


def find_condition(conditions: list[Condition], condition_type: str) -> Condition | None:
    """The condition of that type, or None."""
    for condition in conditions:
        if condition.type == condition_type:
            return condition
    return None


def set_condition(
    conditions: list[Condition],
    *,
    type: str,
    status: ConditionStatus,
    reason: str,
    message: str = "",
    observed_generation: int | None = None,
    now: str | None = None,
) -> list[Condition]:
    """A new condition list with that condition set; ``lastTransitionTime`` moves only when status changes."""
    previous = find_condition(conditions, type)
    transition = transition_time(
        previous_status=None if previous is None else previous.status,
        previous_time=None if previous is None else previous.last_transition_time,
        status=status,
        now=now or now_rfc3339(),
    )
    updated = Condition(
        type=type,
        status=status,
        reason=reason,
        message=message[:MAX_CONDITION_MESSAGE],
        last_transition_time=transition,
        observed_generation=observed_generation,
    )
    result = [c for c in conditions if c.type != type]
    index = next((i for i, c in enumerate(conditions) if c.type == type), len(result))
    result.insert(index, updated)
    return result


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry of a CRD."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0


@dataclass(frozen=True)
class CrdInfo:
    """What the CRD generator needs beyond the schema: names, scope, columns."""

    group: str
    version: str
    kind: str
    plural: str
    singular: str
    scope: Literal["Namespaced", "Cluster"]
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ("waybill",)
    printer_columns: tuple[PrinterColumn, ...] = ()
    status_subresource: bool = True
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{self.group}"


AGE_COLUMN = PrinterColumn(name="Age", json_path=".metadata.creationTimestamp", type="date")


def condition_column(name: str, condition_type: str, *, priority: int = 0) -> PrinterColumn:
    """A printer column showing one condition's status."""
    return PrinterColumn(
        name=name,
        json_path=f'.status.conditions[?(@.type=="{condition_type}")].status',
        description=f"Status of the {condition_type} condition",
        priority=priority,
    )


class KubeObject(ApiModel):
    """A top-level API object: apiVersion, kind, metadata. Subclasses set ``crd``."""

    crd: ClassVar[CrdInfo]

    api_version: str
    kind: str
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    @classmethod
    def new(cls, *, name: str, namespace: str | None = None, **fields: Any) -> Self:
        """An object of this kind with apiVersion/kind filled in (fields by attribute name)."""
        return cls(
            api_version=cls.crd.api_version,
            kind=cls.crd.kind,
            metadata=ObjectMeta(name=name, namespace=namespace),
            **fields,
        )
