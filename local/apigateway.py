"""The local HTTP API: API Gateway (HTTP API, payload 2.0) in front of the functions, routed from template.yaml.

Each request becomes the event API Gateway would send (``local.events``), goes to the function its route
names, and the function's result goes back to the client the way API Gateway renders it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Self

from werkzeug.wrappers import Request, Response

from local import events, runtime, serving, template
from local.jwt_authorizer import UNAUTHORIZED_BODY, JwtCheck, Unauthorized

_LOG = logging.getLogger("local.apigateway")
PROBLEM_JSON = "application/problem+json"
# HTTP API quotas, "Payload size 10 MB": docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
MAX_BODY_BYTES = 10 * 1024 * 1024
# Lambda quotas, synchronous invocation payload "6 MB each for request and response":
# docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_INVOKE_BYTES = 6 * 1024 * 1024
# What an HTTP API answers when its Lambda integration fails (a timeout, a payload Lambda refuses):
# docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
INTEGRATION_FAILURE = (500, b'{"message":"Internal Server Error"}')
OPENAPI = template.ROOT / "openapi.yaml"
# /docs: Swagger UI 5 (renders OpenAPI 3.1) from the pinned swagger-ui-py package, every asset served here (no CDN).
DOCS_PAGES = Path(__file__).resolve().parent / "docs"
_DOCS_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_SWAGGER_UI_ASSETS = (
    "swagger-ui.css",
    "index.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
)
# Connection-level headers are the gateway's business, never the function's.
_HOP_BY_HOP = {"connection", "content-length", "date", "keep-alive", "server", "transfer-encoding"}
_FORWARDED = ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")

Invoke = Callable[[str, dict[str, Any]], Any]  # (function logical id, event) -> the handler's result


class GatewayError(Exception):
    """What the gateway answers itself, without a function: unreadable or oversized request, no route, failure."""

    def __init__(self, status: int, code: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail

    def problem(self, request_id: str) -> bytes:
        """The RFC 9457 body every JSON route answers errors with (docs/api.md, "Errors")."""
        return json.dumps(
            {
                "type": "about:blank",
                "title": self.title,
                "status": self.status,
                "code": self.code,
                "detail": self.detail,
                "request_id": request_id,
            }
        ).encode("utf-8")


class IntegrationFailure(Exception):
    """Lambda refused the invocation or its result (a payload over its limit)."""


def _not_found(detail: str) -> GatewayError:
    return GatewayError(404, "not_found", "Not found", detail)


def _refusal(status: int, code: str, detail: str) -> Response:
    """The server's answer to a body it will not read (413, 400), in the gateway's problem shape."""
    title = {413: "Payload too large", 414: "URI too long", 431: "Headers too large"}.get(status, "Invalid request")
    return _problem(GatewayError(status, code, title, detail), events.new_request_id())


def _problem(error: GatewayError, request_id: str) -> Response:
    return _response(error.status, [("Content-Type", PROBLEM_JSON)], error.problem(request_id), request_id)


def _response(status: int, headers: Sequence[tuple[str, str]], body: bytes, request_id: str) -> Response:
    kept = [(name, value) for name, value in headers if name.lower() not in _HOP_BY_HOP]
    return Response(body, status, headers=[*kept, ("apigw-requestid", request_id)])


class _Gateway:
    """Request in, the function's answer (or the gateway's own) out."""

    def __init__(
        self, routes: Sequence[template.Route], invoke: Invoke, openapi: Path, authorizers: Mapping[str, JwtCheck]
    ) -> None:
        self.routes = list(routes)
        self.invoke = invoke
        self.openapi = openapi
        self.authorizers = dict(authorizers)

    def __call__(self, request: Request) -> Response:
        started = time.monotonic()
        request_id = events.new_request_id()
        raw_path, _, raw_query = (request.environ.get("RAW_URI") or request.full_path).partition("?")
        response, route_key = self._answer(request, raw_path, raw_query, request_id)
        # The route, never the path: paths carry session tokens and ids (API Gateway's access log has routeKey too).
        _LOG.info(
            "%s -> %s (%.0f ms) %s",
            route_key if route_key != "-" else f"{request.method} (no route)",
            response.status_code,
            (time.monotonic() - started) * 1000,
            request_id,
        )
        return response

    def _answer(self, request: Request, raw_path: str, raw_query: str, request_id: str) -> tuple[Response, str]:
        method = request.method
        if method == "GET" and raw_path == "/openapi.yaml":
            return self._openapi(request_id), "openapi"
        if method == "GET" and (raw_path == "/docs" or raw_path.startswith("/docs/")):
            return self._docs(raw_path, request_id), "docs"
        body = request.get_data()
        headers = _forwarded_headers(request)
        matched = events.match_route(self.routes, method, raw_path)
        chosen = matched[0] if matched else None
        check = self.authorizers.get(chosen.authorizer) if chosen and not chosen.public else None
        jwt = None
        if chosen and check:
            try:
                jwt = check.context({name.lower(): value for name, value in headers})
            except Unauthorized as refusal:
                route_key = events.route_key(chosen.method, chosen.path)
                _LOG.info("%s refused by the JWT authorizer: %s", route_key, refusal.description)
                return _response(
                    401,
                    [("Content-Type", "application/json"), ("www-authenticate", refusal.challenge())],
                    UNAUTHORIZED_BODY,
                    request_id,
                ), route_key
        routed = events.routed_event(
            self.routes,
            method,
            raw_path,
            raw_query=raw_query,
            headers=headers,
            jwt=jwt,
            body=body or None,
            source_ip=request.remote_addr or "127.0.0.1",
            request_id=request_id,
        )
        if routed is None:
            return _problem(_not_found(f"no route for {method} {raw_path}"), request_id), "-"
        route, event = routed
        route_key = event["routeKey"]
        try:
            if len(json.dumps(event)) > MAX_INVOKE_BYTES:
                raise IntegrationFailure(f"the event is over Lambda's {MAX_INVOKE_BYTES} byte invocation limit")
            result = self.invoke(route.function, event)
            if len(json.dumps(result)) > MAX_INVOKE_BYTES:
                raise IntegrationFailure(f"the result is over Lambda's {MAX_INVOKE_BYTES} byte response limit")
            status, headers, raw = events.http_response(result)
        except (IntegrationFailure, runtime.FunctionTimeout) as failure:
            _LOG.error(
                "%s failed on %s (request %s): %s",
                route.function,
                route_key,
                request_id,
                failure if isinstance(failure, IntegrationFailure) else "timed out, its worker was stopped",
            )
            status, body = INTEGRATION_FAILURE
            return _response(status, [("Content-Type", "application/json")], body, request_id), route_key
        except Exception:
            # API Gateway answers 500 (or 503) with {"message": ...} when the function fails; locally a 502
            # problem tells a gateway-side failure (crash, timeout, bad result) from the function's own 500.
            _LOG.exception("%s failed on %s (request %s)", route.function, route_key, request_id)
            error = GatewayError(
                502,
                "internal_error",
                "Bad gateway",
                f"{route.function} failed or did not answer; see the local stack's log",
            )
            return _problem(error, request_id), route_key
        return _response(status, headers, raw, request_id), route_key

    def _openapi(self, request_id: str) -> Response:
        if not self.openapi.is_file():
            return _problem(_not_found("openapi.yaml is not in the repository yet"), request_id)
        return _response(200, [("Content-Type", "application/yaml")], self.openapi.read_bytes(), request_id)

    def _docs(self, raw_path: str, request_id: str) -> Response:
        name = raw_path.removeprefix("/docs").strip("/") or "index.html"
        if name in _SWAGGER_UI_ASSETS:
            path = _swagger_ui_static() / name
        else:
            # Only our own files by exact name: nothing outside the folder can be named.
            path = DOCS_PAGES / name
            if name not in {p.name for p in DOCS_PAGES.iterdir()}:
                return _problem(_not_found(f"no such documentation file: {name}"), request_id)
        content_type = _DOCS_TYPES.get(path.suffix, "application/octet-stream")
        return _response(200, [("Content-Type", content_type)], path.read_bytes(), request_id)


def _swagger_ui_static() -> Path:
    """The Swagger UI dist folder swagger-ui-py ships (found without importing its framework adapters)."""
    spec = find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        raise RuntimeError("swagger-ui-py is not installed: `make install` (requirements-dev.txt pins it)")
    return Path(spec.origin).parent / "static"


def _forwarded_headers(request: Request) -> list[tuple[str, str]]:
    """The client's headers as API Gateway forwards them: it sets the X-Forwarded-* trio itself."""
    sent: list[tuple[str, str]] = request.environ[serving.RAW_HEADERS]
    pairs = [(name, value) for name, value in sent if name.lower() not in _FORWARDED]
    chain = [value.strip() for name, value in sent if name.lower() == "x-forwarded-for"]
    pairs.append(("X-Forwarded-For", ", ".join([*chain, request.remote_addr or "127.0.0.1"])))
    pairs.append(("X-Forwarded-Port", str(request.environ["SERVER_PORT"])))
    pairs.append(("X-Forwarded-Proto", "http"))
    if not any(name.lower() == "x-amzn-trace-id" for name, _ in sent):
        pairs.append(("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"))
    return pairs


class HttpApi:
    """The template's HttpApi on a loopback port (``port=0`` picks a free one), calling ``invoke`` per request.

    ``parameters``: template parameter overrides; they decide the authorizers (``JwtIssuer`` set: the server
    routes take a bearer JWT, checked here; otherwise SigV4, which is not checked locally).
    """

    def __init__(
        self,
        invoke: Invoke,
        routes: Sequence[template.Route] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        openapi: Path = OPENAPI,
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.routes = list(template.routes(template.cached()) if routes is None else routes)
        self.authorizers = {
            logical_id: JwtCheck(config)
            for logical_id, config in template.jwt_authorizers(dict(parameters or {})).items()
        }
        gateway = _Gateway(self.routes, invoke, openapi, self.authorizers)
        self._http = serving.HttpServer(
            gateway, host=host, port=port, name="authhooks-local-apigateway", max_body=MAX_BODY_BYTES, refuse=_refusal
        )

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> Self:
        """Serve in a daemon thread."""
        jwt = [r for r in self.routes if not r.public and r.authorizer in self.authorizers]
        iam = [r for r in self.routes if not r.public and r not in jwt]
        if jwt:
            issuers = ", ".join(sorted({check.config.issuer for check in self.authorizers.values()}))
            _LOG.info(
                "JWT-authorized routes (%d of %d) take a bearer token from %s", len(jwt), len(self.routes), issuers
            )
        if iam:
            _LOG.warning(
                "IAM-authorized routes (%d of %d) accept unsigned requests locally: no SigV4 check",
                len(iam),
                len(self.routes),
            )
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests and release the port (idempotent)."""
        self._http.stop()
