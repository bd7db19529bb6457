"""Code common to hub and agent: the API models (single source of truth for the CRDs), the one
Kubernetes client wrapper, the controller runtime, and operations helpers. Imports nothing else
from Waybill."""
