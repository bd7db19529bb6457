"""The Waybill agent: watches its member namespace on the hub, applies Works to the member
cluster, and reports status back. Pull and push mode are the same code. Depends on ``shared`` only."""
