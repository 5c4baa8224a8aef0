"""The Powertools resolver every function uses, and the one place an exception becomes a response."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from authhooks import budget
from authhooks.errors import (
    FieldError,
    InternalError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServiceError,
)
from authhooks.telemetry import logger, metrics, redactor

PROBLEM_JSON = "application/problem+json"
MAX_BODY_BYTES = 64 * 1024

# Sent on every answer; an HTML route replaces the CSP with its own (hash-based, no 'unsafe-inline').
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def iso_utc(epoch_seconds: int | float) -> str:
    """Epoch seconds as the API's time format (ISO 8601 UTC, ``2026-11-23T15:04:05Z``)."""
    return datetime.fromtimestamp(int(epoch_seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_id_of(event: dict[str, Any]) -> str | None:
    context = event.get("requestContext")
    return context.get("requestId") if isinstance(context, dict) else None


def problem_response(error: ServiceError, request_id: str | None) -> Response[str]:
    return Response(
        status_code=error.status,
        content_type=PROBLEM_JSON,
        body=json.dumps(error.problem(request_id)),
        headers=error.response_headers(),
    )


# A function's own rendering of an error for this request (the landing page's HTML), or None for problem+json.
ErrorPage = Callable[[ServiceError, dict[str, Any]], Response[str] | None]

# A path parameter (``<session_id>``) is one or more of these: RFC 3986's unreserved characters and sub-delims, ":"
# and "@", the unsafe "%<> []{}|^" and word characters; never "/". It is the class Powertools 3 routes with, written
# out here so that which paths get a 405 does not hang on Powertools' internals.
_PARAMETER = re.compile(r"<(\w+)>")
_PARAMETER_CHARACTERS = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"


@dataclass(frozen=True)
class RegisteredRoute:
    """One method of one registered route, as our code registered it (``GET /livevox/sessions/<session_id>``)."""

    method: str  # upper-case
    rule: str  # the path as registered, ``<name>`` for a path parameter
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, method: str, rule: str) -> RegisteredRoute:
        parts = _PARAMETER.split(rule)  # literal, name, literal, name, ..., literal
        regex = "".join(
            f"(?P<{part}>{_PARAMETER_CHARACTERS})" if index % 2 else re.escape(part) for index, part in enumerate(parts)
        )
        return cls(method.upper(), rule, re.compile(f"^{regex}$"))

    def matches(self, path: str) -> bool:
        return self.pattern.match(path) is not None


class Resolver(APIGatewayHttpResolver):
    """An HTTP API (payload 2.0) resolver whose errors, from routes or before routing, take one path.

    It keeps its own record of the routes registered on it (``registered_routes``), from which a request for a
    known path with another method is answered 405 with ``Allow``.
    """

    def __init__(self, error_page: ErrorPage | None = None) -> None:
        super().__init__()
        self.error_page = error_page
        self._registered: list[RegisteredRoute] = []

    def route[F: Callable[..., Any]](
        self, rule: str, method: str | list[str] | tuple[str], *args: Any, **kwargs: Any
    ) -> Callable[[F], F]:
        """Powertools' registration (``get``, ``post``, ... come through here), recorded as each route is added."""
        register = super().route(rule, method, *args, **kwargs)

        def record(func: F) -> F:
            registered = register(func)
            methods = (method,) if isinstance(method, str) else method
            self._registered.extend(RegisteredRoute.of(item, rule) for item in methods)
            return registered

        return record

    @property
    def registered_routes(self) -> tuple[RegisteredRoute, ...]:
        """Every method of every route registered, in the order registered."""
        return tuple(self._registered)

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some registered route takes for ``path``, sorted (empty: no route has this path)."""
        return sorted({route.method for route in self._registered if route.matches(path)})

    def exception_handler[F: Callable[..., Any]](
        self, exc_class: type[Exception] | list[type[Exception]]
    ) -> Callable[[F], F]:
        """Powertools' registration of an exception handler, typed (its own declares no return type)."""
        return cast("Callable[[F], F]", super().exception_handler(exc_class))

    def render_error(self, error: ServiceError, event: dict[str, Any]) -> Response[str]:
        """The one place an error becomes a response: the function's page for it, else problem+json."""
        if error.status >= 500:
            logger.warning("answered with a server-side error", extra={"code": error.code, "detail": error.detail})
        page = self.error_page(error, event) if self.error_page else None
        return page or problem_response(error, request_id_of(event))


def make_resolver(error_page: ErrorPage | None = None) -> Resolver:
    """A resolver with our error handling registered once; ``error_page`` renders errors a function's own way."""
    app = Resolver(error_page)

    @app.exception_handler(ServiceError)
    def on_service_error(error: ServiceError) -> Response[str]:
        return app.render_error(error, app.current_event.raw_event)

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response[str]:
        method = app.current_event.http_method.upper()
        path = app.current_event.path
        # Powertools has no 405: a route that matches the path under another method means "wrong method".
        allowed = app.allowed_methods(path)
        params = app.current_event.path_parameters or {}
        route_key = str(app.current_event.raw_event.get("routeKey") or "")
        if allowed and method not in allowed:
            error: ServiceError = MethodNotAllowed(
                f"{method} is not allowed here; use {', '.join(allowed)}", headers={"Allow": ", ".join(allowed)}
            )
        elif params and "{proxy+}" not in route_key and route_key.startswith(f"{method} "):
            # API Gateway matched one of our routes, but the (decoded) path parameter holds characters no id of
            # ours has, so our router cannot: the parameter is wrong, not the route.
            error = InvalidRequest.of(
                [FieldError(name[:64], "contains characters no valid value has") for name in sorted(params)]
            )
        else:
            error = NotFound(f"no route for {method} {path}")
        return problem_response(error, request_id_of(app.current_event.raw_event))

    @app.exception_handler(Exception)
    def on_bug(error: Exception) -> Response[str]:
        # The one place a bug becomes a 500: the metric is what the UnhandledErrors alarm watches.
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        metrics.add_metric(name="UnhandledErrors", unit=MetricUnit.Count, value=1)
        return app.render_error(InternalError(), app.current_event.raw_event)

    return app


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8"))


def lambda_entry(app: Resolver, *, secret_parameters: tuple[str, ...] = ()) -> Handler:
    """The Lambda handler: correlation id, metrics flush, time budget, size limit, security headers.

    ``secret_parameters`` names the path and query parameters that carry tokens: they are kept off every
    log line of the request, declared here once for the function.
    """

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
        budget.start(remaining_ms() / 1000 if remaining_ms else None)
        for source in ("pathParameters", "queryStringParameters"):
            values = event.get(source) or {}
            redactor.add_request_secrets(*(values.get(name) for name in secret_parameters))
        try:
            if _body_size(event) > MAX_BODY_BYTES:
                # Refused before routing: no route's logic, and no store, sees an oversized body.
                error = PayloadTooLarge(f"body is over {MAX_BODY_BYTES // 1024} KiB")
                builder: ResponseBuilder[APIGatewayProxyEventV2] = ResponseBuilder(app.render_error(error, event))
                result = builder.build(APIGatewayProxyEventV2(event))
            else:
                result = app.resolve(event, context)
        finally:
            redactor.end_request()
        headers = result.setdefault("headers", {})
        lowered = {name.lower() for name in headers}
        for name, value in SECURITY_HEADERS.items():
            if name.lower() not in lowered:
                headers[name] = value
        return result

    return handler


def decoded_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequest("body: not valid base64", errors=[FieldError("body", "not valid base64")]) from exc
    return body.encode("utf-8")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _invalid_body(message: str) -> InvalidRequest:
    return InvalidRequest(f"body: {message}", errors=[FieldError("body", message)])


def _content_type(event: dict[str, Any]) -> str:
    """The request's media type, lower-cased, without parameters ("" when the header is absent)."""
    headers: dict[str, str] = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _refused_type(content_type: str, use: str) -> InvalidRequest:
    return InvalidRequest(
        f"content-type: {content_type[:64]} is not accepted", errors=[FieldError("content-type", f"use {use}")]
    )


def json_object(event: dict[str, Any]) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says what is wrong with it."""
    content_type = _content_type(event)
    if content_type and not _is_json_type(content_type):
        # A body declared as something else is not ours to guess at (no header at all is read as JSON).
        raise _refused_type(content_type, "application/json")
    raw = decoded_body(event)
    if not raw.strip():
        raise _invalid_body("a JSON object is required")
    try:
        text = raw.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_reject_duplicates)
        # The JSON grammar lets a lone surrogate ("\ud800") through; it is no character, and hashing,
        # storing or logging it fails later: refuse it here, once, for every route.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_body("not valid UTF-8") from exc
    except UnicodeEncodeError as exc:
        raise _invalid_body("a \\u escape is not a character (a lone surrogate)") from exc
    except RecursionError as exc:
        raise _invalid_body("nested too deeply") from exc
    except ValueError as exc:
        raise _invalid_body(f"not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise _invalid_body("must be a JSON object")
    return value


MAX_FORM_FIELDS = 20


def form_or_json(event: dict[str, Any]) -> dict[str, Any]:
    """A form-encoded or JSON body as a dict (the landing page posts a form, scripts post JSON)."""
    content_type = _content_type(event)
    if _is_json_type(content_type):
        return json_object(event)
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = decoded_body(event).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _invalid_body("not valid UTF-8") from exc
        try:
            return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS))
        except ValueError as exc:  # more fields than any page of ours posts
            raise _invalid_body(f"more than {MAX_FORM_FIELDS} form fields") from exc
    raise _refused_type(content_type, "application/x-www-form-urlencoded or application/json")


def accepts_json(event: dict[str, Any]) -> bool:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    accept = headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


__all__ = [
    "PROBLEM_JSON",
    "Resolver",
    "accepts_json",
    "form_or_json",
    "iso_utc",
    "json_object",
    "lambda_entry",
    "make_resolver",
    "problem_response",
    "request_id_of",
]
