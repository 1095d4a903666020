"""Secrets at rest: AES-256-GCM (``cryptography``) under the key of ``YBGATE_SECRETS_KEY``.

A sealed secret is the text ``v1:`` + base64(12-byte nonce + ciphertext + tag); the
associated data binds it to what it belongs to (a gateway credential's paasid), so a
sealed value copied onto another record does not open. The admin side seals; the
gatekeepers open, with the same key; the record, the outbox, Redis and snapshots only
ever hold sealed values.

The key: ``YBGATE_SECRETS_KEY`` (base64 of 32 bytes). The production profile (PostgreSQL
or Redis configured) refuses to start without it. The embedded default, when it is
unset, keeps a generated key in ``YBGATE_SECRETS_KEY_FILE`` (``./var/secrets.key``, mode
0600) and says so once in its log: keep that file with the database.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.settings import Settings, get_settings

log = logging.getLogger("ybgate")
PREFIX = "v1:"
KEY_BYTES = 32


class SecretsKeyMissing(RuntimeError):
    """The production profile has no ``YBGATE_SECRETS_KEY``: the process must not start."""


class SecretUnreadable(ValueError):
    """A sealed value that this key does not open (another key, tampered, or not ours)."""


class SecretBox:
    """Seal and open short secrets with one AES-GCM key."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a secrets key has {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def seal(self, secret: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), context.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str, context: str) -> bytes:
        if not sealed.startswith(PREFIX):
            raise SecretUnreadable("not a sealed secret")
        try:
            raw = base64.b64decode(sealed[len(PREFIX) :], validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], context.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise SecretUnreadable("this key does not open the secret") from None


def _key_file(path: Path) -> bytes:
    """The embedded default's key: read it, or create it once (0600, never overwritten)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = AESGCM.generate_key(bit_length=256)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process of the same profile made it first
            return _key_file(path)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64encode(key) + b"\n")
            f.flush()
            os.fsync(f.fileno())
        log.warning(
            "YBGATE_SECRETS_KEY is not set: generated a secrets key in %s (mode 0600). Keep "
            "it with the database: gateway credentials cannot be read without it.",
            path,
        )
        return key
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SecretsKeyMissing(f"{path} does not hold the base64 of {KEY_BYTES} bytes")
    return key


def load_key(settings: Settings) -> bytes:
    """The secrets key of these settings (see the module docstring)."""
    if settings.secrets_key is not None:
        return base64.b64decode(settings.secrets_key.get_secret_value())
    if settings.production_profile:
        raise SecretsKeyMissing(
            "YBGATE_SECRETS_KEY is not set. The production profile (PostgreSQL or Redis) "
            "needs it to keep gateway secrets encrypted: set it to the base64 of 32 random "
            'bytes, e.g. python3 -c "import base64,os; print(base64.b64encode(os.urandom(32))'
            '.decode())", the same value on the admin API and every gatekeeper.'
        )
    return _key_file(Path(settings.secrets_key_file))


_boxes: dict[tuple[str | None, str, bool], SecretBox] = {}


def secret_box(settings: Settings | None = None) -> SecretBox:
    """The process's box for these settings (made once; :class:`SecretsKeyMissing` when
    the production profile has no key)."""
    settings = settings or get_settings()
    given = settings.secrets_key.get_secret_value() if settings.secrets_key else None
    ident = (given, os.path.abspath(settings.secrets_key_file), settings.production_profile)
    box = _boxes.get(ident)
    if box is None:
        box = _boxes[ident] = SecretBox(load_key(settings))
    return box
