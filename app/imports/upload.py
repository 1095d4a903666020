"""The ``file`` part of a ``multipart/form-data`` body, read with a size cap (stdlib email
parser: no extra dependency)."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP

from fastapi import Request

from app.core.errors import PayloadTooLarge, ValidationFailed, field_error


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body; 413 as soon as it passes ``limit`` (or Content-Length says so)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body exceeds {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def file_part(content_type: str, body: bytes, name: str = "file") -> bytes:
    """The content of the form field ``name``; 422 naming it when absent."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise ValidationFailed(
            [field_error(name, "send the file as multipart/form-data, field 'file'")]
        )
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    if isinstance(msg, EmailMessage) and msg.is_multipart():
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == name:
                payload = part.get_payload(decode=True)
                if isinstance(payload, bytes):
                    return payload
    raise ValidationFailed([field_error(name, "required: the roster CSV file")])
