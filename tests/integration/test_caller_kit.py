"""The caller kit: a policy on exactly the server routes, the API's ARN, and README examples that really sign.

The README's curl and Python examples run as written against a loopback server that checks each request's
SigV4 signature (computed here from the AWS specification, not by the signer under test).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from local import config, template
from tests.integration.conftest import deployed_resources, sam_transform

README = (template.ROOT / "README.md").read_text(encoding="utf-8")
ARN = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/$default"
REGION, SERVICE = "us-east-1", "execute-api"


def server_routes() -> set[str]:
    """Each SigV4 route a caller uses, as the ARN suffix IAM matches (a path parameter is ``*``)."""
    return {
        f"{ARN}/{r.method}{re.sub(r'{[^}]+}', '*', r.path)}"
        for r in template.routes(template.cached())
        if not r.public and "{proxy+}" not in r.path
    }


@pytest.mark.parametrize("wanted", ["true", "false"])
def test_the_caller_policy_allows_invoke_on_exactly_the_server_routes(wanted: str) -> None:
    parameters = {"CallerPolicy": wanted}
    deployed = deployed_resources(sam_transform(parameters), parameters)
    policies = [r for r in deployed.values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    if wanted == "false":
        assert policies == []
        return
    (policy,) = policies
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert all(s["Effect"] == "Allow" and s["Action"] == "execute-api:Invoke" for s in statements)
    resources = [r["Fn::Sub"] for s in statements for r in s["Resource"]]
    assert sorted(resources) == sorted(server_routes()), "new or removed server routes: update the policy"
    for statement in statements:
        prefix = "/" + statement["Sid"].lower() + "/"
        assert all(prefix in r["Fn::Sub"] for r in statement["Resource"]), "one statement per vendor"


def test_the_outputs_give_the_execute_api_arn_and_the_policy() -> None:
    outputs = template.cached()["Outputs"]
    assert outputs["ApiExecuteArn"]["Value"] == {"Fn::Sub": ARN.removesuffix("/$default")}
    assert outputs["CallerPolicyArn"] == {
        **outputs["CallerPolicyArn"],
        "Condition": "HasCallerPolicy",
        "Value": {"Ref": "ServerRoutesCallerPolicy"},
    }


# --- the README's examples against a server that verifies SigV4 ----------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signature_problem(method: str, target: str, headers: dict[str, str], body: bytes, secret: str) -> str | None:
    """Why a request's SigV4 signature is wrong for execute-api in REGION (None when it is right)."""
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([\w-]+)/([\w-]+)/aws4_request, ?"
        r"SignedHeaders=([\w;-]+), ?Signature=([0-9a-f]{64})",
        headers.get("authorization", ""),
    )
    if not match:
        return f"no SigV4 Authorization header: {headers.get('authorization')!r}"
    _, day, region, service, signed, signature = match.groups()
    if (region, service) != (REGION, SERVICE):
        return f"signed for {service} in {region}"
    stamp = headers.get("x-amz-date", "")
    if not stamp.startswith(day):
        return "X-Amz-Date does not match the credential scope"
    names = signed.split(";")
    if "host" not in names:
        return "the host is not signed"
    url = urlsplit(target)
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl(url.query, keep_blank_values=True))
    )
    canonical = "\n".join(
        [
            method,
            quote(url.path, safe="/-_.~"),
            query,
            *(f"{n}:{' '.join(headers[n].split())}" for n in names),
            "",
            signed,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), day), region), service), "aws4_request")
    expected = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, signature) else "the signature does not match the request"


class VerifyingServer(ThreadingHTTPServer):
    """Answers like the LiveVox routes, and keeps (method, path, problem, token) of each request."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Verify)
        self.seen: list[tuple[str, str, str | None, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Verify(BaseHTTPRequestHandler):
    server: VerifyingServer

    def handle_one(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        secret = config.FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"]
        problem = signature_problem(self.command, self.path, headers, body, secret)
        self.server.seen.append((self.command, self.path, problem, headers.get("x-amz-security-token")))
        answer = json.dumps({"session_id": "sess-1", "valid": True}).encode()
        self.send_response(200 if problem is None else 403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = handle_one

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def verifier() -> Iterator[VerifyingServer]:
    server = VerifyingServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def readme_block(language: str, after: str) -> str:
    """The first fenced ``language`` block of the README after the text ``after``."""
    start = README.index(after)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match, f"no {language} block after {after!r}"
    return match.group(1)


def test_the_signature_check_itself_refuses_a_tampered_request(verifier: VerifyingServer) -> None:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{verifier.url}/livevox/sessions"
    request = AWSRequest(method="POST", url=url, data='{"account": "demo"}')
    SigV4Auth(Credentials("testing", "testing", "testing"), SERVICE, REGION).add_auth(request)
    assert requests.post(url, data='{"account": "demo"}', headers=dict(request.headers), timeout=5).status_code == 200
    assert requests.post(url, data='{"account": "other"}', headers=dict(request.headers), timeout=5).status_code == 403
    assert requests.post(url, data="{}", timeout=5).status_code == 403
    assert [problem for *_, problem, _ in verifier.seen][1:] == [
        "the signature does not match the request",
        "no SigV4 Authorization header: None",
    ]


def test_the_readme_curl_example_signs_for_execute_api(verifier: VerifyingServer) -> None:
    script = readme_block("sh", "curl (7.75 or later")
    env = {**os.environ, "API_URL": verifier.url}
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert verifier.seen == [("POST", "/livevox/sessions", None, config.FAKE_AWS_ENV["AWS_SESSION_TOKEN"])]
    assert json.loads(done.stdout)["session_id"] == "sess-1"


def test_the_readme_python_example_signs_for_execute_api(verifier: VerifyingServer) -> None:
    code = readme_block("python", "Python (botocore's signer")
    exec(compile(code, "README.md", "exec"), {"API_URL": verifier.url})  # the README's own example, as written
    assert verifier.seen == [
        ("POST", "/livevox/sessions", None, "testing"),
        ("GET", "/livevox/sessions/sess-1", None, "testing"),
    ]
