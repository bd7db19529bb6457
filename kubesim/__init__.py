"""kubesim: an embedded, in-process Kubernetes-compatible API server for tests, demos and
benchmarks. Independent of every other Waybill package."""
