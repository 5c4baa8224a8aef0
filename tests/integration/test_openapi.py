"""openapi.yaml: valid OpenAPI 3.1 describing exactly the template's routes; served at /openapi.yaml and /docs."""

from __future__ import annotations

import http.client
import re
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from authhooks import errors

from local import template
from local.apigateway import HttpApi

ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = ROOT / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))
TPL = template.cached()
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): item[method]
        for path, item in SPEC["paths"].items()
        for method in METHODS
        if method in item
    }


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A ``$ref`` inside this document, followed."""
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = SPEC
        for part in pointer:
            node = node[part]
    return node


def template_routes() -> dict[tuple[str, str], template.Route]:
    # The catch-alls ({proxy+} paths, ANY methods) only answer 404/405 for paths and methods that are not routes.
    return {(r.method, r.path): r for r in template.routes(TPL) if "{proxy+}" not in r.path and r.method != "ANY"}


def test_the_document_is_valid_openapi_3_1() -> None:
    from openapi_spec_validator import validate

    assert re.fullmatch(r"3\.1\.\d+", SPEC["openapi"])
    validate(SPEC)


def test_every_template_route_is_described_and_nothing_else() -> None:
    described, routed = set(operations()), set(template_routes())
    assert routed - described == set(), "routes in template.yaml missing from openapi.yaml"
    assert described - routed == set(), "operations in openapi.yaml that template.yaml does not route"


def test_landing_routes_are_public_and_every_other_operation_needs_sigv4_or_a_jwt() -> None:
    either = [{"sigv4": []}, {"bearer": []}]  # the deployment's choice (JwtIssuer)
    assert SPEC["security"] == either
    scheme = SPEC["components"]["securitySchemes"]["sigv4"]
    assert (scheme["in"], scheme["name"], scheme["x-amazon-apigateway-authtype"]) == (
        "header",
        "Authorization",
        "awsSigv4",
    )
    bearer = SPEC["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"], bearer["bearerFormat"]) == ("http", "bearer", "JWT")
    routes = template_routes()
    for key, operation in operations().items():
        expected = [] if routes[key].public else either
        assert operation.get("security", SPEC["security"]) == expected, key


def test_path_parameters_match_the_template_paths() -> None:
    for (method, path), operation in operations().items():
        item = SPEC["paths"][path]
        declared = {
            resolve(p)["name"]
            for p in [*item.get("parameters", []), *operation.get("parameters", [])]
            if resolve(p)["in"] == "path"
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"


def test_every_json_route_answers_errors_with_the_shared_problem_schema() -> None:
    for key, operation in operations().items():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = resolve(response)["content"]
            # The gateway's own refusals (before any function ran) have a problem shape of their own.
            shared = "GatewayProblem" if status == "414" else "Problem"
            assert content["application/problem+json"]["schema"] == {"$ref": f"#/components/schemas/{shared}"}, key
            assert set(content) <= {"application/problem+json", "text/html"}, key
            if "text/html" in content:
                assert template_routes()[key].public, f"only the landing routes answer HTML: {key}"


def test_every_503_carries_retry_after_and_every_vendor_route_can_answer_502_503_504() -> None:
    for key, operation in operations().items():
        responses = operation["responses"]
        if "503" in responses:
            header = resolve(resolve(responses["503"])["headers"]["Retry-After"])
            assert header["required"] is True and header["schema"]["type"] == "integer", key
            if responses["503"]["$ref"].endswith("/VendorUnavailable"):  # not a store-only route
                assert {"502", "504"} <= set(responses), key
        assert {"413", "500"} <= set(responses), f"every route can refuse a big body and can have a bug: {key}"


def test_the_problem_codes_are_the_error_taxonomy() -> None:
    def leaves(cls: type) -> set[type]:
        return {cls} | {sub for child in cls.__subclasses__() for sub in leaves(child)}

    taxonomy = {cls.code for cls in leaves(errors.ServiceError)}
    assert set(SPEC["components"]["schemas"]["Problem"]["properties"]["code"]["enum"]) == taxonomy


def test_bodies_the_api_refuses_unknown_fields_of_say_so() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in (
        "AuthorSessionRequest",
        "AuthorByReference",
        "AuthorByIdentity",
        "AuthorByToken",
        "DirectCredentials",
        "NamedAccount",
        "SsoLoginRequest",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    # The confirm form takes whatever else a page posts; only the token and return_to are read.
    assert "additionalProperties" not in schemas["ConfirmRequest"]


@pytest.fixture(scope="module")
def gateway() -> Any:
    api = HttpApi(lambda *_: pytest.fail("no function is called"), []).start()
    yield api
    api.stop()


def test_the_local_api_serves_the_document_and_a_docs_page_with_local_assets_only(gateway: Any) -> None:
    served = requests.get(f"{gateway.url}/openapi.yaml", timeout=10)
    assert served.status_code == 200 and served.content == OPENAPI_PATH.read_bytes()

    page = requests.get(f"{gateway.url}/docs", timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/swagger-ui-bundle.js" in assets
    for asset in assets:
        assert asset.startswith("/docs/"), f"{asset}: every asset is served locally, no CDN"
        answer = requests.get(f"{gateway.url}{asset}", timeout=10)
        assert answer.status_code == 200 and len(answer.content) > 100, asset
    initializer = requests.get(f"{gateway.url}/docs/authhooks-docs.js", timeout=10).text
    assert 'url: "/openapi.yaml"' in initializer
    assert "http" not in initializer.replace("/openapi.yaml", ""), "the page loads nothing from elsewhere"


@pytest.mark.parametrize(
    "path",
    ["/docs/../template.yaml", "/docs/%2e%2e/template.yaml", "/docs/nothing.js", "/docs/swagger-ui-bundle.js.map"],
)
def test_docs_serve_only_their_own_files(gateway: Any, path: str) -> None:
    host, port = gateway.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)  # sends the path as written
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        assert answer.status == 404
        assert answer.getheader("Content-Type") == "application/problem+json"
    finally:
        connection.close()
