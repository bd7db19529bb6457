"""Shared pytest configuration: kubesim fixtures come from the ``kubesim.testing`` plugin."""

pytest_plugins = ["kubesim.testing"]
