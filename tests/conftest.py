"""Shared pytest configuration: kubesim fixtures come from the ``kubesim.testing`` plugin."""
