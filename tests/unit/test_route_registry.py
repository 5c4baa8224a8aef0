"""Our own record of the routes each resolver registers: the source of every 405 and its Allow header."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest
from authhooks.api import RegisteredRoute, Resolver, lambda_entry, make_resolver

from local import events, runtime, template
from local.runtime import LambdaContext

FUNCTIONS = template.functions(template.cached())
# The methods an HTTP API routes (ANY stands for these).
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _resolver(fn: template.Function) -> Resolver:
    runtime.load_handler(fn)  # the code directory and the layer first on the path, as Lambda loads them
    app = importlib.import_module(fn.module).app
    assert isinstance(app, Resolver), f"{fn.module}.app is not authhooks.api.Resolver"
    return app


def _rule(path: str) -> str:
    """A template path (``/livevox/sessions/{session_id}``) as our routes register it (``<session_id>``)."""
    return re.sub(r"\{(\w+)\}", r"<\1>", path)


def _template_routes(fn: template.Function) -> set[tuple[str, str]]:
    """The function's routes in the template, without the catch-alls (ANY: answered 404/405 from the record)."""
    return {(route.method, _rule(route.path)) for route in fn.routes if route.method != "ANY"}


def _recorded(app: Resolver) -> set[tuple[str, str]]:
    return {(route.method, route.rule) for route in app.registered_routes}


def _example_path(rule: str) -> str:
    return re.sub(r"<\w+>", "abc123", rule)


def _answer(handler: Any, method: str, path: str) -> tuple[int, dict[str, str], Any]:
    event = events.http_api_event(method, path, headers={"accept": "application/json"}, request_id="req-1")
    status, headers, raw = events.http_response(handler(event, LambdaContext("test")))
    return status, dict(headers), json.loads(raw) if raw else None


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_every_route_of_the_template_is_recorded_and_nothing_else(logical_id: str) -> None:
    fn = FUNCTIONS[logical_id]
    assert _template_routes(fn), f"{logical_id} has no routes in template.yaml"
    assert _recorded(_resolver(fn)) == _template_routes(fn)


def _template_methods(fn: template.Function, path: str) -> set[str]:
    """The methods of the function's template routes (catch-alls aside) whose path takes ``path``."""
    found = set()
    for method, rule in _template_routes(fn):
        pattern = "".join(r"[^/]+" if part.startswith("<") else re.escape(part) for part in re.split(r"(<\w+>)", rule))
        if re.fullmatch(pattern, path):
            found.add(method)
    return found


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_wrong_method_on_a_known_path_is_a_405_allowing_the_template_methods(logical_id: str) -> None:
    fn = FUNCTIONS[logical_id]
    handler = runtime.load_handler(fn)
    for path in sorted({_example_path(rule) for _, rule in _template_routes(fn)}):
        allowed = _template_methods(fn, path)  # /livevox/sessions/sso: POST, and GET and DELETE of a session id
        for method in sorted(set(METHODS) - allowed):
            status, headers, body = _answer(handler, method, path)
            assert (status, body["code"]) == (405, "method_not_allowed"), (method, path, body)
            assert headers["Allow"] == ", ".join(sorted(allowed)), (method, path)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_an_unknown_path_is_a_404_without_allow(logical_id: str) -> None:
    prefix = FUNCTIONS[logical_id].routes[0].path.split("/")[1]
    status, headers, body = _answer(runtime.load_handler(FUNCTIONS[logical_id]), "GET", f"/{prefix}/nothing/here")
    assert (status, body["code"]) == (404, "not_found") and "Allow" not in headers


# Paths around each rule's parameter: characters Powertools' router takes in a parameter and ones it does not.
_ODD_VALUES = ["abc", "a.b-c_d~e", "a:b@c!d$e&f'g(h)i*j+k,l;m=n", "a%20b", "a b", "a<b>", "ü", "\U000f8c16", "a/b", ""]


def _mirror(rules: set[tuple[str, str]]) -> Any:
    """A resolver with the same rules as a function, each route answering 200 without any backend."""
    app = make_resolver()
    for method, rule in sorted(rules):
        app.route(rule, method)(lambda **_: {"routed": True})
    return lambda_entry(app)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_the_record_matches_the_paths_the_router_routes(logical_id: str) -> None:
    """Where our record says a path is a route's, Powertools routes it there (200), else answers 404 or 405."""
    rules = _template_routes(FUNCTIONS[logical_id])
    handler = _mirror(rules)
    for method, rule in sorted(rules):
        record = RegisteredRoute.of(method, rule)
        for value in _ODD_VALUES:
            path = re.sub(r"<\w+>", value, rule) if "<" in rule else rule + value
            status, _, _ = _answer(handler, method, path)
            assert (status == 200) == record.matches(path), (method, rule, path, status)


def test_a_route_registered_for_several_methods_records_each() -> None:
    app = make_resolver()

    @app.route("/things/<thing_id>", ["GET", "patch"])
    def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @app.put("/things")
    def put_thing() -> dict[str, str]:
        return {}

    assert _recorded(app) == {("GET", "/things/<thing_id>"), ("PATCH", "/things/<thing_id>"), ("PUT", "/things")}
    assert app.allowed_methods("/things/1") == ["GET", "PATCH"]
    assert app.allowed_methods("/things") == ["PUT"]
    assert app.allowed_methods("/things/1/more") == []
    status, headers, _ = _answer(lambda_entry(app), "DELETE", "/things/1")
    assert status == 405 and headers["Allow"] == "GET, PATCH"
