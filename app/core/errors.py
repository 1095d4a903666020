"""One domain error hierarchy, rendered as RFC 9457 problem+json by one handler."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://ybgate.example/problems/"
PROBLEM_CT = "application/problem+json"


class DomainError(Exception):
    """Base of every error the product reports to a client."""

    status: int = 400
    slug: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        slug: str | None = None,
        status: int | None = None,
        title: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.slug = slug or type(self).slug
        self.status = status or type(self).status
        self.title = title or type(self).title
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(DomainError):
    """A request that is malformed as HTTP (e.g. a header sent twice): 400."""


class Unauthenticated(DomainError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed for this token"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class TooManyRequests(DomainError):
    status = 429
    slug = "too-many-requests"
    title = "Too many requests"


class Conflict(DomainError):
    """The request is well-formed but conflicts with the record (409)."""

    status = 409
    slug = "conflict"
    title = "Conflicts with the record"


class InvalidTransition(DomainError):
    """A lifecycle step that the current state does not allow (409)."""

    status = 409
    slug = "invalid-transition"
    title = "Not allowed in the current state"


class RuleViolation(DomainError):
    """Well-formed input that a rule of the region's policy refuses (422)."""

    status = 422
    slug = "rule-violation"
    title = "Refused by the policy"


class ValidationFailed(DomainError):
    status = 422
    slug = "validation-error"
    title = "Request validation failed"

    def __init__(self, errors: list[dict[str, Any]], detail: str | None = None) -> None:
        super().__init__(detail or _summary(errors), errors=errors)


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "Request body too large"


class NotReady(DomainError):
    status = 503
    slug = "not-ready"
    title = "Service not ready"


class MethodNotAllowed(DomainError):
    status = 405
    slug = "method-not-allowed"
    title = "Method not allowed"


class RequestTimeout(DomainError):
    status = 408
    slug = "request-timeout"
    title = "Request not received in time"


class InternalError(DomainError):
    """A fault of the server (a bug, a broken policy file): never the client's."""

    status = 500
    slug = "internal-error"
    title = "Internal error"


def http_error(status: int, detail: str) -> DomainError:
    """A framework-level HTTP error (unknown route, wrong method, ...) in the same
    vocabulary as the gatekeeper's."""
    known: dict[int, type[DomainError]] = {
        401: Unauthenticated,
        403: Forbidden,
        404: NotFound,
        405: MethodNotAllowed,
        408: RequestTimeout,
        413: PayloadTooLarge,
        503: NotReady,
    }
    kind = known.get(status)
    if kind is not None:
        return kind(detail)
    return DomainError(detail, status=status, slug=f"http-{status}", title=detail)


def field_error(path: str, message: str) -> dict[str, str]:
    return {"field": path, "message": message}


def _summary(errors: list[dict[str, Any]]) -> str:
    if not errors:
        return "The request is invalid."
    first = errors[0]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first['field']}: {first['message']}{more}"
