"""API Gateway HTTP API (payload format 2.0) events, built exactly as API Gateway builds them."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

API_ID = "local"
ACCOUNT_ID = "123456789012"
DOMAIN = f"{API_ID}.execute-api.us-east-1.amazonaws.com"

# Bodies of these types reach the function as text; anything else is base64 (as API Gateway does).
_TEXT_TYPES = re.compile(r"^(text/.*|application/(json|.*\+json|x-www-form-urlencoded|xml|.*\+xml|javascript|yaml))$")


def _is_text(content_type: str, body: bytes) -> bool:
    if not _TEXT_TYPES.match(content_type.split(";", maxsplit=1)[0].strip().lower()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def new_request_id() -> str:
    """An id shaped like API Gateway's (``requestContext.requestId``, the ``apigw-requestid`` header)."""
    return base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")


def http_api_event(
    method: str,
    raw_path: str,
    *,
    raw_query: str = "",
    headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    body: bytes | str | None = None,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
    iam: bool = False,
    jwt: Mapping[str, Any] | None = None,
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """One payload 2.0 event: lower-cased headers (repeats joined by commas), cookies split out,
    query parameters (repeats joined by commas), base64 for non-text bodies, ``requestContext.http``."""
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[key] = f"{joined[key]},{value}" if key in joined else value

    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value

    when = time.time() if now is None else now
    stamp = datetime.fromtimestamp(when, UTC)
    request_id = request_id or new_request_id()
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": DOMAIN,
        "domainPrefix": API_ID,
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": joined.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": stamp.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when * 1000),
    }
    if jwt is not None:
        # What a JWT authorizer passes on: the token's claims (as text) and scopes.
        context["authorizer"] = {"jwt": dict(jwt)}
    elif iam:
        # Locally IAM routes accept unsigned requests; this is the shape a SigV4-signed call produces.
        context["authorizer"] = {
            "iam": {
                "accessKey": "LOCALACCESSKEY",
                "accountId": ACCOUNT_ID,
                "callerId": "LOCALCALLER",
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": f"arn:aws:iam::{ACCOUNT_ID}:user/local",
                "userId": "LOCALCALLER",
            }
        }

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": joined,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if _is_text(joined.get("content-type", ""), raw):
            event["body"] = raw.decode("utf-8")
        else:
            event["body"] = base64.b64encode(raw).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def route_key(method: str, path: str) -> str:
    return f"{method} {path}"


def routed_event(
    routes: Iterable[Any], method: str, raw_path: str, *, jwt: Mapping[str, Any] | None = None, **event_fields: Any
) -> tuple[Any, dict] | None:
    """The route API Gateway would pick and the event it would send for it (None: no route matches).

    ``jwt``: what the route's JWT authorizer passed (its claims and scopes); without it an authorized route's
    event carries the IAM context."""
    match = match_route(routes, method, raw_path)
    if match is None:
        return None
    route, params = match
    event = http_api_event(
        method,
        delivered_path(raw_path),
        route_key=route_key(route.method, route.path),
        path_parameters=params,
        iam=not route.public and jwt is None,
        jwt=None if route.public else jwt,
        **event_fields,
    )
    return route, event


def delivered_path(raw_path: str) -> str:
    """The path as an HTTP API hands it to the function (``rawPath``, ``requestContext.http.path``): decoded once.

    Routes are matched on the path as sent (``%2F`` stays inside one segment); only the event carries it decoded.
    """
    # HTTP APIs deliver rawPath percent-decoded: captured event in github.com/fastify/aws-lambda-fastify/issues/169.
    return unquote(raw_path)


def match_route(routes: Iterable[Any], method: str, path: str) -> tuple[Any, dict[str, str]] | None:
    """API Gateway's route selection: the most specific path wins, then an exact method over ANY.

    ``path`` is the raw (percent-encoded) request path; the path parameters come back decoded, as in the event."""
    best: tuple[tuple[int, int, int], Any, dict[str, str]] | None = None
    for route in routes:
        params = _match_path(route.path, path)
        if params is None or route.method not in (method.upper(), "ANY"):
            continue
        segments = route.path.strip("/").split("/")
        greedy = any(s.endswith("+}") for s in segments)
        literal = sum(1 for s in segments if not s.startswith("{"))
        rank = (0 if greedy else 1, literal, 1 if route.method != "ANY" else 0)
        if best is None or rank > best[0]:
            best = (rank, route, params)
    return (best[1], best[2]) if best else None


def _match_path(pattern: str, path: str) -> dict[str, str] | None:
    regex = ""
    for segment in pattern.strip("/").split("/"):
        if segment.startswith("{") and segment.endswith("+}"):
            regex += f"/(?P<{segment[1:-2]}>.+)"
        elif segment.startswith("{") and segment.endswith("}"):
            regex += f"/(?P<{segment[1:-1]}>[^/]+)"
        else:
            regex += "/" + re.escape(segment)
    found = re.fullmatch(regex or "/", path)
    # Segments are split on the raw path (so %2F stays inside one parameter), then decoded like API Gateway does.
    return {name: unquote(value) for name, value in found.groupdict().items()} if found else None


def http_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """A handler's payload 2.0 result as API Gateway turns it into HTTP: status, headers, body bytes."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # API Gateway's rule for a result without statusCode: the whole value is a JSON 200.
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode("utf-8")
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode("utf-8")
    return int(result["statusCode"]), headers, raw
