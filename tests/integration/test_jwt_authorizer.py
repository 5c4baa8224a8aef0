"""The local API in JWT mode (``JwtIssuer`` set): bearer tokens from the sandbox's test issuer, checked as an HTTP API
checks them, over loopback sockets; the functions run in process against moto and the vendor sandboxes.

A refused request answers 401 ``{"message":"Unauthorized"}`` with a ``www-authenticate`` reason and never reaches
a function; an accepted one carries ``requestContext.authorizer.jwt``; the landing routes stay public.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from local.apigateway import HttpApi
from local.jwt_authorizer import JwtCheck, claim_text
from local.runtime import LambdaContext
from local.sandbox import issuer
from local.sandbox.client import SandboxClient
from local.template import JwtAuthorizer
from tests.conftest import Api
from tests.integration.test_caller_kit import readme_block

AUDIENCES = f"{issuer.AUDIENCE},second-backend"
LOGIN = {"account": "demo"}
AUTHOR = {"author": {"author_reference": "JWT-1", "name": "Jay Doe", "email": "jay@example.com"}}


@dataclass
class Gateway:
    url: str
    sandbox: SandboxClient
    invoked: list[dict[str, Any]] = field(default_factory=list)  # the events that reached a function

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.setdefault("Accept", "application/json")
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


def serve(api: Api, sandbox_url: str, parameters: dict[str, str]) -> Iterator[Gateway]:
    gateway = Gateway("", SandboxClient(sandbox_url))

    def invoke(function: str, event: dict[str, Any]) -> Any:
        gateway.invoked.append(event)
        return api.handler(function)(event, LambdaContext(function_name=function))

    server = HttpApi(invoke, api.routes, port=0, parameters=parameters).start()
    gateway.url = server.url
    yield gateway
    server.stop()


@pytest.fixture
def jwt_api(api: Api, sandbox_url: str) -> Iterator[Gateway]:
    """The local API with the server routes behind the sandbox's test issuer."""
    yield from serve(api, sandbox_url, {"JwtIssuer": SandboxClient(sandbox_url).issuer_url, "JwtAudience": AUDIENCES})


@pytest.fixture
def iam_api(api: Api, sandbox_url: str) -> Iterator[Gateway]:
    """The same without JwtIssuer: SigV4 mode (unsigned requests pass locally, with the IAM context)."""
    yield from serve(api, sandbox_url, {})


def _claims(event: dict[str, Any]) -> dict[str, str]:
    return event["requestContext"]["authorizer"]["jwt"]["claims"]


def test_a_valid_token_reaches_livevox_and_loudvoice_with_its_claims_as_text(jwt_api: Gateway) -> None:
    token = jwt_api.sandbox.mint_jwt(sub="site-backend", aud=[issuer.AUDIENCE, "elsewhere"], scope="sessions")
    login = jwt_api.call("POST", "/livevox/sessions", token, json=LOGIN)
    assert login.status_code == 200, login.text
    session_id = login.json()["session_id"]
    assert jwt_api.call("GET", f"/livevox/sessions/{session_id}", token).json()["valid"] is True
    assert jwt_api.call("PUT", "/loudvoice/sessions", token, json=AUTHOR).status_code == 201
    assert jwt_api.sandbox.calls()["livevox.login"] == 1

    authorizer = jwt_api.invoked[0]["requestContext"]["authorizer"]
    assert set(authorizer) == {"jwt"}, "a JWT route carries no IAM context"
    claims = _claims(jwt_api.invoked[0])
    assert claims["sub"] == "site-backend" and claims["scope"] == "sessions"
    assert claims["iss"] == jwt_api.sandbox.issuer_url
    assert claims["aud"] == f"[{issuer.AUDIENCE} elsewhere]", "an array claim as HTTP API renders it"
    assert claims["exp"].isdigit() and int(claims["exp"]) > time.time()
    assert authorizer["jwt"]["scopes"] is None


def test_client_id_stands_for_a_missing_audience(jwt_api: Gateway) -> None:
    token = jwt_api.sandbox.mint_jwt(aud=None, client_id="second-backend")
    assert jwt_api.call("PUT", "/loudvoice/sessions", token, json=AUTHOR).status_code == 201
    # With an aud present, client_id is not looked at.
    token = jwt_api.sandbox.mint_jwt(aud="someone-else", client_id="second-backend")
    assert jwt_api.call("PUT", "/loudvoice/sessions", token, json=AUTHOR).status_code == 401


def test_the_bazaarvoice_user_route_takes_a_bearer_token_and_the_landing_routes_stay_public(jwt_api: Gateway) -> None:
    minted = jwt_api.sandbox.mint_bazaarvoice_token()
    assert jwt_api.call("GET", f"/bazaarvoice/confirm?bv_authtoken={minted['bv_authtoken']}").status_code == 200
    confirmed = jwt_api.call("POST", "/bazaarvoice/confirm", json={"bv_authtoken": minted["bv_authtoken"]})
    assert confirmed.status_code == 200, confirmed.text
    user_id = confirmed.json()["bv_user_id"]
    assert "authorizer" not in jwt_api.invoked[-1]["requestContext"], "the landing routes are public"

    assert jwt_api.call("GET", f"/bazaarvoice/users/{user_id}").status_code == 401
    token = jwt_api.sandbox.mint_jwt()
    found = jwt_api.call("GET", f"/bazaarvoice/users/{user_id}", token)
    assert found.status_code == 200, found.text
    assert found.json()["user_token"] == confirmed.json()["user_token"]
    assert jwt_api.call("DELETE", f"/bazaarvoice/users/{user_id}", token).status_code == 204
    assert jwt_api.call("GET", f"/bazaarvoice/users/{user_id}", token).status_code == 404


def _foreign_token(sandbox: SandboxClient, kid: str) -> str:
    """A well-formed token for the right issuer and audience, signed by a key the issuer never published."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {"iss": sandbox.issuer_url, "aud": issuer.AUDIENCE, "sub": "forger", "iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _tampered(token: str) -> str:
    """The same header and claims with another signature (the issuer's kid kept)."""
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0xFF
    return ".".join([head, body, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")])


def _sigv4_only(url: str) -> dict[str, str]:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="POST", url=url, data=json.dumps(LOGIN))
    SigV4Auth(Credentials("testing", "testing", "testing"), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers)


REFUSALS = {
    "wrong audience": (lambda s: {"token": s.mint_jwt(aud="someone-else")}, "the token does not have a valid audience"),
    "no audience at all": (lambda s: {"token": s.mint_jwt(aud=None)}, "the token does not have a valid audience"),
    "wrong issuer": (
        lambda s: {"token": s.mint_jwt(iss="https://login.example.com/")},
        "the token does not have a valid issuer",
    ),
    "expired": (lambda s: {"token": s.mint_jwt(ttl=-60)}, "the token has expired"),
    "bad signature": (lambda s: {"token": _tampered(s.mint_jwt())}, "the token's signature is invalid"),
    "unknown kid": (
        lambda s: {"token": _foreign_token(s, "not-a-published-kid")},
        "no key of the issuer has kid not-a-published-kid",
    ),
    "not a JWT": (lambda s: {"token": "opaque-access-token"}, "the token is not a JWT"),
    "no Authorization header": (lambda s: {}, "no token in the Authorization header"),
}


@pytest.mark.parametrize("case", [*REFUSALS, "SigV4 only"])
def test_a_refused_token_answers_401_and_never_reaches_the_function(jwt_api: Gateway, case: str) -> None:
    if case == "SigV4 only":
        headers, reason = _sigv4_only(f"{jwt_api.url}/livevox/sessions"), "the token is not a JWT"
        reply = requests.post(f"{jwt_api.url}/livevox/sessions", data=json.dumps(LOGIN), headers=headers, timeout=30)
    else:
        make, reason = REFUSALS[case]
        reply = jwt_api.call("POST", "/livevox/sessions", json=LOGIN, **make(jwt_api.sandbox))
    assert reply.status_code == 401
    assert reply.content == b'{"message":"Unauthorized"}'
    assert reply.headers["www-authenticate"] == f'Bearer scope="" error="invalid_token" error_description="{reason}"'
    assert reply.headers["apigw-requestid"]
    assert jwt_api.invoked == [], "the function must not run"
    assert jwt_api.sandbox.calls().get("livevox.login", 0) == 0


def test_a_symmetric_algorithm_is_refused_even_with_the_right_claims(jwt_api: Gateway) -> None:
    now = int(time.time())
    claims = {"iss": jwt_api.sandbox.issuer_url, "aud": issuer.AUDIENCE, "iat": now, "exp": now + 600}
    token = jwt.encode(claims, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256", headers={"kid": "k"})
    reply = jwt_api.call("PUT", "/loudvoice/sessions", token, json=AUTHOR)
    assert reply.status_code == 401 and "signing method HS256 is invalid" in reply.headers["www-authenticate"]
    assert jwt_api.invoked == []


def test_the_catch_alls_are_behind_the_authorizer_too(jwt_api: Gateway) -> None:
    assert jwt_api.call("GET", "/livevox/elsewhere").status_code == 401
    assert jwt_api.call("GET", "/livevox/elsewhere", jwt_api.sandbox.mint_jwt()).status_code == 404
    assert len(jwt_api.invoked) == 1


def test_sigv4_mode_is_unchanged(iam_api: Gateway) -> None:
    """Without JwtIssuer the server routes take (locally: do not check) SigV4 and carry the IAM context."""
    reply = iam_api.call("POST", "/livevox/sessions", json=LOGIN)
    assert reply.status_code == 200, reply.text
    assert set(iam_api.invoked[0]["requestContext"]["authorizer"]) == {"iam"}


def test_the_issuer_publishes_discovery_and_keys(sandbox_url: str) -> None:
    client = SandboxClient(sandbox_url)
    discovery = requests.get(f"{client.issuer_url}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == client.issuer_url
    (key,) = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig") and "d" not in key, "public parts only"
    token = client.mint_jwt(sub="someone", ttl=120)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "RS256", "kid": key["kid"], "typ": "JWT"}
    claims = jwt.decode(
        token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=issuer.AUDIENCE, issuer=client.issuer_url
    )
    assert claims["sub"] == "someone" and claims["exp"] - claims["iat"] == 120


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("a", "a"),
        (1700000000, "1700000000"),
        (True, "true"),
        (["a", "b"], "[a b]"),
        ({"k": 1}, '{"k":1}'),
    ],
)
def test_claims_reach_the_function_as_text(value: Any, text: str) -> None:
    assert claim_text(value) == text


# --- the README's JWT examples, run as written against the local API in JWT mode ----------------------------


def _run(command: list[str], **env: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_curl_example_sends_a_bearer_token(jwt_api: Gateway) -> None:
    script = readme_block("sh", "curl (`TOKEN` is an access token")
    out = _run(["bash", "-c", script], API_URL=jwt_api.url, TOKEN=jwt_api.sandbox.mint_jwt())
    assert json.loads(out)["session_id"]
    assert _claims(jwt_api.invoked[0])["sub"] == "local-caller"


def test_the_readme_node_example_sends_a_bearer_token(jwt_api: Gateway) -> None:
    code = readme_block("js", "Node (18 or later, no package needed)")
    out = _run(["node", "--input-type=module", "-e", code], API_URL=jwt_api.url, TOKEN=jwt_api.sandbox.mint_jwt())
    answer = json.loads(out)
    assert answer["session_id"] and answer["valid"] is True
    assert [e["routeKey"] for e in jwt_api.invoked] == ["POST /livevox/sessions", "GET /livevox/sessions/{session_id}"]


def test_the_readme_local_walk_through_mints_a_token_and_is_refused_without_it(jwt_api: Gateway) -> None:
    script = readme_block("sh", "and in another terminal mint a token")
    out = _run(["bash", "-c", script], API_URL=jwt_api.url, SANDBOX_URL=jwt_api.sandbox.url).splitlines()
    assert json.loads(out[0])["session_id"] and out[1] == "401"
    assert _claims(jwt_api.invoked[0])["sub"] == "my-backend"
    assert len(jwt_api.invoked) == 1


@pytest.mark.parametrize(
    ("issuer_url", "audience", "problem"),
    [
        ("http://login.example.com/", ("a",), "must be an https URL"),
        ("https://login.example.com/", (), "needs JwtAudience"),
    ],
)
def test_an_issuer_the_stack_cannot_honour_is_refused_at_start(
    issuer_url: str, audience: tuple[str, ...], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        JwtCheck(JwtAuthorizer("JwtAuthorizer", issuer_url, audience))
