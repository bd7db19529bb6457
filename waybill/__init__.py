"""The ``waybill`` command line: wires hub, agent and kubesim together."""
