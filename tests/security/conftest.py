"""Fixtures for the security tests: the agent tests' hub + member fleet (pull and push)."""

from tests.agent.conftest import fleet

__all__ = ["fleet"]
