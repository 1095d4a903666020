"""Gateway signatures: who is calling, from the platform gateway's headers.

Two schemes, as the platform's own clients compute them (docs/his-gateway.md cites them):

* **x-tif** (the national platform's gateway): ``x-tif-paasid``, ``x-tif-timestamp``
  (Unix seconds), ``x-tif-nonce`` and ``x-tif-signature`` = lowercase hex SHA-256 of the
  UTF-8 text ``timestamp + secret + nonce + timestamp``. Header names are matched
  case-insensitively (the servers give them lower-cased; clients send ``x-tif-paasId``).
* **CSB** (Alibaba Cloud Service Bus, some provinces' gateways; ``aliyun/csb-sdk``
  ``SignUtil``/``SpasSigner``): ``_api_access_key``, ``_api_timestamp`` (milliseconds),
  ``_api_signature`` = Base64(HMAC-SHA1(secret, text)) where the text is every signed
  parameter as ``name=value``, sorted by name then value and joined with ``&``: the
  ``_api_*`` headers but ``_api_signature`` (``_api_name``, ``_api_version``,
  ``_api_timestamp``, ``_api_nonce``, ``_api_access_key``, …; not ``_api_sign_algorithm``,
  which names HmacSHA256 instead when a client chose it), the URL's query
  parameters and, for ``restful_protocol_version: 1.0``, ``csb_restful_path_signature_key``
  = the path. Only verified for a paasid registered as a CSB pair: otherwise the
  ``_api_*`` headers are not a credential here and are left alone.

A failure is a 401 problem whose ``errors[0].field`` names the header at fault: an
unknown, revoked or expired paasid, a timestamp more than :data:`WINDOW_S` from this
server's clock, a signature that does not match; and (``nonces.py``) a nonce used in the
last :data:`NONCE_TTL_S` on any instance. A verified signature yields the institution and
the replay keys to claim; the claim is the caller's (it may need a round trip).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from typing import NamedTuple
from urllib.parse import parse_qsl

from app.core.errors import BadRequest, InternalError, Unauthenticated, field_error
from app.core.secrets import SecretBox, SecretUnreadable
from app.gatekeeper.edge.nonces import MAX_NONCE, NONCE_TTL_S, Claim, NonceStore
from app.registry.compact import Registry
from app.registry.gateway import GatewayPair

log = logging.getLogger("ybgate.gatekeeper")

WINDOW_S = 300  # a timestamp further than this from the server's clock is refused
__all__ = ["MAX_NONCE", "NONCE_TTL_S", "Claim", "Gateway", "Signed", "verify"]

X_PAASID = b"x-tif-paasid"
X_TIMESTAMP = b"x-tif-timestamp"
X_NONCE = b"x-tif-nonce"
X_SIGNATURE = b"x-tif-signature"
CSB_KEY = b"_api_access_key"
CSB_TIMESTAMP = b"_api_timestamp"
CSB_NONCE = b"_api_nonce"
CSB_SIGNATURE = b"_api_signature"
CSB_RESTFUL = b"restful_protocol_version"
CSB_ALGORITHM = b"_api_sign_algorithm"  # sent unsigned when not HmacSHA1 (HttpParameters)
_CSB_UNSIGNED = (CSB_SIGNATURE, CSB_ALGORITHM, b"_api_secret_key")
_CSB_HMAC = {b"HmacSHA1": hashlib.sha1, b"HmacSHA256": hashlib.sha256}
HEADERS = (X_PAASID, X_TIMESTAMP, X_NONCE, X_SIGNATURE, CSB_KEY, CSB_TIMESTAMP, CSB_NONCE)


class Signed(NamedTuple):
    institution: str
    field: str  # the header naming the credential (x-tif-paasid or _api_access_key)
    claims: list[Claim]


class Gateway:
    """What verifying takes besides the registry: the secrets key and the nonce store."""

    def __init__(self, box: SecretBox, nonces: NonceStore) -> None:
        self.box = box
        self.nonces = nonces


def refused(field: str, message: str) -> Unauthenticated:
    return Unauthenticated(f"{field}: {message}", errors=[field_error(field, message)])


def repeated(raw: list[tuple[bytes, bytes]]) -> None:
    """A gateway header sent twice: 400 naming it (which one was signed is anyone's guess)."""
    for name in (*HEADERS, CSB_SIGNATURE):
        if sum(1 for k, _ in raw if k == name) > 1:
            field = name.decode()
            raise BadRequest(
                f"Send {field} once.",
                slug="duplicate-header",
                errors=[field_error(field, "sent more than once")],
            )


def _text(headers: dict[bytes, bytes], name: bytes) -> str:
    value = headers.get(name, b"").strip()
    if not value:
        raise refused(name.decode(), "missing")
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise refused(name.decode(), "not UTF-8") from None


def _pair(reg: Registry, paasid: str, scheme: str, field: str, now: float) -> GatewayPair:
    pair = reg.gateway.get(paasid)
    if pair is None or pair.scheme != scheme or pair.valid_until <= now:
        raise refused(field, "unknown, revoked or expired")
    return pair


def _clock(value: str, field: str, now: float, per_second: int) -> None:
    if not (value.isascii() and value.isdigit()) or len(value) > 16:
        unit = "Unix seconds" if per_second == 1 else "Unix milliseconds"
        raise refused(field, f"not {unit}")
    if abs(now - int(value) / per_second) > WINDOW_S:
        raise refused(field, f"more than {WINDOW_S} s from the server's clock")


def _secret(box: SecretBox, pair: GatewayPair, paasid: str) -> bytes:
    try:
        return box.open(pair.sealed, paasid)
    except SecretUnreadable:  # the server's fault: its key is not the admin's
        log.error("gateway secret of %s does not open: YBGATE_SECRETS_KEY differs", paasid)
        raise InternalError("The gateway secret cannot be read on this server.") from None


def verify_xtif(reg: Registry, headers: dict[bytes, bytes], now: float, box: SecretBox) -> Signed:
    paasid = _text(headers, X_PAASID)
    pair = _pair(reg, paasid, "x-tif", "x-tif-paasid", now)
    timestamp = _text(headers, X_TIMESTAMP)
    _clock(timestamp, "x-tif-timestamp", now, 1)
    nonce = _text(headers, X_NONCE)
    if len(nonce) > MAX_NONCE:
        raise refused("x-tif-nonce", f"longer than {MAX_NONCE} characters")
    signature = _text(headers, X_SIGNATURE)
    ts = timestamp.encode()
    expected = hashlib.sha256(ts + _secret(box, pair, paasid) + nonce.encode() + ts).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.lower().encode()):
        raise refused("x-tif-signature", "does not match")
    return Signed(pair.institution, "x-tif-paasid", [Claim("x-tif-nonce", f"{paasid}:{nonce}")])


def csb_text(
    raw: list[tuple[bytes, bytes]], path: str, query: bytes
) -> str:  # the text the CSB SDK signs
    params: list[tuple[str, str]] = []
    restful = False
    for name, value in raw:
        if name == CSB_RESTFUL:
            restful = value.strip() == b"1.0"
        elif name.startswith(b"_api_") and name not in _CSB_UNSIGNED:
            try:
                params.append((name.decode(), value.strip().decode()))
            except UnicodeDecodeError:
                raise refused(name.decode(), "not UTF-8") from None
    if query:
        params += parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True)
    if restful:
        params.append(("csb_restful_path_signature_key", path))
    return "&".join(f"{k}={v}" for k, v in sorted(params))


def verify_csb(
    reg: Registry,
    headers: dict[bytes, bytes],
    raw: list[tuple[bytes, bytes]],
    where: tuple[str, bytes],
    now: float,
    box: SecretBox,
) -> Signed | None:
    """The CSB signature, or None when the access key is not a CSB pair's."""
    key = headers.get(CSB_KEY, b"").strip().decode("utf-8", "replace")
    pair = reg.gateway.get(key)
    if pair is None or pair.scheme != "csb":
        return None
    pair = _pair(reg, key, "csb", "_api_access_key", now)
    _clock(_text(headers, CSB_TIMESTAMP), "_api_timestamp", now, 1000)
    signature = _text(headers, CSB_SIGNATURE)
    algorithm = _CSB_HMAC.get(headers.get(CSB_ALGORITHM, b"HmacSHA1").strip())
    if algorithm is None:
        raise refused("_api_sign_algorithm", "HmacSHA1 or HmacSHA256")
    text = csb_text(raw, *where).encode()
    digest = hmac.new(_secret(box, pair, key), text, algorithm).digest()
    if not hmac.compare_digest(base64.b64encode(digest), signature.encode()):
        raise refused("_api_signature", "does not match")
    nonce = headers.get(CSB_NONCE, b"").strip().decode("utf-8", "replace")
    if len(nonce) > MAX_NONCE:
        raise refused("_api_nonce", f"longer than {MAX_NONCE} characters")
    # Without _api_nonce (the SDK's default) the signature itself is the replay key.
    claim = (
        Claim("_api_nonce", f"{key}:n:{nonce}")
        if nonce
        else Claim("_api_signature", f"{key}:s:{signature}")
    )
    return Signed(pair.institution, "_api_access_key", [claim])


def verify(
    reg: Registry,
    headers: dict[bytes, bytes],
    raw: list[tuple[bytes, bytes]],
    where: tuple[str, bytes],
    now: float,
    box: SecretBox,
    *,
    bearer: bool,
) -> Signed | None:
    """The gateway credentials a request carries, verified (None: it carries none that
    this server verifies). Both schemes at once must name the same institution. CSB
    headers whose access key is no CSB pair's are not a credential; without a bearer
    token either, the request is refused naming ``_api_access_key``."""
    found: list[Signed] = []
    if X_PAASID in headers or X_SIGNATURE in headers:
        found.append(verify_xtif(reg, headers, now, box))
    if CSB_KEY in headers:
        csb = verify_csb(reg, headers, raw, where, now, box)
        if csb is not None:
            found.append(csb)
    if not found:
        if not bearer and (CSB_KEY in headers or CSB_SIGNATURE in headers):
            if CSB_KEY not in headers:
                raise refused("_api_access_key", "missing")
            raise refused("_api_access_key", "unknown, revoked or expired")
        return None
    first = found[0]
    for other in found[1:]:
        if other.institution != first.institution:
            raise refused(other.field, f"names another institution than {first.field}")
    return Signed(first.institution, first.field, [c for s in found for c in s.claims])
