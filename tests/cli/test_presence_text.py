"""Table tests for waybill.presence_text: the REPLICAS, APPLIED and AVAILABLE cells of ``waybill status``."""

from __future__ import annotations

from typing import Any

import pytest

from waybill import presence_text
from waybill.cmd_agent import config_from_args


@pytest.mark.parametrize(
    ("wanted", "item", "replicas", "applied", "available"),
    [
        pytest.param(
            3, {"applied": True, "available": True, "status": {"Replicas": 3}}, "3", "yes", "yes", id="ok"
        ),
        pytest.param(4, {"applied": True, "status": {"Replicas": 2}}, "4", "yes", "-", id="rolling-out"),
        pytest.param(
            4,
            {
                "applied": True,
                "replicasManagedBy": "HorizontalPodAutoscaler shop/web",
                "status": {"Replicas": 5},
            },
            "5 (wants 4)",
            "yes",
            "-",
            id="hpa",
        ),
        pytest.param(
            3,
            {"applied": False, "held": True, "status": {"Replicas": 2}},
            "2 (wants 3)",
            "no (held)",
            "-",
            id="held",
        ),
        pytest.param(
            2,
            {"applied": True, "lastReportTime": "2026-01-01T00:00:00Z", "status": {"Replicas": 2}},
            "2",
            "unknown",
            "unknown",
            id="unreachable",
        ),
        pytest.param(None, {}, "-", "no", "-", id="no-replicas"),
    ],
)
def test_cells(wanted: int | None, item: dict[str, Any], replicas: str, applied: str, available: str) -> None:
    assert presence_text.replicas_cell(wanted, item) == replicas
    assert presence_text.applied_cell(item) == applied
    assert presence_text.available_cell(item) == available


def test_agent_replica_managers_option(tmp_path: Any) -> None:
    from waybill import cli

    member = tmp_path / "member.kubeconfig"
    hub = tmp_path / "hub.kubeconfig"
    config = (
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    member.write_text(config)
    hub.write_text(config)
    parser = cli.build_parser()
    args = parser.parse_args(
        [
            "agent", "--cluster", "eu1", "--hub-kubeconfig", str(hub), "--kubeconfig", str(member),
            "--replica-managers", "keda-operator,my-scaler", "--replica-managers", "ops",
        ]
    )  # fmt: skip
    assert config_from_args(args).replica_managers == ("keda-operator", "my-scaler", "ops")
