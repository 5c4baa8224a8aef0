"""`AUTHHOOKS_PARAMETER_OVERRIDES=... AUTHHOOKS_SECRETS_FILE=... make dev`: vendor calls go where the user said,
with the secrets the user gave, and those secrets appear nowhere in the banner or the logs.

"Staging" here is a vendor of this test's own: a small recording LiveVox on a free port, and a second sandbox
server that accepts only the file's Bazaarvoice PassKey and LoudVoice keys (the stack's own sandbox accepts the
demo ones, so an answer that succeeds proves which secret reached which server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from local import template
from local.sandbox.server import Credentials, SandboxServer
from tests.devserver import free_ports, start_make_dev

SECRETS = {
    "BazaarvoiceSecret": {"passkey": "stg-passkey-7f3a91"},
    "LoudVoiceSecret": {"public_key": "stg-public-5c2e", "private_key": "stg-private-88d1"},
    "LiveVoxSecret": {
        "access_token": "stg-lv-access-41b9",
        "accounts": {
            "staging": {
                "client_name": "STGCLIENT",
                "user_name": "stg-user",
                "password": "stg-password-93aa",
                "agent": False,
            }
        },
    },
}
SECRET_VALUES = ["stg-passkey-7f3a91", "stg-public-5c2e", "stg-private-88d1", "stg-lv-access-41b9", "stg-password-93aa"]


@dataclass
class FakeLiveVox:
    """A LiveVox login endpoint that records every request it gets."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                answer = json.dumps(
                    {"sessionId": "fake-lv-session-1", "clientId": 77, "userId": 4242, "daysUntilPasswordExpires": 40}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Running:
    api_url: str
    sandbox_url: str
    staging_url: str
    livevox: FakeLiveVox
    log: Path


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("real-vendors")
    secrets_file = tmp / "staging-secrets.json"
    secrets_file.write_text(json.dumps(SECRETS), encoding="utf-8")
    livevox = FakeLiveVox()
    livevox_url = livevox.start()
    staging = SandboxServer(
        host="127.0.0.1",
        port=0,
        credentials=Credentials(
            bazaarvoice_passkey=SECRETS["BazaarvoiceSecret"]["passkey"],
            loudvoice_public_key=SECRETS["LoudVoiceSecret"]["public_key"],
            loudvoice_private_key=SECRETS["LoudVoiceSecret"]["private_key"],
        ),
    ).start()
    overrides = (
        f"LiveVoxApiUrl={livevox_url} ParameterKey=BazaarvoiceApiUrl,ParameterValue={staging.url}/bazaarvoice "
        f"LoudVoiceApiUrl='{staging.url}/loudvoice' SiteName=\"Staging shop\""
    )
    log = tmp / "make-dev.log"
    try:
        process, api_url, sandbox_url = start_make_dev(
            log, AUTHHOOKS_PARAMETER_OVERRIDES=overrides, AUTHHOOKS_SECRETS_FILE=str(secrets_file)
        )
    except BaseException:
        staging.stop()
        livevox.stop()
        raise
    try:
        yield Running(api_url, sandbox_url, staging.url, livevox, log)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        staging.stop()
        livevox.stop()


@pytest.mark.devstack
def test_livevox_login_reaches_the_given_url_with_the_given_secret(running: Running) -> None:
    response = requests.post(f"{running.api_url}/livevox/sessions", json={"account": "staging"}, timeout=30)

    assert response.status_code == 200, response.text
    assert response.json()["session_id"] == "fake-lv-session-1"
    [call] = running.livevox.requests
    assert call["path"] == "/session/login"
    assert call["headers"]["LV-Access"] == "stg-lv-access-41b9"
    assert call["body"]["clientName"] == "STGCLIENT" and call["body"]["userName"] == "stg-user"
    assert call["body"]["password"] == "stg-password-93aa"


@pytest.mark.devstack
def test_bazaarvoice_and_loudvoice_reach_staging_with_the_files_keys(running: Running) -> None:
    minted = requests.post(f"{running.staging_url}/_sandbox/bazaarvoice/tokens", json={}, timeout=10).json()
    confirmed = requests.post(
        f"{running.api_url}/bazaarvoice/confirm",
        data={"bv_authtoken": minted["bv_authtoken"]},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    author = {"author": {"author_reference": "STG-1", "name": "Stg User", "email": "stg@example.com"}}
    session = requests.put(f"{running.api_url}/loudvoice/sessions", json=author, timeout=30)

    assert confirmed.status_code == 200, confirmed.text
    assert session.status_code in (200, 201), session.text
    staging_calls = requests.get(f"{running.staging_url}/_sandbox/calls", timeout=10).json()
    assert staging_calls.get("bazaarvoice.authenticateuser", 0) >= 1, staging_calls
    assert any(name.startswith("loudvoice.") for name in staging_calls), staging_calls
    own_sandbox = requests.get(f"{running.sandbox_url}/_sandbox/calls", timeout=10).json()
    vendor_calls = [name for name in own_sandbox if name.startswith(("bazaarvoice.", "loudvoice.", "livevox."))]
    assert not vendor_calls, own_sandbox


@pytest.mark.devstack
def test_banner_names_real_vendors_and_no_secret_appears_anywhere(running: Running) -> None:
    requests.post(f"{running.api_url}/livevox/sessions", json={"account": "staging"}, timeout=30)
    output = running.log.read_text()

    vendors = output.split("Vendors", 1)[1].split("Try it", 1)[0]
    for vendor in ("Bazaarvoice", "LoudVoice", "LiveVox"):
        assert any(line.split()[:2] == [vendor, "REAL:"] for line in vendors.splitlines() if line.strip()), vendors
    assert f"BazaarvoiceApiUrl={running.staging_url}/bazaarvoice" in vendors
    assert "sandbox-bv-passkey" not in output  # no demo credentials for vendors that are not sandboxes
    leaked = [value for value in SECRET_VALUES if value in output]
    assert not leaked, f"secrets in the banner or logs: {leaked}"


def test_a_bad_secrets_file_stops_make_dev_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "secrets.json"
    bad.write_text(json.dumps({"LoudVoiceSecret": {"public_key": "stg-public-5c2e"}}), encoding="utf-8")
    env = {
        **os.environ,
        "AUTHHOOKS_SECRETS_FILE": str(bad),
        "AUTHHOOKS_API_PORT": "0",
        "AUTHHOOKS_DYNAMODB_PORT": "0",
        "AUTHHOOKS_SANDBOX_PORT": "0",
    }

    done = subprocess.run(
        [sys.executable, "-m", "local"],
        check=False,
        cwd=template.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert f"AUTHHOOKS_SECRETS_FILE: {bad}: LoudVoiceSecret: private_key is missing" in done.stderr
    assert "stg-public-5c2e" not in done.stderr + done.stdout


def test_make_invoke_takes_the_same_two_settings(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(json.dumps({"LiveVoxSecret": SECRETS["LiveVoxSecret"]}), encoding="utf-8")
    event = json.loads((template.ROOT / "events" / "livevox_login_account.json").read_text(encoding="utf-8"))
    event["body"] = json.dumps({"account": "staging"})
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event), encoding="utf-8")
    livevox = FakeLiveVox()
    url = livevox.start()
    closed_dynamodb, closed_sandbox = free_ports(2)  # no dev stack there: moto in process
    env = {
        **os.environ,
        "AUTHHOOKS_DYNAMODB_PORT": str(closed_dynamodb),
        "AUTHHOOKS_SANDBOX_PORT": str(closed_sandbox),
        "AUTHHOOKS_PARAMETER_OVERRIDES": f"LiveVoxApiUrl={url}",
        "AUTHHOOKS_SECRETS_FILE": str(secrets_file),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "local.invoke", "LiveVoxLoginFunction", str(event_file)],
            cwd=template.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        livevox.stop()

    assert done.returncode == 0, done.stderr
    assert json.loads(json.loads(done.stdout)["body"])["session_id"] == "fake-lv-session-1"
    [call] = livevox.requests
    assert call["headers"]["LV-Access"] == "stg-lv-access-41b9"
    assert not [value for value in SECRET_VALUES if value in done.stdout + done.stderr]
