"""The differential corpus (tests/kubesim/corpus/*.yaml) passes on kubesim.

The same files run against a real API server with
``python -m kubesim.corpus --kubeconfig ~/.kube/config tests/kubesim/corpus`` (docs/kubesim.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubesim import corpus
from kubesim.testing import SimFactory

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_has_at_least_300_cases() -> None:
    suites = corpus.load_all(FILES)
    names = [(c.suite, c.name) for s in suites for c in s.cases]
    assert len(names) >= 300, len(names)
    assert len(set(names)) == len(names), "case names must be unique within a suite"


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
async def test_corpus_suite_passes_on_kubesim(path: Path, sim_factory: SimFactory) -> None:
    server = await sim_factory("corpus")
    target = corpus.Target(url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"})
    outcomes = await corpus.run_suite(corpus.load(path), target, retry_seconds=5)
    failures = list(corpus.iter_failures(outcomes))
    assert not failures, "\n".join(failures)


def test_checker_reports_differences() -> None:
    """The checker can fail: each kind of difference is reported."""
    status = {"reason": "Invalid", "message": "m", "details": {"causes": [{"field": "a"}]}}
    assert corpus.check({"code": 422}, code=201, body={}, warnings=[]) != []
    assert corpus.check({"code": 422, "reason": "Forbidden"}, code=422, body=status, warnings=[]) != []
    assert corpus.check({"code": 422, "fields": ["b"]}, code=422, body=status, warnings=[]) != []
    assert corpus.check({"code": 422, "message": "x"}, code=422, body=status, warnings=[]) != []
    assert (
        corpus.check(
            {"code": 200, "body": {"spec": {"r": 1}}}, code=200, body={"spec": {"r": 2}}, warnings=[]
        )
        != []
    )
    matching = {"code": 422, "reason": "Invalid", "fields": ["a"], "message": "m"}
    assert corpus.check(matching, code=422, body=status, warnings=[]) == []


async def test_real_server_path_through_a_kubeconfig(sim_factory: SimFactory) -> None:
    """What ``python -m kubesim.corpus --kubeconfig`` does: TLS, CA and token from the kubeconfig,
    impersonation for the cases that act as someone else, kubesim-only cases skipped."""
    server = await sim_factory("corpus-tls", tls=True)
    target = corpus.target_from_kubeconfig(server.kubeconfig_path)
    assert target.url.startswith("https://")
    outcomes = await corpus.run_suite(corpus.load(CORPUS / "vap.yaml"), target, retry_seconds=5, real=True)
    assert not list(corpus.iter_failures(outcomes))
    ran = {o.case.name for o in outcomes}
    assert "agent changes the spec" in ran and "policy with parameters" not in ran
