"""Secret canaries: a whole stack whose every secret is a unique canary, a workload over every route (successes,
refusals, bad input, every vendor fault), then a search for the canaries everywhere they must never be.

Deployment secrets (the PassKey, the LoudVoice key pair, the LV-Access token, the HMAC session key, an account's
password) must appear in no log line, no answer (body or header) and nowhere in the table. What callers send
(passwords, id tokens, auth tokens) and what we hand out (user tokens, session tokens and ids) must appear in no log
line and no table key. The stack's workers write everything they print to a file, which is searched whole.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import requests

from local import config, template
from local.audit import tally
from local.sandbox.client import SandboxClient
from local.sandbox.server import Credentials
from local.stack import Stack
from tests.conftest import ARTIFACT, TEST_OVERRIDES


def _canary(name: str) -> str:
    return f"canary-{name}-{secrets.token_hex(10)}"


PASSKEY = _canary("bv-passkey")
PUBLIC_KEY, PRIVATE_KEY = _canary("lv-public"), _canary("lv-private")
ACCESS_TOKEN, SESSION_KEY = _canary("lvx-access"), _canary("lvx-session-key")
PASSWORD = _canary("lvx-password")  # the named account's, and the one the sandbox accepts from any user
DEPLOYMENT = {
    "PassKey": PASSKEY,
    "LoudVoice public key": PUBLIC_KEY,
    "LoudVoice private key": PRIVATE_KEY,
    "LV-Access token": ACCESS_TOKEN,
    "HMAC session key": SESSION_KEY,
    "account password": PASSWORD,
    "LoudVoice Basic credentials": base64.b64encode(f"{PUBLIC_KEY}:{PRIVATE_KEY}".encode()).decode(),
}
WRONG_PASSWORD = _canary("wrong-password")
ID_TOKEN = f"sandbox-id-token:{_canary('sso-user')}"
SECRETS = {
    "BazaarvoiceSecret": {"passkey": PASSKEY},
    "LoudVoiceSecret": {"public_key": PUBLIC_KEY, "private_key": PRIVATE_KEY},
    "LiveVoxSecret": {
        "access_token": ACCESS_TOKEN,
        "accounts": {
            "canary": {"client_name": "SANDBOX", "user_name": "canary-user", "password": PASSWORD, "agent": False}
        },
    },
    "LiveVoxSessionKeySecret": {"session_key": SESSION_KEY},
}
ACCEPTED = Credentials(
    bazaarvoice_passkey=PASSKEY,
    loudvoice_public_key=PUBLIC_KEY,
    loudvoice_private_key=PRIVATE_KEY,
    livevox_access_token=ACCESS_TOKEN,
    livevox_password=PASSWORD,
)
FAULT_MODES = ("timeout", "error_500", "rate_limit", "garbage", "reset")
JSON_ACCEPT = {"Accept": "application/json"}


@dataclass
class Run:
    """What the workload sent, got and left behind."""

    api_url: str
    sandbox_url: str
    answers: list[tuple[str, requests.Response]] = field(default_factory=list)
    caller_secrets: dict[str, str] = field(default_factory=dict)  # name -> value: never logged, never in a key
    log: str = ""
    items: list[dict[str, Any]] = field(default_factory=list)

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        answer = requests.request(method, f"{self.api_url}{path}", timeout=60, **kwargs)
        route = next(
            (
                f"{r.method} {r.path}"
                for r in ROUTES
                if _matches(r.path, path.split("?", maxsplit=1)[0]) and r.method == method
            ),
            f"{method} {path}",
        )
        self.answers.append((route, answer))
        return answer

    @property
    def sandbox(self) -> SandboxClient:
        return SandboxClient(self.sandbox_url)

    def fault(self, vendor: str, operation: str, mode: str) -> None:
        self.sandbox.fault(vendor, operation, mode, count=10, seconds=3)

    def clear_faults(self) -> None:
        self.sandbox.clear_faults()


# The catch-alls ({proxy+} paths, ANY methods) only answer 404/405.
ROUTES = [r for r in template.routes(template.cached()) if "{proxy+}" not in r.path and r.method != "ANY"]


def _matches(pattern: str, path: str) -> bool:
    parts, given = pattern.strip("/").split("/"), path.strip("/").split("/")
    return len(parts) == len(given) and all(p.startswith("{") or p == g for p, g in zip(parts, given, strict=True))


def _bazaarvoice(run: Run) -> None:
    tokens = [run.sandbox.mint_bazaarvoice_token()["bv_authtoken"] for _ in range(3)]
    run.caller_secrets.update({f"auth token {i}": token for i, token in enumerate(tokens)})
    run.send("GET", f"/bazaarvoice/confirm?{urlencode({'bv_authtoken': tokens[0]})}")
    run.send("GET", "/bazaarvoice/confirm", headers=JSON_ACCEPT)  # no token: 400
    confirmed = run.send("POST", "/bazaarvoice/confirm", json={"bv_authtoken": tokens[0]}, headers=JSON_ACCEPT).json()
    run.caller_secrets["user token"] = confirmed["user_token"]
    run.send("POST", "/bazaarvoice/confirm", data={"bv_authtoken": tokens[0]})  # again: from the store
    run.send("POST", "/bazaarvoice/confirm", data={"bv_authtoken": _canary("never-minted")})
    for mode in FAULT_MODES:
        run.fault("bazaarvoice", "authenticateuser", mode)
        run.send("POST", "/bazaarvoice/confirm", json={"bv_authtoken": tokens[1]}, headers=JSON_ACCEPT)
        run.send("POST", "/bazaarvoice/confirm", data={"bv_authtoken": tokens[2]})
        run.clear_faults()
    run.send("POST", "/bazaarvoice/confirm", data={f"f{i}": tokens[2] for i in range(30)})  # too many fields
    run.send("GET", f"/bazaarvoice/users/{confirmed['bv_user_id']}")
    run.send("GET", "/bazaarvoice/users/nobody")
    run.send("DELETE", f"/bazaarvoice/users/{confirmed['bv_user_id']}")  # erasure


def _loudvoice(run: Run) -> None:
    author = {"author": {"author_reference": "CANARY-1", "name": "Canary", "email": "canary@example.com"}}
    started = run.send("PUT", "/loudvoice/sessions", json=author).json()
    run.send("PUT", "/loudvoice/sessions", json=author)  # cached
    identity = run.sandbox.mint_loudvoice_identity()
    run.caller_secrets.update({"identity token": identity, "author token": started["author"]["author_token"]})
    by_identity = run.send("PUT", "/loudvoice/sessions", json={"author": {"identity_token": identity}}).json()
    run.send("PUT", "/loudvoice/sessions", json={"author": {"author_token": started["author"]["author_token"]}})
    run.send("PUT", "/loudvoice/sessions", json={"author": {"identity_token": str(uuid.uuid4())}})  # unknown: 404
    run.send("PUT", "/loudvoice/sessions", json={"author": {"author_reference": "X", "email": "not-an-email"}})
    for mode in FAULT_MODES:
        run.fault("loudvoice", "session_start", mode)
        run.send("PUT", "/loudvoice/sessions", json={"author": {"author_reference": "CANARY-2", "name": "Two"}})
        run.clear_faults()
    for token in (started["session_token"], by_identity["session_token"]):
        run.caller_secrets[f"session token {token[:8]}"] = token
        run.send("GET", f"/loudvoice/sessions/{token}")
    for mode in FAULT_MODES:
        run.fault("loudvoice", "session_delete", mode)
        run.send("DELETE", f"/loudvoice/sessions/{by_identity['session_token']}")
        run.clear_faults()
    run.send("DELETE", f"/loudvoice/sessions/{started['session_token']}")
    run.send("GET", f"/loudvoice/sessions/{started['session_token']}")  # gone: 404
    run.send("GET", "/loudvoice/sessions/not-a-token")


def _livevox(run: Run) -> None:
    run.caller_secrets.update({"wrong password": WRONG_PASSWORD, "SSO id token": ID_TOKEN})
    direct = {"client_name": "SANDBOX", "user_name": "canary-direct", "password": PASSWORD}
    account = run.send("POST", "/livevox/sessions", json={"account": "canary"}).json()
    run.send("POST", "/livevox/sessions", json={"account": "canary"})  # cached
    session = run.send("POST", "/livevox/sessions", json=direct).json()
    run.send("POST", "/livevox/sessions", json={**direct, "password": WRONG_PASSWORD})  # cached, wrong password: 401
    run.send("POST", "/livevox/sessions", json={**direct, "user_name": "other", "password": WRONG_PASSWORD})
    run.send("POST", "/livevox/sessions", json={**direct, "user_name": "expired-canary"})  # 403
    run.send("POST", "/livevox/sessions", json={"account": "nobody"})  # 404
    run.send("POST", "/livevox/sessions", json={**direct, "extra": PASSWORD})  # 400 (unknown field)
    run.send(
        "POST",
        "/livevox/sessions",
        data=json.dumps(direct).replace("canary-direct", "\\ud800"),
        headers={"Content-Type": "application/json"},
    )  # 400 (a lone surrogate)
    sso = run.send("POST", "/livevox/sessions/sso", json={"client_name": "SANDBOX", "id_token": ID_TOKEN}).json()
    run.send("POST", "/livevox/sessions/sso", json={"client_name": "SANDBOX", "id_token": WRONG_PASSWORD})  # 401
    for name, value in (("account", account), ("direct", session), ("sso", sso)):
        run.caller_secrets[f"session id {name}"] = value["session_id"]
    for operation, call in (
        ("login", lambda: run.send("POST", "/livevox/sessions", json={**direct, "user_name": "canary-fault"})),
        (
            "sso_login",
            lambda: run.send("POST", "/livevox/sessions/sso", json={"client_name": "SANDBOX", "id_token": ID_TOKEN}),
        ),
        ("validate", lambda: run.send("GET", f"/livevox/sessions/{session['session_id']}")),
        ("logout", lambda: run.send("DELETE", f"/livevox/sessions/{session['session_id']}")),
    ):
        for mode in FAULT_MODES:
            run.fault("livevox", operation, mode)
            call()
            run.clear_faults()
    run.send("GET", f"/livevox/sessions/{account['session_id']}")
    run.send("DELETE", f"/livevox/sessions/{sso['session_id']}")
    run.send("GET", f"/livevox/sessions/{sso['session_id']}")  # gone: 404
    run.send("DELETE", f"/livevox/sessions/{quote('no-such-session', safe='')}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The canary stack, the workload, then everything it left: the workers' output, the gateway's log, the table."""
    worker_log = tmp_path_factory.mktemp("canaries") / "workers.log"
    gateway_lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            gateway_lines.append(self.format(record))

    capture = Capture(level=logging.DEBUG)
    local_logger = logging.getLogger("local")
    previous_level = local_logger.level
    local_logger.addHandler(capture)
    local_logger.setLevel(logging.DEBUG)
    try:
        with Stack(
            api_port=0,
            dynamodb_port=0,
            sandbox_port=0,
            artifact=ARTIFACT,
            parameter_overrides={**TEST_OVERRIDES, "LogLevel": "DEBUG"},
            secrets=SECRETS,
            sandbox_credentials=ACCEPTED,
            worker_log=worker_log,
        ) as stack:
            workload = Run(stack.api_url, stack.sandbox_url)
            _bazaarvoice(workload)
            _loudvoice(workload)
            _livevox(workload)
            scan = stack.client("dynamodb").get_paginator("scan").paginate(TableName=config.TABLE_NAME)
            workload.items = [item for page in scan for item in page["Items"]]
    finally:
        local_logger.removeHandler(capture)
        local_logger.setLevel(previous_level)
    workload.log = Path(worker_log).read_text(encoding="utf-8", errors="replace") + "\n".join(gateway_lines)
    for figure, count in (
        ("values", len(DEPLOYMENT) + len(workload.caller_secrets)),
        ("log_lines", len(workload.log.splitlines())),
        ("answers", len(workload.answers)),
        ("items", len(workload.items)),
    ):
        tally(f"canaries.{figure}", count=count)
    yield workload


def _leaks(places: dict[str, str], canaries: dict[str, str]) -> list[str]:
    found = [
        f"{name} in {where}"
        for where, text in places.items()
        for name, value in canaries.items()
        if value in text or json.dumps(value)[1:-1] in text
    ]
    tally("canaries.leaked", count=len(found))
    return found


def test_the_workload_reached_every_route_and_every_kind_of_answer(run: Run) -> None:
    routes = {route for route, _ in run.answers}
    assert routes == {f"{r.method} {r.path}" for r in ROUTES}
    statuses = {answer.status_code for _, answer in run.answers}
    assert {200, 201, 204, 400, 401, 403, 404, 502, 503, 504} <= statuses, statuses
    assert 500 not in statuses
    for route in routes:
        tally("canaries.routes", route)


def test_the_search_sees_the_logs(run: Run) -> None:
    """The canaries can only be missing from lines that were written: the workers and the gateway did log."""
    assert run.log.count('"message":"vendor call"') >= 20
    assert "answered with a server-side error" in run.log
    assert "PUT /loudvoice/sessions -> 201" in run.log  # the gateway's access lines


def test_no_deployment_secret_in_any_log_line(run: Run) -> None:
    assert _leaks({"the log": run.log}, DEPLOYMENT) == []


def test_no_deployment_secret_in_any_answer(run: Run) -> None:
    places = {
        f"answer {i} to {route}": f"{answer.status_code} {dict(answer.headers)!r}\n{answer.text}"
        for i, (route, answer) in enumerate(run.answers)
    }
    assert _leaks(places, DEPLOYMENT) == []


def test_no_deployment_secret_anywhere_in_the_table(run: Run) -> None:
    places = {item["pk"]["S"]: json.dumps(item) for item in run.items}
    assert len(places) >= 6
    assert _leaks(places, DEPLOYMENT) == []


def test_no_caller_or_issued_secret_in_any_log_line(run: Run) -> None:
    assert len(run.caller_secrets) >= 10
    assert _leaks({"the log": run.log}, run.caller_secrets) == []


def test_no_caller_or_issued_secret_in_any_table_key(run: Run) -> None:
    keys = {item["pk"]["S"]: item["pk"]["S"] for item in run.items}
    assert _leaks(keys, run.caller_secrets) == []


def test_no_password_or_id_token_in_any_answer_or_item(run: Run) -> None:
    sent = {name: value for name, value in run.caller_secrets.items() if "password" in name or "id token" in name}
    places = {f"answer {i}": answer.text for i, (_, answer) in enumerate(run.answers)}
    places.update({item["pk"]["S"]: json.dumps(item) for item in run.items})
    assert _leaks(places, sent) == []
