"""前置 mode over TLS: the platform's certificate is checked against
``YBGATE_HSA_UPSTREAM_CA_BUNDLE`` (a stand-in platform serving HTTPS with a certificate
of its own CA); without that bundle the same platform is not trusted and nothing is
sent to it."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.frontend.support import PLATFORM_PATH, other

JSON = {"Content-Type": "application/json"}


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, signed by its own key (its own CA), and the key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stand-in platform")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "platform.pem", tmp / "platform.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_the_platform_is_trusted_through_the_ca_bundle_only(
    front: Any, tmp_path: Path
) -> None:
    cert, key = self_signed(tmp_path)
    tls = ("--cert", str(cert), "--key", str(key))
    server, standin, admin = await front(
        *tls, HSA_UPSTREAM="https://127.0.0.1:{port}", HSA_UPSTREAM_CA_BUNDLE=str(cert)
    )
    await admin.world(1)
    bearer = {**JSON, "Authorization": f"Bearer {await admin.his_token()}"}
    url = f"{server.base}{PLATFORM_PATH}"
    r = await server.http.post(url, content=other("1101"), headers=bearer)
    assert r.json()["infcode"] == 0 and r.json()["inf_refmsgid"].startswith("SI")
    assert len(await standin.received(server.http)) == 1
    server.stop()

    # the same platform without the bundle (same database, same token): not trusted
    other_server, other_standin, _ = await front(*tls, HSA_UPSTREAM="https://127.0.0.1:{port}")
    r = await other_server.http.post(
        f"{other_server.base}{PLATFORM_PATH}", content=other("1101"), headers=bearer
    )
    assert r.json()["infcode"] == -1 and "无法连接" in r.json()["err_msg"]
    assert await other_standin.received(other_server.http) == []
