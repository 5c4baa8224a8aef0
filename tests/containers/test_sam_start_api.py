"""`sam local start-api` (SAM's own API Gateway emulator, functions in our x86_64 image) against the local stack's
API: the same requests, every route, successes and errors; status, content type and body shape must agree.

Each side starts from the same state (fresh sandboxes, empty table) and runs the same sequence; values one step
takes from an earlier answer (tokens, ids) come from that side's own answers. What still differs is listed in
``INTENDED`` with its reason (the README's list is the same), and the test fails if a difference is not on the list
or a listed one is gone.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from local import sam, template
from local.stack import Stack
from tests.containers.conftest import SETTLE_SECONDS, body_shape
from tests.devserver import free_ports
from tests.e2e.test_fuzz import forget_everything

JSON = {"Accept": "application/json"}
AUTHOR = {"author": {"author_reference": "DIFF-1", "name": "Diff Tester", "email": "diff@example.com"}}
LOGIN = {"client_name": "SANDBOX", "user_name": "diff-agent", "password": "sandbox-password", "agent": True}


@dataclass
class Step:
    """One request; ``request(saved)`` builds (method, path, headers, body) from what earlier steps saved."""

    name: str
    request: Callable[[dict[str, str]], tuple[str, str, dict[str, str], Any]]
    save: dict[str, str] = field(default_factory=dict)  # saved name -> key of this step's JSON answer


def fixed(
    method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
) -> Callable[[dict[str, str]], tuple[str, str, dict[str, str], Any]]:
    return lambda saved: (method, path.format(**saved), headers or {}, body)


STEPS = [
    # Bazaarvoice: public landing routes (HTML and JSON), the IAM user route, the public catch-all.
    Step("confirm page without a token", fixed("GET", "/bazaarvoice/confirm")),
    Step("confirm page", fixed("GET", "/bazaarvoice/confirm?bv_authtoken={bv_authtoken}")),
    Step("confirm (JSON)", fixed("POST", "/bazaarvoice/confirm", JSON, {"bv_authtoken": "{bv_authtoken}"})),
    Step("confirm again (JSON)", fixed("POST", "/bazaarvoice/confirm", JSON, {"bv_authtoken": "{bv_authtoken}"})),
    Step(
        "confirm a token never issued (HTML)",
        fixed("POST", "/bazaarvoice/confirm", {}, "bv_authtoken=never-issued-token"),
    ),
    Step(
        "confirm with a broken body (JSON)",
        fixed("POST", "/bazaarvoice/confirm", {**JSON, "Content-Type": "application/json"}, "{not json"),
    ),
    Step("user token (IAM)", fixed("GET", "/bazaarvoice/users/{bv_user_id}")),
    Step("unknown user (IAM)", fixed("GET", "/bazaarvoice/users/no-such-user")),
    Step("bazaarvoice catch-all", fixed("GET", "/bazaarvoice/elsewhere", JSON)),
    # LoudVoice (IAM): start, cached start, invalid, look up, end, look up the ended one, catch-all.
    Step("start author session", fixed("PUT", "/loudvoice/sessions", {}, AUTHOR), {"session_token": "session_token"}),
    Step("start it again (cached)", fixed("PUT", "/loudvoice/sessions", {}, AUTHOR)),
    Step("start with no author", fixed("PUT", "/loudvoice/sessions", {}, {"expires_in": 600})),
    Step("get author session", fixed("GET", "/loudvoice/sessions/{session_token}")),
    Step("end author session", fixed("DELETE", "/loudvoice/sessions/{session_token}")),
    Step("get the ended session", fixed("GET", "/loudvoice/sessions/{session_token}")),
    Step("loudvoice catch-all", fixed("POST", "/loudvoice/elsewhere", {}, {})),
    # LiveVox (IAM): named account, direct, bad password, SSO, validate, log out, gone, catch-all.
    Step("log in with the named account", fixed("POST", "/livevox/sessions", {}, {"account": "demo"})),
    Step("log in directly", fixed("POST", "/livevox/sessions", {}, LOGIN), {"session_id": "session_id"}),
    Step(
        "log in with a wrong password",
        fixed("POST", "/livevox/sessions", {}, {**LOGIN, "user_name": "other", "password": "wrong"}),
    ),
    Step(
        "SSO login",
        fixed(
            "POST",
            "/livevox/sessions/sso",
            {},
            {"client_name": "SANDBOX", "id_token": "sandbox-id-token:diff-user", "agent": False},
        ),
    ),
    Step("validate session", fixed("GET", "/livevox/sessions/{session_id}")),
    Step("log out", fixed("DELETE", "/livevox/sessions/{session_id}")),
    Step("validate the logged-out session", fixed("GET", "/livevox/sessions/{session_id}")),
    Step("livevox catch-all", fixed("GET", "/livevox/elsewhere")),
    # No route at all.
    Step("no route", fixed("GET", "/nowhere")),
]

# step name -> why SAM's emulator answers otherwise than API Gateway (and so the local stack) does.
_NO_CONTENT = (
    "SAM's start-api adds Content-Type: application/json to an answer whose function set none (our 204s "
    "have no body and no type); the local stack sends only the function's own headers"
)
_NO_ROUTE = (
    "SAM's start-api answers an unmatched path like a REST API (403 'Missing Authentication Token'); "
    "an HTTP API, and the local stack, answer 404"
)
INTENDED = {
    "end author session": _NO_CONTENT,
    "log out": _NO_CONTENT,
    "no route": _NO_ROUTE,
    # The Bazaarvoice catch-all covers /bazaarvoice/confirm only: any other Bazaarvoice path has no route.
    "bazaarvoice catch-all": _NO_ROUTE,
    "user token (IAM)": "SAM's start-api sends no IAM authorizer context, and the user-token route answers only "
    "events that came through its IAM route (the local stack sends the context HTTP APIs send)",
}


@dataclass
class Answer:
    status: int
    content_type: str
    shape: Any
    json: Any


def run_steps(base_url: str, stack: Stack) -> dict[str, Answer]:
    """Every step against ``base_url``, from a fresh state; a new Bazaarvoice token minted for the run."""
    forget_everything(stack)
    minted = requests.post(f"{stack.sandbox_url}/_sandbox/bazaarvoice/tokens", json={}, timeout=10).json()
    saved = {"bv_authtoken": minted["bv_authtoken"], "bv_user_id": minted["bv_user_id"]}
    answers = {}
    for step in STEPS:
        method, path, headers, body = step.request(saved)
        if isinstance(body, dict):
            body = {key: value.format(**saved) if isinstance(value, str) else value for key, value in body.items()}
            response = requests.request(method, base_url + path, json=body, headers=headers, timeout=SETTLE_SECONDS)
        else:
            response = requests.request(method, base_url + path, data=body, headers=headers, timeout=SETTLE_SECONDS)
        content_type = response.headers.get("Content-Type", "")
        parsed = response.json() if "json" in content_type and response.content else None
        answers[step.name] = Answer(
            response.status_code, content_type.split(";", 1)[0], body_shape(content_type, response.text), parsed
        )
        for name, key in step.save.items():
            assert parsed and key in parsed, f"{step.name} via {base_url}: no {key} in {response.text[:300]}"
            saved[name] = parsed[key]
    return answers


@pytest.fixture(scope="module")
def sam_api(sam_x86_64: sam.Setup, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    [port] = free_ports(1)
    log = Path(tmp_path_factory.mktemp("sam-api")) / "start-api.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            sam_x86_64.api_command(port),
            env=sam.sam_environment(),
            cwd=template.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"sam local start-api exited:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"start-api did not listen within 120 s:\n{log.read_text()[-4000:]}"
            try:
                requests.get(f"{url}/nowhere", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.containers
def test_start_api_answers_like_the_local_stack(sam_api: str, shared_stack: Stack) -> None:
    by_sam = run_steps(sam_api, shared_stack)
    by_stack = run_steps(shared_stack.api_url, shared_stack)

    differences = {
        name: (by_stack[name], by_sam[name])
        for name in by_stack
        if (by_stack[name].status, by_stack[name].content_type, by_stack[name].shape)
        != (by_sam[name].status, by_sam[name].content_type, by_sam[name].shape)
    }
    unexplained = {name: pair for name, pair in differences.items() if name not in INTENDED}
    assert not unexplained, "\n".join(
        f"{name}:\n  local stack {pair[0]}\n  sam         {pair[1]}" for name, pair in unexplained.items()
    )
    assert set(differences) == set(INTENDED), f"listed but now equal: {set(INTENDED) - set(differences)}"
    # Not only shapes: the steps did what they say (a run of identical failures would agree too).
    assert by_stack["confirm (JSON)"].json["status"] == "confirmed"
    assert by_stack["confirm again (JSON)"].json["already_confirmed"] is True
    assert by_sam["start it again (cached)"].json["cached"] is True
    assert by_sam["log out"].status == 204 and by_sam["validate the logged-out session"].status == 404
    assert by_sam["no route"].status == 403 and by_stack["no route"].status == 404
