"""The real ``kubectl`` against kubesim (HTTPS: kubectl sends bearer tokens only over TLS)."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from kubesim import SimServer
from kubesim.testing import SimFactory

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")

Kubectl = Callable[..., Awaitable[tuple[int, str, str]]]

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  replicas: REPLICAS
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: IMAGE}]}
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A Widget is a thing for tests.
        properties:
          spec:
            type: object
            description: What the widget should be.
            properties:
              size: {type: integer, minimum: 0, description: How big the widget is.}
"""


def deployment(*, replicas: int = 2, image: str = "nginx") -> str:
    return DEPLOYMENT.replace("REPLICAS", str(replicas)).replace("IMAGE", image)


@pytest_asyncio.fixture
async def secure(sim_factory: SimFactory) -> SimServer:
    return await sim_factory("kc", tls=True)


@pytest.fixture
def kubectl(secure: SimServer, tmp_path: Path) -> Kubectl:
    async def run(
        *args: str, stdin: str | None = None, kubeconfig: Path | None = None, limit: float = 30.0
    ) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            "kubectl",
            "--kubeconfig",
            str(kubeconfig or secure.kubeconfig_path),
            "--cache-dir",
            str(tmp_path / "cache"),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() if stdin else None), limit)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise
        return proc.returncode or 0, out.decode(), err.decode()

    return run


def table(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


async def test_get_with_printer_columns(kubectl: Kubectl) -> None:
    rc, out, err = await kubectl("get", "namespaces")
    assert rc == 0, err
    rows = table(out)
    assert rows[0] == ["NAME", "STATUS", "AGE"]
    assert rows[1][:2] == ["default", "Active"]
    rc, _, err = await kubectl("apply", "-f", "-", stdin=deployment(replicas=3))
    assert rc == 0, err
    rc, out, err = await kubectl("get", "deploy")
    assert table(out)[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert table(out)[1][:2] == ["web", "0/3"]


async def test_apply_create_then_configure(kubectl: Kubectl) -> None:
    rc, out, err = await kubectl("apply", "-f", "-", stdin=deployment())
    assert rc == 0 and "deployment.apps/web created" in out, err
    rc, out, err = await kubectl("apply", "-f", "-", stdin=deployment(image="nginx:2"))
    assert rc == 0 and "deployment.apps/web configured" in out, err
    rc, out, _ = await kubectl("apply", "-f", "-", stdin=deployment(image="nginx:2"))
    assert "deployment.apps/web unchanged" in out
    rc, out, _ = await kubectl("get", "deploy", "web", "-o", "json")
    obj = json.loads(out)
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert obj["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]


async def test_server_side_apply_conflict_and_force(kubectl: Kubectl) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default}\ndata: {key: one}\n"
    rc, out, err = await kubectl("apply", "--server-side", "--field-manager=alice", "-f", "-", stdin=cm)
    assert rc == 0 and "serverside-applied" in out, err
    rc, out, err = await kubectl(
        "apply", "--server-side", "--field-manager=bob", "-f", "-", stdin=cm.replace("one", "two")
    )
    assert rc != 0
    assert 'conflict with "alice"' in err and ".data.key" in err
    rc, out, err = await kubectl(
        "apply",
        "--server-side",
        "--field-manager=bob",
        "--force-conflicts",
        "-f",
        "-",
        stdin=cm.replace("one", "two"),
    )
    assert rc == 0, err
    rc, out, _ = await kubectl("get", "cm", "shared", "-o", "jsonpath={.data.key}")
    assert out == "two"


async def test_patch_three_flavours(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=deployment())
    rc, _, err = await kubectl("patch", "deploy", "web", "--type=merge", "-p", '{"spec":{"replicas":4}}')
    assert rc == 0, err
    rc, _, err = await kubectl(
        "patch",
        "deploy",
        "web",
        "--type=json",
        "-p",
        '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"x"}]',
    )
    assert rc == 0, err
    rc, _, err = await kubectl(
        "patch",
        "deploy",
        "web",
        "-p",
        '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"y"}]}}}}',
    )
    assert rc == 0, err
    rc, out, _ = await kubectl("get", "deploy", "web", "-o", "json")
    obj = json.loads(out)
    assert obj["spec"]["replicas"] == 4
    assert {c["name"]: c["image"] for c in obj["spec"]["template"]["spec"]["containers"]} == {
        "c": "x",
        "side": "y",
    }


async def test_create_label_and_delete_wait(kubectl: Kubectl) -> None:
    rc, _, err = await kubectl("create", "configmap", "cfg", "--from-literal=a=b")
    assert rc == 0, err
    rc, _, err = await kubectl("label", "configmap", "cfg", "team=blue")
    assert rc == 0, err
    rc, out, _ = await kubectl("get", "cm", "-l", "team=blue", "-o", "name")
    assert out.strip() == "configmap/cfg"
    rc, out, err = await kubectl("delete", "configmap", "cfg", "--wait", "--timeout=20s")
    assert rc == 0 and "deleted" in out, err
    rc, _, err = await kubectl("get", "cm", "cfg")
    assert rc == 1 and 'configmaps "cfg" not found' in err


async def test_wait_for_condition(kubectl: Kubectl) -> None:
    rc, _, err = await kubectl("apply", "-f", "-", stdin=CRD)
    assert rc == 0, err
    rc, out, err = await kubectl(
        "wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s"
    )
    assert rc == 0 and "condition met" in out, err


async def test_crd_objects_explain_and_columns(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=CRD)
    await kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    widget = (
        "apiVersion: example.com/v1\nkind: Widget\n"
        "metadata: {name: w1, namespace: default}\nspec: {size: 3}\n"
    )
    rc, out, err = await kubectl("apply", "-f", "-", stdin=widget)
    assert rc == 0 and "widget.example.com/w1 created" in out, err
    rc, out, err = await kubectl("get", "wd")
    assert rc == 0, err
    assert table(out)[0] == ["NAME", "SIZE", "AGE"] and table(out)[1][:2] == ["w1", "3"]
    rc, out, err = await kubectl("explain", "widget.spec")
    assert rc == 0, err
    assert "How big the widget is" in out and "size" in out
    rc, out, err = await kubectl("apply", "-f", "-", stdin=widget.replace("size: 3", "size: -1"))
    assert rc != 0 and "spec.size" in err


async def test_create_token_and_forbidden_user(kubectl: Kubectl, secure: SimServer, tmp_path: Path) -> None:
    rc, _, err = await kubectl("create", "serviceaccount", "bot")
    assert rc == 0, err
    rc, token, err = await kubectl("create", "token", "bot", "--duration=1h")
    assert rc == 0, err
    config = secure.write_kubeconfig(tmp_path / "bot.kubeconfig", token=token.strip(), user="bot")
    rc, out, err = await kubectl("auth", "whoami", "-o", "json", kubeconfig=config)
    assert rc == 0, err
    assert json.loads(out)["status"]["userInfo"]["username"] == "system:serviceaccount:default:bot"
    rc, _, err = await kubectl("get", "secrets", kubeconfig=config)
    assert rc == 1
    assert (
        'User "system:serviceaccount:default:bot" cannot list resource "secrets" in API group "" in the '
        'namespace "default"'
    ) in err
    rc, out, _ = await kubectl("auth", "can-i", "list", "secrets", kubeconfig=config)
    assert out.strip() == "no"


async def test_get_watch_streams_events(kubectl: Kubectl, secure: SimServer, tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        "kubectl",
        "--kubeconfig",
        str(secure.kubeconfig_path),
        "--cache-dir",
        str(tmp_path / "cache"),
        "get",
        "configmaps",
        "-w",
        "--output-watch-events",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        seen: list[str] = []

        async def read_until(marker: str) -> None:
            while not any(marker in line for line in seen):
                line = await asyncio.wait_for(proc.stdout.readline(), 20)  # type: ignore[union-attr]
                assert line, "kubectl get -w ended"
                seen.append(line.decode())

        await read_until("kube-root-ca.crt")
        await kubectl("create", "configmap", "w1")
        await read_until("w1")
        await kubectl("label", "configmap", "w1", "x=y")
        await read_until("MODIFIED")
        await kubectl("delete", "configmap", "w1")
        await read_until("DELETED")
        assert any(line.split()[0] == "ADDED" and "w1" in line for line in seen)
    finally:
        proc.kill()
        await proc.wait()


async def test_version_and_api_resources(kubectl: Kubectl) -> None:
    rc, out, err = await kubectl("version", "-o", "json")
    assert rc == 0, err
    assert json.loads(out)["serverVersion"]["gitVersion"].startswith("v1.")
    rc, out, err = await kubectl("api-resources", "--api-group=apps", "-o", "name")
    assert rc == 0, err
    assert set(out.split()) == {
        "daemonsets.apps",
        "deployments.apps",
        "replicasets.apps",
        "statefulsets.apps",
    }


async def test_scale_and_rollout_free_commands(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=deployment())
    rc, _, err = await kubectl("scale", "deployment", "web", "--replicas=5")
    assert rc == 0, err
    rc, out, _ = await kubectl("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
    assert out == "5"


async def test_create_deployment_and_rollout_on_a_member(sim_factory: SimFactory, tmp_path: Path) -> None:
    member = await sim_factory("member", tls=True, workloads=True, workload_delay=0.1)

    async def kubectl_member(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            "kubectl",
            "--kubeconfig",
            str(member.kubeconfig_path),
            "--cache-dir",
            str(tmp_path / "c2"),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        return proc.returncode or 0, out.decode(), err.decode()

    rc, _, err = await kubectl_member("create", "deployment", "web", "--image=nginx", "--replicas=2")
    assert rc == 0, err
    rc, out, err = await kubectl_member(
        "wait", "--for=condition=Available", "deployment/web", "--timeout=20s"
    )
    assert rc == 0 and "condition met" in out, err
    rc, out, err = await kubectl_member("rollout", "status", "deployment/web", "--timeout=20s")
    assert rc == 0 and "successfully rolled out" in out, err
    rc, out, _ = await kubectl_member("get", "nodes")
    assert len(table(out)) == 1 + member.nodes


async def test_rbac_commands_and_impersonation(kubectl: Kubectl) -> None:
    rc, _, err = await kubectl("create", "serviceaccount", "bot")
    assert rc == 0, err
    rc, _, err = await kubectl(
        "create", "rolebinding", "bot-view", "--clusterrole=view", "--serviceaccount=default:bot"
    )
    assert rc == 0, err
    rc, out, err = await kubectl("get", "configmaps", "--as=system:serviceaccount:default:bot", "-o", "name")
    assert rc == 0 and "configmap/kube-root-ca.crt" in out, err
    rc, _, err = await kubectl(
        "delete", "configmap", "kube-root-ca.crt", "--as=system:serviceaccount:default:bot"
    )
    assert rc == 1 and 'cannot delete resource "configmaps"' in err
    rc, out, err = await kubectl("auth", "can-i", "--list", "--as=system:serviceaccount:default:bot")
    assert rc == 0 and "configmaps" in out, err


async def test_imperative_create_commands(kubectl: Kubectl) -> None:
    for args in (
        ("run", "tmp", "--image=busybox", "--restart=Never"),
        ("create", "service", "clusterip", "web", "--tcp=80:8080"),
        ("create", "job", "once", "--image=busybox"),
        ("create", "namespace", "team"),
    ):
        rc, _, err = await kubectl(*args)
        assert rc == 0, (args, err)
    rc, out, _ = await kubectl("get", "svc", "web", "-o", "json")
    port = json.loads(out)["spec"]["ports"][0]
    assert (port["port"], port["targetPort"], port["protocol"]) == (80, 8080, "TCP")
    rc, out, _ = await kubectl("get", "job", "once", "-o", "jsonpath={.spec.template.spec.restartPolicy}")
    assert out == "Never"


async def test_server_dry_run_and_diff(kubectl: Kubectl, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d1, namespace: default}\ndata: {a: '1'}\n"
    )
    rc, out, err = await kubectl("apply", "-f", str(manifest), "--dry-run=server")
    assert rc == 0 and "(server dry run)" in out, err
    rc, _, _ = await kubectl("get", "cm", "d1")
    assert rc == 1  # nothing was stored
    await kubectl("apply", "-f", str(manifest))
    manifest.write_text(manifest.read_text().replace("'1'", "'2'"))
    rc, out, err = await kubectl("diff", "-f", str(manifest))
    assert rc == 1, err  # 1 = differences found
    assert '-  a: "1"' in out and '+  a: "2"' in out


async def test_explain_built_ins_from_the_types_the_server_checks(kubectl: Kubectl) -> None:
    rc, out, err = await kubectl("explain", "deployment.spec.template.spec.containers.ports")
    assert rc == 0, err
    assert "containerPort" in out and "<integer>" in out
    rc, out, err = await kubectl("explain", "configmap.data")
    assert rc == 0 and "map[string]string" in out, err
    bad = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: three, namespace: default}\n"
        "spec: {replicas: three, selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, "
        "spec: {containers: [{name: c, image: nginx}]}}}\n"
    )
    rc, _, err = await kubectl("apply", "-f", "-", stdin=bad)
    assert rc != 0 and "cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas" in err, err


async def test_controller_gen_crd_objects_apply_with_kubectl(kubectl: Kubectl) -> None:
    """Issue #16: with ``metadata: {type: object}`` kubectl said ``unknown field "metadata.name"``."""
    crd = CRD.replace(
        "        properties:\n          spec:",
        "        properties:\n          apiVersion: {type: string}\n          kind: {type: string}\n"
        "          metadata: {type: object}\n          spec:",
    )
    assert "metadata: {type: object}" in crd
    rc, _, err = await kubectl("apply", "-f", "-", stdin=crd)
    assert rc == 0, err
    await kubectl("wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=20s")
    widget = (
        "apiVersion: example.com/v1\nkind: Widget\n"
        "metadata: {name: w1, namespace: default, labels: {a: b}}\nspec: {size: 1}\n"
    )
    for args in (("apply", "-f", "-"), ("apply", "--server-side", "-f", "-")):
        rc, out, err = await kubectl(*args, stdin=widget)
        assert rc == 0, err
    rc, out, err = await kubectl(
        "get", "widget", "w1", "-o", "jsonpath={.metadata.name} {.metadata.labels.a}"
    )
    assert (rc, out) == (0, "w1 b"), err
