"""The Helm charts carry the generated CRDs: the hub chart every hub-side kind, the agent chart
the member-side AppliedWork. They must stay byte-identical to ``crds/`` (regenerate with
``waybill crds --write crds/`` and copy, see docs/operations.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APPLIED_WORK = "appliedworks.work.waybill.dev.yaml"


def _generated() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((ROOT / "crds").glob("*.yaml"))}


def test_hub_chart_crds_match_generated() -> None:
    expected = {name: text for name, text in _generated().items() if name != APPLIED_WORK}
    actual = {p.name: p.read_text() for p in sorted((ROOT / "charts/waybill-hub/crds").glob("*.yaml"))}
    assert actual == expected


def test_agent_chart_carries_appliedwork_crd() -> None:
    actual = {p.name: p.read_text() for p in (ROOT / "charts/waybill-agent/crds").glob("*.yaml")}
    assert actual == {APPLIED_WORK: _generated()[APPLIED_WORK]}


@pytest.mark.parametrize("chart", ["waybill-hub", "waybill-agent"])
def test_chart_metadata_and_values_parse(chart: str) -> None:
    meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
    assert meta["name"] == chart
    assert meta["apiVersion"] == "v2"
    values = yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())
    assert values["image"]["repository"]
