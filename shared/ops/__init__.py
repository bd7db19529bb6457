"""Operations helpers shared by hub and agent: logging, metrics, the health server, lifecycle."""
