"""The one error taxonomy: every failure a caller can see, with its HTTP status and code (docs/api.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field, named by its path (``author.email``)."""

    field: str
    message: str


class ServiceError(Exception):
    """Base of every error we answer on purpose; rendered once, by ``authhooks.api``."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str = "",
        *,
        errors: list[FieldError] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors or [])
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    def problem(self, request_id: str | None) -> dict[str, Any]:
        """The RFC 9457 problem body for this error."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        body["request_id"] = request_id
        return body

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class InvalidRequest(ServiceError):
    status, code, title = 400, "invalid_request", "Invalid request"

    @classmethod
    def of(cls, errors: list[FieldError]) -> InvalidRequest:
        """One error listing every field problem; the detail names the first."""
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return cls(f"{first.field}: {first.message}{more}", errors=errors)


class TokenInvalid(ServiceError):
    status, code, title = 400, "token_invalid", "Token invalid"


class Unauthorized(ServiceError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class PasswordExpired(ServiceError):
    status, code, title = 403, "password_expired", "Password expired"


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(ServiceError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class PayloadTooLarge(ServiceError):
    status, code, title = 413, "payload_too_large", "Payload too large"


class LoginPaused(ServiceError):
    status, code, title = 429, "login_paused", "Logins paused"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, retry_after=retry_after if retry_after is not None else 60, **kwargs)


class VendorRejected(ServiceError):
    status, code, title = 502, "vendor_rejected", "Vendor answered with something we cannot use"


class VendorRateLimited(ServiceError):
    status, code, title = 503, "vendor_rate_limited", "Vendor quota reached"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, retry_after=retry_after if retry_after is not None else 30, **kwargs)


class VendorUnavailable(ServiceError):
    status, code, title = 503, "vendor_unavailable", "Vendor unavailable"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, retry_after=retry_after if retry_after is not None else 5, **kwargs)


class VendorTimeout(ServiceError):
    status, code, title = 504, "vendor_timeout", "Vendor did not answer in time"


class StoreUnavailable(ServiceError):
    """DynamoDB throttled, failed or timed out, after botocore's own retries."""

    status, code, title = 503, "store_unavailable", "Token store unavailable"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, retry_after=retry_after if retry_after is not None else 2, **kwargs)


class CredentialsUnavailable(ServiceError):
    """A vendor secret is missing, malformed, or Secrets Manager failed."""

    status, code, title = 503, "credentials_unavailable", "Vendor credentials unavailable"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **kwargs: Any) -> None:
        super().__init__(detail, retry_after=retry_after if retry_after is not None else 30, **kwargs)


class InternalError(ServiceError):
    status, code, title = 500, "internal_error", "Internal error"

    def problem(self, request_id: str | None) -> dict[str, Any]:
        # A bug: the body carries only what lets the operator find the log line.
        return {
            "type": "about:blank",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "request_id": request_id,
        }
