"""The user-token routes answer only where they are served: their IAM route, never a public route whose path
API Gateway delivers decoded (``users%2F<id>`` arrives in ``rawPath`` as ``users/<id>``)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import events, template
from local.apigateway import HttpApi
from local.runtime import LambdaContext
from tests.conftest import Api

FUNCTION = "BazaarvoiceConfirmFunction"
# The public catch-all this function had before: a real HTTP API routed users%2F<id> to it.
FORMER_CATCH_ALL = template.Route("ANY", "/bazaarvoice/{proxy+}", FUNCTION, public=True)
ENCODINGS = ["users%2F{id}", "users%252F{id}", "users%2f{id}", "USERS%2F{id}"]


@pytest.fixture
def confirmed(api: Api, mint: Callable) -> dict[str, str]:
    """A confirmed shopper: ``bv_user_id`` and the ``user_token`` the exchange handed out."""
    minted = mint()
    reply = api.post(
        "/bazaarvoice/confirm", json={"bv_authtoken": minted["bv_authtoken"]}, headers={"Accept": "application/json"}
    )
    return reply.json()


def gateway(api: Api, routes: list[template.Route]) -> Iterator[str]:
    def invoke(function: str, event: dict[str, Any]) -> Any:
        return api.handler(function)(event, LambdaContext(function_name=function))

    server = HttpApi(invoke, routes, port=0).start()
    yield server.url
    server.stop()


@pytest.fixture
def local_gateway(api: Api) -> Iterator[str]:
    """The local HTTP API with the template's routes, the function in process."""
    yield from gateway(api, api.routes)


@pytest.fixture
def former_gateway(api: Api) -> Iterator[str]:
    """The same, plus the former public catch-all: what reaches the function decides."""
    yield from gateway(api, [*api.routes, FORMER_CATCH_ALL])


def send(base_url: str, method: str, raw_path: str) -> tuple[int, dict[str, str], str]:
    """One request with the path exactly as given (no client normalising it)."""
    address = urlsplit(base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, raw_path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("encoded", ENCODINGS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_encoded_slashes_through_the_local_gateway_reach_no_token(
    local_gateway: str, api: Api, confirmed: dict[str, str], encoded: str, method: str
) -> None:
    status, _, body = send(local_gateway, method, "/bazaarvoice/" + encoded.format(id=confirmed["bv_user_id"]))
    assert status == 404 and confirmed["user_token"] not in body
    assert api.get(f"/bazaarvoice/users/{confirmed['bv_user_id']}").status == 200  # nothing erased


@pytest.mark.parametrize("encoded", ENCODINGS)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_through_a_public_catch_all_the_function_itself_refuses(
    former_gateway: str, api: Api, confirmed: dict[str, str], encoded: str, method: str
) -> None:
    status, headers, body = send(former_gateway, method, "/bazaarvoice/" + encoded.format(id=confirmed["bv_user_id"]))
    assert status == 404 and confirmed["user_token"] not in body
    assert json.loads(body)["code"] == "not_found" and headers["Content-Type"] == "application/problem+json"
    assert api.get(f"/bazaarvoice/users/{confirmed['bv_user_id']}").status == 200


def handle(api: Api, event: dict[str, Any]) -> dict[str, Any]:
    return api.handler(FUNCTION)(event, LambdaContext(function_name=FUNCTION))


@pytest.mark.parametrize("encoded", ["users%2F{id}", "users%252F{id}"])
@pytest.mark.parametrize(
    ("route_key", "iam"),
    [
        ("ANY /bazaarvoice/{proxy+}", False),  # the public catch-all
        ("ANY /bazaarvoice/{proxy+}", True),  # a signed catch-all is still not the user route
        ("GET /bazaarvoice/users/{bv_user_id}", False),  # the route key without the IAM context
    ],
)
def test_events_built_as_api_gateway_builds_them_get_no_token(
    api: Api, confirmed: dict[str, str], encoded: str, route_key: str, iam: bool
) -> None:
    raw = "/bazaarvoice/" + encoded.format(id=confirmed["bv_user_id"])
    params = {"bv_user_id": confirmed["bv_user_id"]} if "{bv_user_id}" in route_key else {"proxy": raw[13:]}
    event = events.http_api_event(
        "GET", events.delivered_path(raw), route_key=route_key, path_parameters=params, iam=iam
    )
    assert event["rawPath"] != raw  # delivered decoded, as HTTP APIs do
    result = handle(api, event)
    # 404 (no route for it), or 400 where the route key names the user route but the decoded id is no id.
    assert result["statusCode"] in (400, 404) and confirmed["user_token"] not in result["body"]


def test_the_iam_route_event_answers_the_token(api: Api, confirmed: dict[str, str]) -> None:
    user_id = confirmed["bv_user_id"]
    event = events.http_api_event(
        "GET",
        f"/bazaarvoice/users/{user_id}",
        iam=True,
        route_key="GET /bazaarvoice/users/{bv_user_id}",
        path_parameters={"bv_user_id": user_id},
    )
    result = handle(api, event)
    assert result["statusCode"] == 200 and json.loads(result["body"])["user_token"] == confirmed["user_token"]


def test_the_landing_path_is_public_for_any_method_and_answers_405_for_the_others(local_gateway: str) -> None:
    status, headers, _ = send(local_gateway, "PUT", "/bazaarvoice/confirm")
    assert status == 405 and headers["Allow"] == "GET, POST"
    assert send(local_gateway, "GET", "/bazaarvoice/anything-else")[0] == 404  # no public catch-all any more
