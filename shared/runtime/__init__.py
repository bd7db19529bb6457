"""Controller runtime shared by hub and agent.

``workqueue`` (keyed, coalescing, per-key backoff via ``ratelimit``), ``controller`` (workers
calling ``reconcile(key)``), ``leader`` (Lease-based leader election).
"""
