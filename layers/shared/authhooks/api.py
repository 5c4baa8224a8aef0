"""The Powertools resolver every function uses, and the one place an exception becomes a response."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.logging import correlation_paths

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


def problem_response(error: ServiceError, request_id: str | None) -> Response:
    return Response(
        status_code=error.status,
        content_type=PROBLEM_JSON,
        body=json.dumps(error.problem(request_id)),
        headers=error.response_headers(),
    )


def make_resolver() -> APIGatewayHttpResolver:
    """An HTTP API (payload 2.0) resolver with our error handling registered once."""
    app = APIGatewayHttpResolver()

    def current_request_id() -> str | None:
        return request_id_of(app.current_event.raw_event)

    @app.exception_handler(ServiceError)
    def on_service_error(error: ServiceError) -> Response:
        if error.status >= 500:
            logger.warning("answered with a server-side error", extra={"code": error.code, "detail": error.detail})
        return problem_response(error, current_request_id())

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response:
        method = app.current_event.http_method.upper()
        path = app.current_event.path
        # Powertools has no 405: a route that matches the path under another method means "wrong method".
        allowed = sorted({r.method for r in app._static_routes + app._dynamic_routes if r.rule.match(path)})
        if allowed and method not in allowed:
            error: ServiceError = MethodNotAllowed(f"{method} is not allowed here; use {', '.join(allowed)}",
                                                   headers={"Allow": ", ".join(allowed)})
        else:
            error = NotFound(f"no route for {method} {path}")
        return problem_response(error, current_request_id())

    @app.exception_handler(Exception)
    def on_bug(error: Exception) -> Response:
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return problem_response(InternalError(), current_request_id())

    return app


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8"))


def lambda_entry(app: APIGatewayHttpResolver) -> Handler:
    """The Lambda handler: correlation id, metrics flush, size limit, security headers around ``app``."""

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            if _body_size(event) > MAX_BODY_BYTES:
                # Refused before routing: no route's logic, and no store, sees an oversized body.
                error = PayloadTooLarge(f"body is over {MAX_BODY_BYTES // 1024} KiB")
                result = {
                    "statusCode": error.status,
                    "headers": {"Content-Type": PROBLEM_JSON, **error.response_headers()},
                    "body": json.dumps(error.problem(request_id_of(event))),
                    "isBase64Encoded": False,
                    "cookies": [],
                }
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
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _refused_type(content_type: str, use: str) -> InvalidRequest:
    return InvalidRequest(f"content-type: {content_type[:64]} is not accepted",
                          errors=[FieldError("content-type", f"use {use}")])


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


def not_implemented(app: APIGatewayHttpResolver, paths: list[tuple[str, str]]) -> None:
    """Register honest 501s for routes whose issue has not landed yet."""
    from authhooks.errors import NotImplementedYet

    for method, path in paths:
        def route(**_: Any) -> Response:
            raise NotImplementedYet("this route is not implemented yet")

        app.route(path, method=method)(route)


__all__ = [
    "PROBLEM_JSON",
    "accepts_json",
    "form_or_json",
    "iso_utc",
    "json_object",
    "lambda_entry",
    "make_resolver",
    "problem_response",
    "request_id_of",
]
