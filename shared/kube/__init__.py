"""Waybill's Kubernetes client layer.

``client`` is the only module in Waybill that imports kubernetes-asyncio; everything else talks
to clusters through :class:`shared.kube.client.KubeClient` with plain dicts, and catches the
errors in ``errors``. ``retry`` (the retry policy), ``requests`` (building requests),
``discovery`` (the resource map) and ``types`` are pure; ``informer`` is a list+watch cache.
"""
