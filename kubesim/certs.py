"""Self-signed CA and a loopback serving certificate for kubesim's HTTPS mode.

``serving_bundle()`` returns a ``CertBundle`` (PEM bytes: CA certificate, serving certificate
and key for ``127.0.0.1``, ``::1`` and ``localhost``). Key generation happens once per process
and per host set (ECDSA P-256, cached), so hundreds of servers start without paying for it again.
``server_ssl_context(bundle)`` / ``client_ssl_context(bundle)`` build ``ssl`` contexts;
``ca_data(bundle)`` is the base64 ``certificate-authority-data`` for a kubeconfig.
"""

from __future__ import annotations

import atexit
import base64
import datetime
import functools
import ipaddress
import shutil
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertBundle", "ca_data", "client_ssl_context", "server_ssl_context", "serving_bundle"]

DEFAULT_HOSTS = ("127.0.0.1", "::1", "localhost")
_VALIDITY = datetime.timedelta(days=365)
_BACKDATE = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class CertBundle:
    """PEM-encoded CA certificate, serving certificate and serving private key."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@functools.lru_cache(maxsize=1)
def _ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubesim-ca")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


@functools.lru_cache(maxsize=16)
def _bundle(hosts: tuple[str, ...]) -> CertBundle:
    ca_cert, ca_key = _ca()
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return CertBundle(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=_pem_key(key),
    )


def serving_bundle(hosts: Sequence[str] = DEFAULT_HOSTS) -> CertBundle:
    """The (cached) CA and serving certificate for ``hosts``."""
    return _bundle(tuple(hosts))


def ca_data(bundle: CertBundle) -> str:
    """Base64 of the CA certificate, for a kubeconfig's ``certificate-authority-data``."""
    return base64.b64encode(bundle.ca_pem).decode("ascii")


@functools.lru_cache(maxsize=16)
def _files(bundle: CertBundle) -> tuple[Path, Path]:
    directory = Path(tempfile.mkdtemp(prefix="kubesim-certs-"))
    atexit.register(shutil.rmtree, directory, True)
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(bundle.cert_pem + bundle.ca_pem)
    key_path.write_bytes(bundle.key_pem)
    key_path.chmod(0o600)
    return cert_path, key_path


def server_ssl_context(bundle: CertBundle) -> ssl.SSLContext:
    """A TLS server context presenting the serving certificate (chain includes the CA)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    cert_path, key_path = _files(bundle)
    context.load_cert_chain(cert_path, key_path)
    return context


def client_ssl_context(bundle: CertBundle) -> ssl.SSLContext:
    """A TLS client context that trusts only the kubesim CA."""
    context = ssl.create_default_context(cadata=bundle.ca_pem.decode("ascii"))
    return context
