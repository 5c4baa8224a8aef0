"""A path parameter API Gateway routed but our router cannot match (HTTP APIs hand Lambda a decoded path) is a 400."""

from __future__ import annotations

import pytest

from tests.conftest import Api

# A private-use character: API Gateway's {session_id} takes it, Powertools' route pattern does not.
ODD = "%F3%B8%B0%96"


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("DELETE", f"/livevox/sessions/{ODD}", "session_id"),
        ("GET", f"/livevox/sessions/{ODD}", "session_id"),
        ("GET", f"/loudvoice/sessions/{ODD}", "session_token"),
        ("GET", f"/bazaarvoice/users/{ODD}", "bv_user_id"),
        ("GET", "/bazaarvoice/users/a%00b", "bv_user_id"),
    ],
)
def test_an_unroutable_path_parameter_is_a_400_naming_it(api: Api, method: str, path: str, field: str) -> None:
    reply = api.request(method, path)
    assert reply.status == 400, reply.text
    problem = reply.json()
    assert problem["code"] == "invalid_request"
    assert [e["field"] for e in problem["errors"]] == [field]


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_a_livevox_session_id_that_cannot_travel_in_a_header_is_a_400(api: Api, method: str) -> None:
    # Decoded "Ú꯲": our router takes it, but it cannot be an LV-Session header value (it was a 500).
    reply = api.request(method, "/livevox/sessions/%C3%9A%EA%AF%B2")
    assert reply.status == 400, reply.text
    assert [e["field"] for e in reply.json()["errors"]] == ["session_id"]


def test_an_unknown_path_is_still_a_404(api: Api) -> None:
    reply = api.get("/livevox/nothing-here")
    assert reply.status == 404 and reply.json()["code"] == "not_found"
