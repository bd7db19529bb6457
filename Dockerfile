# Waybill image: one image for the hub and the agent (`waybill hub` / `waybill agent`).
#   docker build --build-arg VERSION="$VERSION" -t ghcr.io/waybill-dev/waybill:"$VERSION" .   (docs/install.md)
# The base image is pinned to an exact Python release and Debian suite (bump deliberately);
# tests/ops/test_packaging.py checks the pins, the labels and that VERSION matches pyproject.toml.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY hub hub
COPY agent agent
COPY shared shared
COPY kubesim kubesim
COPY waybill waybill
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="waybill" \
      org.opencontainers.image.description="Waybill hub and agent: spread Kubernetes workloads over a fleet of clusters" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/waybill-dev/waybill" \
      org.opencontainers.image.vendor="The Waybill authors"
# No .pyc writes at run time: the charts mount the root filesystem read-only.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --uid 65532 --user-group --no-create-home --shell /usr/sbin/nologin waybill
COPY --from=build /wheels /wheels
COPY LICENSE /usr/share/doc/waybill/LICENSE
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 65532:65532
ENTRYPOINT ["waybill"]
CMD ["--help"]
