"""The CLI's pure decisions: kubeconfig merging, kind words, jsonpath, taints, unjoin and promote
decisions, the agent's lease and refusal rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import identity
from shared.kube.errors import Forbidden, Unauthorized
from shared.kube.types import ResourceInfo
from waybill import jsonpath, kinds, kubeconfigs, promoting, tainting, unjoining
from waybill.errors import UsageError

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def _config(*, current: str | None, clusters: list[str], contexts: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "clusters": [
            {"name": c, "cluster": {"server": f"https://{c}", "certificate-authority": "ca.crt"}}
            for c in clusters
        ],
        "users": [],
        "contexts": [{"name": n, "context": {"cluster": c}} for n, c in contexts.items()],
    }
    if current:
        doc["current-context"] = current
    return doc


def test_kubeconfig_merge_first_definition_and_first_current_context_win() -> None:
    first = _config(current=None, clusters=["a"], contexts={"x": "a"})
    second = _config(current="x", clusters=["a", "b"], contexts={"x": "b", "y": "b"})
    second["clusters"][0]["cluster"]["server"] = "https://other"
    merged = kubeconfigs.merge([first, second])
    assert merged["current-context"] == "x"
    assert [c["name"] for c in merged["clusters"]] == ["a", "b"]
    assert merged["clusters"][0]["cluster"]["server"] == "https://a"
    assert {c["name"]: c["context"]["cluster"] for c in merged["contexts"]} == {"x": "a", "y": "b"}


def test_kubeconfig_relative_paths_resolve_against_their_file(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "sub" / "k.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(_config(current="x", clusters=["a"], contexts={"x": "a"})))
    loaded = kubeconfigs.load(str(path))
    assert loaded.selected()[1]["certificate-authority"] == str(path.parent / "ca.crt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [", "is not YAML"),
        ("- 1\n- 2", "is not a kubeconfig"),
        ("clusters: 3", "clusters must be a list"),
    ],
)
def test_bad_kubeconfig_text(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        kubeconfigs.parse_file("f", text)


def test_candidate_files_follow_kubectl_precedence() -> None:
    assert kubeconfigs.candidate_files("flag", environ={"KUBECONFIG": "a:b"}) == ["flag"]
    assert kubeconfigs.candidate_files(None, environ={"KUBECONFIG": "a::b"}) == ["a", "b"]
    assert kubeconfigs.candidate_files(None, environ={})[0].endswith(".kube/config")


DEPLOY = ResourceInfo(
    api_version="apps/v1",
    kind="Deployment",
    plural="deployments",
    namespaced=True,
    short_names=("deploy",),
    singular="deployment",
)
EXT_DEPLOY = ResourceInfo(
    api_version="extensions.example/v1",
    kind="Deployment",
    plural="deployments",
    namespaced=True,
    singular="deployment",
)


@pytest.mark.parametrize(
    "word", ["deploy", "deployment", "deployments", "Deployment", "deployments.apps", "deploy.v1.apps"]
)
def test_kind_words_resolve_like_kubectl(word: str) -> None:
    assert kinds.resolve(word, [EXT_DEPLOY, DEPLOY]) == DEPLOY


def test_group_qualified_word_picks_that_group_and_unknown_is_none() -> None:
    assert kinds.resolve("deployments.extensions.example", [DEPLOY, EXT_DEPLOY]) == EXT_DEPLOY
    assert kinds.resolve("gizmo", [DEPLOY]) is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("clusters", ["MemberCluster"]),
        ("mc", ["MemberCluster"]),
        ("bindings", ["ResourceBinding", "ClusterResourceBinding"]),
        ("rb", ["ResourceBinding"]),
        ("works.work.waybill.dev", ["Work"]),
        ("pp", ["PropagationPolicy"]),
        ("deployments", []),
    ],
)
def test_waybill_kind_words(word: str, expected: list[str]) -> None:
    assert [k.kind for k in kinds.waybill_kinds(word)] == expected


OBJ = {
    "items": [
        {
            "metadata": {"name": "a", "labels": {"x.y": "1"}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        },
        {"metadata": {"name": "b"}},
    ]
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{.items[*].metadata.name}", "a b"),
        ("{range .items[*]}{.metadata.name}{'\\n'}{end}", "a\nb\n"),
        ('{.items[0].status.conditions[?(@.type=="Ready")].status}', "True"),
        ("{.items[0].metadata.labels['x.y']}", "1"),
        ("{..name}", "a b"),
        ("{.items[-1].metadata.name}", "b"),
        ("name={.items[1].metadata.name}\\t!", "name=b\t!"),
        ("{.items[0].metadata.labels}", '{"x.y": "1"}'),
        ("{.missing}", ""),
    ],
)
def test_jsonpath_templates(template: str, expected: str) -> None:
    assert jsonpath.render(template, OBJ) == expected


@pytest.mark.parametrize("template", ["{.a", "{range .items[*]}{.x}", "{end}", "{.a b}"])
def test_bad_jsonpath_templates(template: str) -> None:
    with pytest.raises(jsonpath.JsonPathError):
        jsonpath.render(template, OBJ)


def test_taints_add_overwrite_remove() -> None:
    taints = tainting.apply([], [tainting.parse("gpu=a:NoSchedule")], overwrite=False)
    assert taints == [{"key": "gpu", "effect": "NoSchedule", "value": "a"}]
    with pytest.raises(UsageError, match="already exists"):
        tainting.apply(taints, [tainting.parse("gpu=b:NoSchedule")], overwrite=False)
    taints = tainting.apply(taints, [tainting.parse("gpu=b:NoSchedule")], overwrite=True)
    assert taints[0]["value"] == "b"
    both = tainting.apply(taints, [tainting.parse("gpu:NoExecute")], overwrite=False, now=NOW)
    assert both[1] == {"key": "gpu", "effect": "NoExecute", "timeAdded": "2026-01-01T12:00:00Z"}
    assert tainting.apply(both, [tainting.parse("gpu-")], overwrite=False) == []
    with pytest.raises(UsageError, match="not found"):
        tainting.apply([], [tainting.parse("gpu:NoSchedule-")], overwrite=False)


@pytest.mark.parametrize("spec", ["gpu", "gpu=a:Sometimes", "bad key:NoSchedule", "k=bad value:NoSchedule"])
def test_bad_taints(spec: str) -> None:
    with pytest.raises(UsageError):
        tainting.parse(spec)


def _lease(*, holder: str, renewed: datetime, duration: int = 40) -> dict[str, Any]:
    return {
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration,
            "renewTime": renewed.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
    }


def test_unjoin_agent_state_from_the_lease() -> None:
    assert not unjoining.agent_state(None, now=NOW).alive
    assert unjoining.agent_state(_lease(holder="a", renewed=NOW - timedelta(seconds=5)), now=NOW).alive
    dead = unjoining.agent_state(_lease(holder="a", renewed=NOW - timedelta(minutes=5)), now=NOW)
    assert not dead.alive and dead.description == "last heartbeat 5m ago"


def test_unjoin_remaining_objects_and_finalizers() -> None:
    works = [
        {
            "spec": {
                "workload": {
                    "manifests": [
                        {"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}},
                        {"kind": "Namespace", "metadata": {"name": "shop"}},
                    ]
                }
            }
        },
        {
            "spec": {
                "workload": {
                    "manifests": [{"kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"}}]
                }
            }
        },
    ]
    assert unjoining.remaining_objects(works) == ["Deployment shop/web", "Namespace shop"]
    assert unjoining.waybill_finalizers(
        ["waybill.dev/agent", "other.io/x", "cluster.waybill.dev/cleanup"]
    ) == ["waybill.dev/agent", "cluster.waybill.dev/cleanup"]


def test_agent_lease_holder_rules() -> None:
    fresh = _lease(holder="other", renewed=NOW - timedelta(seconds=5))
    assert not identity.lease_holder_state(fresh, me="me", now=NOW).free
    assert identity.lease_holder_state(fresh, me="other", now=NOW).free
    assert identity.lease_holder_state(_lease(holder="", renewed=NOW), me="me", now=NOW).free
    stale = _lease(holder="other", renewed=NOW - timedelta(seconds=41))
    assert identity.lease_holder_state(stale, me="me", now=NOW).free
    assert identity.lease_holder_state(None, me="me", now=NOW).free


def test_agent_refusal_messages_say_what_to_do() -> None:
    unjoined = identity.refusal_message(Unauthorized("x"), cluster="eu1", namespace="member-eu1", attempts=5)
    assert "401 Unauthorized" in unjoined and "waybill join eu1" in unjoined
    wrong = identity.refusal_message(Forbidden("x"), cluster="eu9", namespace="member-eu9", attempts=5)
    assert "403 Forbidden" in wrong and "--cluster eu9 does not match" in wrong


async def test_an_agent_unjoined_while_it_waits_for_a_stopped_agents_lease_is_refused_by_name() -> None:
    """The hub answers 401 while the new agent waits for the old one's Lease to run out: the
    agent ends with the unjoined message, not a traceback (seen as a flaky CLI test)."""
    held = _lease(holder="us1-agent-old", renewed=datetime.now(tz=UTC))
    answers: list[Any] = [held, Unauthorized("Unauthorized")]

    class Hub:
        async def get(self, *args: Any, **kwargs: Any) -> Any:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

    with pytest.raises(identity.IdentityRefused, match=r"unjoined.*waybill join us1"):
        await identity.ensure_sole_agent(
            Hub(), namespace="member-us1", me="us1-agent", poll=0.01, cluster="us1"  # type: ignore[arg-type]
        )
    assert answers == []  # the refusal came from the second read, while waiting


def test_promote_dependencies_and_template() -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "a",
            "uid": "u",
            "resourceVersion": "3",
            "generation": 2,
            "annotations": {"deployment.kubernetes.io/revision": "1", "keep": "me"},
        },
        "spec": {
            "template": {
                "spec": {
                    "serviceAccountName": "runner",
                    "imagePullSecrets": [{"name": "pull"}],
                    "volumes": [
                        {"configMap": {"name": "cm"}},
                        {"persistentVolumeClaim": {"claimName": "data"}},
                        {"projected": {"sources": [{"secret": {"name": "proj"}}]}},
                    ],
                    "initContainers": [{"env": [{"valueFrom": {"configMapKeyRef": {"name": "cm2"}}}]}],
                    "containers": [{"envFrom": [{"secretRef": {"name": "env"}}]}],
                }
            }
        },
        "status": {"replicas": 1},
    }
    assert [(d.kind, d.name) for d in promoting.dependencies(deploy)] == [
        ("ConfigMap", "cm"),
        ("ConfigMap", "cm2"),
        ("PersistentVolumeClaim", "data"),
        ("Secret", "env"),
        ("Secret", "proj"),
        ("Secret", "pull"),
        ("ServiceAccount", "runner"),
    ]
    template = promoting.as_template(deploy, cluster="eu1")
    assert "status" not in template and "uid" not in template["metadata"]
    assert template["metadata"]["annotations"] == {"keep": "me", promoting.ANNOTATION_PROMOTED_FROM: "eu1"}
    service = promoting.as_template(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"clusterIP": "10.0.0.1", "ports": []},
        },
        cluster="eu1",
    )
    assert service["spec"] == {"ports": []}
    assert len(promoting.policy_name("Deployment", "x" * 80)) <= 63
