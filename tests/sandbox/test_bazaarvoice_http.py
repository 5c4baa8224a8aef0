"""Bazaarvoice `authenticateuser.json` over loopback HTTP."""

import re
from datetime import UTC, datetime

import requests

from tests.sandbox.vendor_calls import BV_PASSKEY, bv_exchange, mint_bv_token

CLASSIC_KEYS = {
    "Data", "HasErrors", "Form", "FormErrors", "TypicalHoursToPost", "SubmissionId", "Locale", "Errors",
    "Authentication",
}  # fmt: skip


def _decode(user_token: str) -> str:
    assert re.fullmatch(r"[0-9a-f]{32}([0-9a-f]{2})+", user_token)
    return bytes.fromhex(user_token[32:]).decode()


def _classic_error(response: requests.Response, code: str, status: int = 400) -> None:
    assert response.status_code == status  # the classic envelope comes with the real status
    body = response.json()
    assert set(body) == CLASSIC_KEYS
    assert body["HasErrors"] is True
    assert [e["Code"] for e in body["Errors"]] == [code]
    assert isinstance(body["Errors"][0]["Message"], str)
    assert body["Authentication"] is None
    assert body["Data"] == {} and body["Form"] == [] and body["FormErrors"] == {}
    assert body["Locale"] == "en_US"


def test_exchange_success_shape_and_decodable_user_token(sandbox_url: str) -> None:
    minted = mint_bv_token(sandbox_url, email="shopper@example.com")
    response = bv_exchange(sandbox_url, minted["bv_authtoken"])
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CLASSIC_KEYS
    assert body["HasErrors"] is False
    assert body["Errors"] == []
    assert body["Data"] == {} and body["Form"] == [] and body["FormErrors"] == {}
    assert body["TypicalHoursToPost"] is None and body["SubmissionId"] is None
    assert body["Locale"] == "en_US"
    today = datetime.now(UTC).strftime("%Y%m%d")
    assert _decode(body["Authentication"]["User"]) == (f"userid={minted['bv_user_id']}&hosted=VERIFIED&date={today}")


def test_params_in_form_body_with_any_case(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url)["bv_authtoken"]
    response = requests.post(
        f"{sandbox_url}/bazaarvoice/data/authenticateuser.json",
        data={"apiversion": "5.4", "AUTHTOKEN": token, "passkey": BV_PASSKEY},
        timeout=5,
    )
    assert response.json()["HasErrors"] is False


def test_tokens_are_single_use(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url)["bv_authtoken"]
    assert bv_exchange(sandbox_url, token, in_body=True).json()["HasErrors"] is False
    _classic_error(bv_exchange(sandbox_url, token), "ERROR_BAD_REQUEST")


def test_unknown_and_missing_tokens(sandbox_url: str) -> None:
    _classic_error(bv_exchange(sandbox_url, "never-minted"), "ERROR_BAD_REQUEST")
    _classic_error(bv_exchange(sandbox_url, None), "ERROR_BAD_REQUEST")


def test_wrong_or_missing_passkey_does_not_spend_the_token(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url)["bv_authtoken"]
    _classic_error(bv_exchange(sandbox_url, token, passkey="wrong"), "ERROR_PARAM_INVALID_API_KEY", 401)
    _classic_error(bv_exchange(sandbox_url, token, passkey=""), "ERROR_PARAM_INVALID_API_KEY", 401)
    assert bv_exchange(sandbox_url, token).json()["HasErrors"] is False


def test_maxage_and_same_user_per_email(sandbox_url: str) -> None:
    first = mint_bv_token(sandbox_url, email="a@example.com", maxage=30)
    second = mint_bv_token(sandbox_url, email="a@example.com")
    other = mint_bv_token(sandbox_url)
    assert first["bv_user_id"] == second["bv_user_id"] != other["bv_user_id"]
    assert first["bv_authtoken"] != second["bv_authtoken"]
    user = bv_exchange(sandbox_url, first["bv_authtoken"]).json()["Authentication"]["User"]
    assert _decode(user).endswith("&maxage=30")


def test_opaque_user_token(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url, opaque=True)["bv_authtoken"]
    user = bv_exchange(sandbox_url, token).json()["Authentication"]["User"]
    assert re.fullmatch(r"[0-9a-f]{64}", user)
    assert "userid=" not in bytes.fromhex(user).decode("latin-1")


def _shape(sandbox_url: str, shape: str) -> None:
    switched = requests.post(f"{sandbox_url}/_sandbox/bazaarvoice/error_shape", json={"shape": shape}, timeout=5)
    assert switched.status_code == 200 and switched.json() == {"shape": shape}


def test_the_documented_problem_shape(sandbox_url: str) -> None:
    _shape(sandbox_url, "problem")
    response = bv_exchange(sandbox_url, "never-minted")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail", "instance", "code", "occurredAt"}
    assert (body["code"], body["status"], body["instance"]) == ("ERROR_BAD_REQUEST", 400, "/data/authenticateuser.json")
    key_error = bv_exchange(sandbox_url, "never-minted", passkey="wrong")
    assert key_error.status_code == key_error.json()["status"] == 401
    assert key_error.json()["code"] == "ERROR_PARAM_INVALID_API_KEY"


def test_the_published_example_problem_shape(sandbox_url: str) -> None:
    _shape(sandbox_url, "problem_example")
    response = bv_exchange(sandbox_url, "never-minted")
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {"ERROR_CODE": "ERROR_BAD_REQUEST", "message": response.json()["message"], "staus": 400}


def test_the_classic_envelope_answered_with_200(sandbox_url: str) -> None:
    _shape(sandbox_url, "classic_200")
    _classic_error(bv_exchange(sandbox_url, "never-minted"), "ERROR_BAD_REQUEST", 200)


def test_the_display_shaped_envelope(sandbox_url: str) -> None:
    _shape(sandbox_url, "display")
    response = bv_exchange(sandbox_url, "never-minted", passkey="wrong")
    assert response.status_code == 401
    body = response.json()
    assert {"Includes", "Results", "Limit", "Offset", "TotalResults"} <= set(body) and body["HasErrors"] is True
    assert body["Errors"][0]["Code"] == "ERROR_PARAM_INVALID_API_KEY"


def test_the_lower_case_envelope(sandbox_url: str) -> None:
    _shape(sandbox_url, "lowercase")
    response = bv_exchange(sandbox_url, "never-minted")
    assert response.status_code == 400
    body = response.json()
    assert body["hasErrors"] is True and body["errors"][0]["code"] == "ERROR_BAD_REQUEST"
    assert isinstance(body["errors"][0]["message"], str) and "HasErrors" not in body


def test_the_envelope_without_a_message(sandbox_url: str) -> None:
    _shape(sandbox_url, "no_message")
    body = bv_exchange(sandbox_url, "never-minted").json()
    assert body["Errors"] == [{"Code": "ERROR_BAD_REQUEST", "Message": None}]


def test_a_body_that_is_not_json(sandbox_url: str) -> None:
    _shape(sandbox_url, "text")
    response = bv_exchange(sandbox_url, "never-minted", passkey="wrong")
    assert response.status_code == 401 and response.headers["Content-Type"].startswith("text/html")
    assert response.text.startswith("<html>")


def test_a_missing_api_version_is_the_generic_bad_request_naming_it(sandbox_url: str) -> None:
    token = mint_bv_token(sandbox_url)["bv_authtoken"]
    response = requests.post(
        f"{sandbox_url}/bazaarvoice/data/authenticateuser.json",
        params={"PassKey": BV_PASSKEY, "authtoken": token},
        timeout=5,
    )
    _classic_error(response, "ERROR_BAD_REQUEST")
    assert response.json()["Errors"][0]["Message"] == "Missing required parameter - apiversion."
    assert bv_exchange(sandbox_url, token).json()["HasErrors"] is False  # the token was not spent


def test_unknown_error_shape_is_refused(sandbox_url: str) -> None:
    response = requests.post(f"{sandbox_url}/_sandbox/bazaarvoice/error_shape", json={"shape": "xml"}, timeout=5)
    assert response.status_code == 400


def test_qpm_headers_count_this_minute(sandbox_url: str) -> None:
    first = bv_exchange(sandbox_url, "x")
    second = bv_exchange(sandbox_url, "y")
    assert first.headers["X-Bazaarvoice-QPM-Allotted"] == "1000"
    before, after = (int(r.headers["X-Bazaarvoice-QPM-Current"]) for r in (first, second))
    assert after == before + 1 or after == 1  # 1: a new minute began between the calls


def test_get_is_not_allowed(sandbox_url: str) -> None:
    response = requests.get(f"{sandbox_url}/bazaarvoice/data/authenticateuser.json", timeout=5)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
