"""Kind names as kubectl accepts them: plural, singular, short name, Kind, group-qualified.

``deploy``, ``deployment``, ``deployments``, ``Deployment``, ``deployments.apps`` and
``deployments.v1.apps`` all name apps/v1 Deployments. Waybill's own kinds are known without
asking the server (:data:`WAYBILL_KINDS`); any other kind is looked up in the server's
discovery with :func:`resolve`. Pure functions over discovery records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.api import names
from shared.kube.types import ResourceInfo
from waybill.errors import UsageError

# Where several groups serve a name, the one kubectl would pick first.
_GROUP_PRIORITY = ("", "apps", "batch", "autoscaling", "networking.k8s.io", "policy")


@dataclass(frozen=True)
class KindInfo:
    """One of Waybill's kinds and every word that names it."""

    kind: str
    api_version: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # Waybill's own extra words (``cluster``)

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def words(self) -> set[str]:
        return {self.plural, self.kind.lower(), *self.short_names, *self.aliases}


WAYBILL_KINDS = (
    KindInfo(
        names.KIND_MEMBER_CLUSTER,
        names.CLUSTER_API_VERSION,
        "memberclusters",
        True,
        ("mc",),
        ("cluster", "clusters", "member", "members"),
    ),
    KindInfo(names.KIND_RESOURCE_BINDING, names.WORK_API_VERSION, "resourcebindings", True, ("rb",)),
    KindInfo(
        names.KIND_CLUSTER_RESOURCE_BINDING,
        names.WORK_API_VERSION,
        "clusterresourcebindings",
        False,
        ("crb",),
    ),
    KindInfo(names.KIND_WORK, names.WORK_API_VERSION, "works", True, ("work",)),
    KindInfo(names.KIND_PROPAGATION_POLICY, names.POLICY_API_VERSION, "propagationpolicies", True, ("pp",)),
    KindInfo(
        names.KIND_CLUSTER_PROPAGATION_POLICY,
        names.POLICY_API_VERSION,
        "clusterpropagationpolicies",
        False,
        ("cpp",),
    ),
    KindInfo(names.KIND_OVERRIDE_POLICY, names.POLICY_API_VERSION, "overridepolicies", True, ("op",)),
    KindInfo(
        names.KIND_CLUSTER_OVERRIDE_POLICY,
        names.POLICY_API_VERSION,
        "clusteroverridepolicies",
        False,
        ("cop",),
    ),
)

# Words naming several kinds at once: ``bindings`` lists both binding kinds, like Waybill always did.
GROUP_WORDS = {
    "binding": (names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING),
    "bindings": (names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING),
    "policy": (names.KIND_PROPAGATION_POLICY, names.KIND_CLUSTER_PROPAGATION_POLICY),
    "policies": (names.KIND_PROPAGATION_POLICY, names.KIND_CLUSTER_PROPAGATION_POLICY),
}


def _split(word: str) -> tuple[str, str]:
    """``deployments.v1.apps`` → (``deployments``, ``v1.apps``)."""
    resource, _, qualifier = word.strip().lower().partition(".")
    return resource, qualifier


def _qualifier_matches(qualifier: str, *, group: str, version: str) -> bool:
    return not qualifier or qualifier in (group, f"{version}.{group}") or (not group and qualifier == version)


def waybill_kinds(word: str) -> list[KindInfo]:
    """Waybill's kinds named by ``word`` ([] when it names none)."""
    resource, qualifier = _split(word)
    if not qualifier and resource in GROUP_WORDS:
        wanted = GROUP_WORDS[resource]
        return [k for k in WAYBILL_KINDS if k.kind in wanted]
    return [
        k
        for k in WAYBILL_KINDS
        if resource in k.words()
        and _qualifier_matches(qualifier, group=k.group, version=k.api_version.rpartition("/")[2])
    ]


def all_kind_words() -> list[str]:
    """Every word naming a Waybill kind (for shell completion)."""
    words = set(GROUP_WORDS)
    for k in WAYBILL_KINDS:
        words |= k.words()
    return sorted(words)


def resolve(word: str, resources: Iterable[ResourceInfo]) -> ResourceInfo | None:
    """The served kind ``word`` names, chosen like kubectl when several groups serve it."""
    resource, qualifier = _split(word)
    matches: list[ResourceInfo] = []
    for info in resources:
        group, _, version = info.api_version.rpartition("/")
        words = {info.plural, info.kind.lower(), info.singular or info.kind.lower(), *info.short_names}
        if resource in words and _qualifier_matches(qualifier, group=group, version=version):
            matches.append(info)
    if not matches:
        return None

    def rank(info: ResourceInfo) -> int:
        group = info.api_version.rpartition("/")[0]
        return _GROUP_PRIORITY.index(group) if group in _GROUP_PRIORITY else len(_GROUP_PRIORITY)

    return min(matches, key=rank)  # stable: the first served version of the best group


def flatten(groups: Iterable[object]) -> list[ResourceInfo]:
    """The resources of ``KubeClient.api_resources()`` as one list."""
    out: list[ResourceInfo] = []
    for group in groups:
        out.extend(getattr(group, "resources", ()))
    return out


def parse_target(text: str, *, example: str = "deployment/web") -> tuple[str, str]:
    """``KIND/NAME`` split; a usage error when either half is missing."""
    kind, sep, name = text.partition("/")
    if not sep or not kind or not name or "/" in name:
        raise UsageError(f"{text!r} is not KIND/NAME (e.g. {example})")
    return kind, name


def unknown_kind(word: str, known: Sequence[str] = ()) -> UsageError:
    hint = f" (try: {', '.join(known)})" if known else ""
    return UsageError(f"the server does not serve a kind named {word!r}{hint}")
