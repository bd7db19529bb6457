"""kubesim.certs: a TLS handshake on loopback with the generated CA, and per-process caching."""

from __future__ import annotations

import base64
import ssl
import time

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509

from kubesim import certs


async def test_https_handshake_with_the_ca() -> None:
    bundle = certs.serving_bundle()
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/version", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=certs.server_ssl_context(bundle))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for host in ("127.0.0.1", "localhost"):
                async with session.get(
                    f"https://{host}:{port}/version", ssl=certs.client_ssl_context(bundle)
                ) as response:
                    assert await response.json() == {"ok": True}
            # a client that does not trust the kubesim CA refuses the connection
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                async with session.get(f"https://127.0.0.1:{port}/version", ssl=ssl.create_default_context()):
                    pass
    finally:
        await runner.cleanup()


def test_bundle_is_cached_and_well_formed() -> None:
    first = certs.serving_bundle()
    started = time.perf_counter()
    for _ in range(200):
        assert certs.serving_bundle() is first
    assert time.perf_counter() - started < 0.5
    cert = x509.load_pem_x509_certificate(first.cert_pem)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    ca = x509.load_pem_x509_certificate(first.ca_pem)
    assert cert.issuer == ca.subject
    assert base64.b64decode(certs.ca_data(first)) == first.ca_pem
    other = certs.serving_bundle(["127.0.0.1"])
    assert other.ca_pem == first.ca_pem and other.cert_pem != first.cert_pem
