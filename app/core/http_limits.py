"""The values every server's HTTP protocol enforces (``guard.py``), read from settings once
per process, and the raw problem responses it writes for them (docs/limits.md)."""

from __future__ import annotations

import resource
from typing import Any

import orjson

from app.core.errors import (
    PROBLEM_CT,
    BadRequest,
    DomainError,
    NotReady,
    PayloadTooLarge,
    RequestTimeout,
)
from app.core.settings import get_settings

FD_RESERVE = 64  # descriptors kept for files, the database pool, Redis, logs


def _raw_problem(status: int, reason: str, err: Any) -> bytes:
    body = orjson.dumps(err.to_problem())
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: {PROBLEM_CT}\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class Limits:
    """The values in force (settings, read once per process)."""

    def __init__(self) -> None:
        s = get_settings()
        self.header_timeout = s.http_header_timeout_s
        self.body_timeout = s.http_body_timeout_s
        self.keepalive = s.http_keepalive_s
        self.max_connections = min(s.max_connections, _fd_room())
        self.shed = _raw_problem(
            503,
            "Service Unavailable",
            NotReady(f"More than {self.max_connections} open connections; retry shortly."),
        )
        self.late_headers = _raw_problem(
            408, "Request Timeout", RequestTimeout("The request headers did not arrive in time.")
        )
        self.late_body = _raw_problem(
            408, "Request Timeout", RequestTimeout("The request body did not arrive in time.")
        )
        self.send_timeout = s.http_send_timeout_s
        self.max_url = s.http_max_url_bytes
        self.max_headers = s.http_max_headers
        self.max_head = s.http_max_head_bytes
        self.url_too_long, self.head_too_large = _head_problems(
            self.max_url, self.max_headers, self.max_head
        )
        # The raw bytes of one request past its head (chunk framing and trailers
        # included), far above every body cap: only framing abuse reaches it.
        caps = [s.max_body_bytes, s.admin_max_body_bytes, s.roster_import_max_bytes]
        self.max_message = 2 * max(caps + list(s.admin_body_caps.values())) + self.max_head
        self.message_too_large = _raw_problem(
            413,
            "Payload Too Large",
            PayloadTooLarge(f"The request exceeds {self.max_message} bytes with its framing."),
        )
        self.upgrade_refused = _raw_problem(
            400,
            "Bad Request",
            BadRequest(
                "Protocol upgrades (WebSocket, CONNECT) are not served: send HTTP/1.1.",
                slug="upgrade-not-supported",
                errors=[{"field": "Upgrade", "message": "not supported"}],
            ),
        )


def _head_problems(max_url: int, max_headers: int, max_head: int) -> tuple[bytes, bytes]:
    """The 414 and 431 answers for a request head over the bounds."""
    url_too_long = _raw_problem(
        414,
        "URI Too Long",
        DomainError(
            f"The request-target exceeds {max_url} bytes.",
            status=414,
            slug="uri-too-long",
            title="Request-target too long",
            errors=[{"field": "request-target", "message": f"over {max_url} bytes"}],
        ),
    )
    head_too_large = _raw_problem(
        431,
        "Request Header Fields Too Large",
        DomainError(
            f"At most {max_headers} header fields and {max_head} bytes of request head are read.",
            status=431,
            slug="header-fields-too-large",
            title="Request header fields too large",
            errors=[
                {"field": "headers", "message": f"over {max_headers} fields or {max_head} bytes"}
            ],
        ),
    )
    return url_too_long, head_too_large


def _fd_room() -> int:
    """Raise the soft descriptor limit to the hard one; the connections that fit in it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return max(1, soft - FD_RESERVE)


_limits: Limits | None = None


def limits() -> Limits:
    """The values in force in this process (read from settings on first use)."""
    global _limits
    if _limits is None:
        _limits = Limits()
    return _limits
