"""OneAll as it really answers, over HTTP from the sandbox: plan limits, unknown sites, node texts, odd dates,
and error bodies that are not JSON."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from authhooks import settings

from local import config
from local.sandbox.client import SandboxClient
from tests.conftest import Api, AwsBackend
from tests.integration.loudvoice.calls import JOHN, add_fault, session_path, start

Calls = Callable[[], dict[str, int]]
Metrics = Callable[[], list[dict[str, Any]]]


def _problem(reply: Any, status: int, code: str) -> dict[str, Any]:
    assert reply.status == status, reply.text
    assert reply.header("Content-Type") == "application/problem+json"
    problem = reply.json()
    assert problem["code"] == code
    return problem


def _errors(log_lines: list[str]) -> list[dict[str, Any]]:
    return [entry for entry in map(json.loads, log_lines) if entry["level"] == "ERROR"]


def _configuration_errors(metrics: list[dict[str, Any]]) -> list[str]:
    return [blob["vendor"] for blob in metrics if "VendorConfigurationErrors" in blob]


def _wrong_site(sandbox_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the function at a subdomain OneAll does not know (what a wrong LoudVoiceSubdomain does)."""
    monkeypatch.setenv("LOUDVOICE_API_URL", f"{sandbox_url}/loudvoice/sites/no-such-site")
    settings.reset()


def test_a_plan_limit_403_is_rate_limited_not_bad_keys(
    api: Api, sandbox_client: SandboxClient, aws: AwsBackend, lv: Calls, log_lines: list[str], emitted_metrics: Metrics
) -> None:
    token = start(api, JOHN).json()["session_token"]
    emitted_metrics()
    sandbox_client.loudvoice_switches(plan_limit=True)

    started = start(api, {**JOHN, "name": "Johnny"})
    _problem(started, 503, "vendor_rate_limited")
    assert int(started.header("Retry-After")) >= 1
    ended = api.delete(session_path(token))
    _problem(ended, 503, "vendor_rate_limited")

    assert lv() == {"session_start": 2, "session_delete": 1}, "a 403 is not retried"
    assert _errors(log_lines) == [], "a plan limit is not an operator's configuration error"
    assert _configuration_errors(emitted_metrics()) == []
    sandbox_client.loudvoice_switches(plan_limit=False)
    assert api.get(session_path(token)).status == 200, "the refused end left the session as it was"


def test_an_unknown_site_is_a_configuration_error(
    api: Api,
    sandbox_url: str,
    aws: AwsBackend,
    lv: Calls,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: list[str],
    emitted_metrics: Metrics,
) -> None:
    _wrong_site(sandbox_url, monkeypatch)
    emitted_metrics()

    reply = start(api, JOHN)

    problem = _problem(reply, 502, "vendor_rejected")
    assert "site" in problem["detail"]
    assert aws.items() == []
    assert [e["status"] for e in _errors(log_lines)] == [404]
    assert _configuration_errors(emitted_metrics()) == ["loudvoice"]
    assert lv() == {"session_start": 1}


def test_delete_at_an_unknown_site_is_not_a_204(
    api: Api,
    sandbox: Any,
    sandbox_url: str,
    lv: Calls,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: list[str],
    emitted_metrics: Metrics,
) -> None:
    token = start(api, JOHN).json()["session_token"]
    _wrong_site(sandbox_url, monkeypatch)
    emitted_metrics()

    reply = api.delete(session_path(token))

    _problem(reply, 502, "vendor_rejected")
    assert sandbox.state.loudvoice.session(token) is not None, "the widget session is still valid at LoudVoice"
    assert _configuration_errors(emitted_metrics()) == ["loudvoice"]
    assert api.get(session_path(token)).status == 200, "we still hold what LoudVoice still has"
    assert lv() == {"session_start": 1, "session_delete": 1}


def test_delete_of_a_session_loudvoice_really_lacks_is_204(
    api: Api, log_lines: list[str], emitted_metrics: Metrics
) -> None:
    # OneAll's real "not found" names the node: "... no author session has been found for that token".
    emitted_metrics()
    reply = api.delete(session_path(str(uuid.uuid4())))
    assert (reply.status, reply.body) == (204, b"")
    assert _errors(log_lines) == []
    assert _configuration_errors(emitted_metrics()) == []


def test_unknown_author_token_with_oneall_text_is_still_not_found(api: Api, aws: AwsBackend) -> None:
    problem = _problem(start(api, {"author_token": str(uuid.uuid4())}), 404, "not_found")
    assert "no author has been found" in problem["detail"]
    assert aws.items() == []


def test_a_node_error_names_our_field(api: Api, aws: AwsBackend) -> None:
    problem = _problem(start(api, {"author_reference": "USER-NEW"}), 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["author.name"]
    assert "The node [request->author_session->author->name] is invalid" in problem["detail"]


def test_dates_with_numeric_offsets_are_stored_in_utc(api: Api, sandbox: Any) -> None:
    body = start(api, JOHN, expires_in=3600).json()
    vendor = sandbox.state.loudvoice.session(body["session_token"])
    assert vendor.date_expiration.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == body["expires_at"]


@pytest.mark.parametrize(
    "date",
    [
        "Fri, 31 Dec 9999 23:59:59 -0200",
        "Fri, 31 Dec 9999 23:59:59 +0000",
        "Mon, 01 Jan 0001 00:00:00 +0200",
        "Thu, 01 Jan 1970 00:00:00 +0000",
    ],
)
def test_an_extreme_date_expiration_is_clamped_and_never_poisons_the_author(
    date: str, api: Api, sandbox_client: SandboxClient, lv: Calls, log_lines: list[str]
) -> None:
    sandbox_client.loudvoice_switches(date_expiration=date)

    first = start(api, JOHN, expires_in=3600)
    assert first.status == 201, first.text
    expires_at = datetime.strptime(first.json()["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    # Clamped to the session's start + its lifetime.
    assert abs(expires_at.timestamp() - (api.clock.now + 3600)) < 120
    warnings = [json.loads(line) for line in log_lines if json.loads(line)["level"] == "WARNING"]
    assert any("date_expiration" in w["message"] for w in warnings)

    # Every later request for that author and session still works.
    again = start(api, JOHN, expires_in=3600)
    assert (again.status, again.json()["cached"]) == (200, True), again.text
    assert api.get(session_path(first.json()["session_token"])).status == 200
    sandbox_client.loudvoice_switches(date_expiration=None)
    renamed = start(api, {**JOHN, "name": "Johnny"}, expires_in=3600)
    assert renamed.status == 200, renamed.text
    assert api.delete(session_path(first.json()["session_token"])).status == 204
    assert lv()["session_start"] == 2


# Non-JSON refusals (a proxy's HTML page) mean what the same status means with OneAll's envelope.
@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ("bad_keys", 502, "vendor_rejected"),
        ("plan_limit", 502, "vendor_rejected"),  # no info saying "limit exceeded": our plan or keys
        ("rate_limit", 503, "vendor_rate_limited"),
        ("error_500", 503, "vendor_unavailable"),
    ],
)
def test_a_refusal_that_is_not_json_is_mapped_by_its_status(
    setup: str,
    status: int,
    code: str,
    api: Api,
    aws: AwsBackend,
    sandbox_url: str,
    sandbox_client: SandboxClient,
    emitted_metrics: Metrics,
) -> None:
    sandbox_client.loudvoice_switches(plain_errors=True)
    if setup == "bad_keys":
        aws.secretsmanager.put_secret_value(
            SecretId=config.secret_name("LoudVoiceSecret"),
            SecretString=json.dumps({"public_key": "sandbox-public-key", "private_key": "wrong"}),
        )
        settings.reset()
    elif setup == "plan_limit":
        sandbox_client.loudvoice_switches(plan_limit=True)
    else:
        add_fault(sandbox_url, operation="session_start", mode=setup, count=6)
    emitted_metrics()

    reply = start(api, JOHN)

    _problem(reply, status, code)
    assert aws.items() == []
    configuration = ["loudvoice"] if status == 502 else []
    assert _configuration_errors(emitted_metrics()) == configuration


def test_a_404_that_is_not_json_on_delete_is_not_a_204(api: Api, sandbox_client: SandboxClient, lv: Calls) -> None:
    token = start(api, JOHN).json()["session_token"]
    assert api.delete(session_path(token)).status == 204
    sandbox_client.loudvoice_switches(plain_errors=True)
    # LoudVoice's 404 now says nothing about the session: it may be the site that is unknown.
    _problem(api.delete(session_path(token)), 502, "vendor_rejected")
    assert lv() == {"session_start": 1, "session_delete": 2}
