"""An HTTP API JWT authorizer, locally: the bearer token checked as API Gateway checks it, or a 401.

API Gateway's steps (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html): the token
from the identity source (alone or after ``Bearer``), an RSA signature by a key of the issuer's ``jwks_uri`` (from
``{issuer}/.well-known/openid-configuration``) named by the token's ``kid``, ``iss`` equal to the issuer, ``aud``
(or ``client_id`` when there is no ``aud``) one of the audiences, ``exp`` after now, ``nbf`` and ``iat`` before now.
A refusal is ``401 {"message":"Unauthorized"}`` with a ``www-authenticate`` header saying why
(http-api-troubleshooting-jwt.html); the function is never called.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from jwt.algorithms import RSAAlgorithm

from local.template import JwtAuthorizer

# "Currently, only RSA-based algorithms are supported" (the HTTP API JWT authorizer's workflow).
RSA_ALGORITHMS = ("RS256", "RS384", "RS512")
UNAUTHORIZED_BODY = b'{"message":"Unauthorized"}'
_FETCH_SECONDS = 5


class Unauthorized(Exception):
    """A request the authorizer refuses, with the reason API Gateway puts in ``www-authenticate``."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def challenge(self) -> str:
        """The ``www-authenticate`` value (the shape of API Gateway's, e.g. for a wrong audience)."""
        return f'Bearer scope="" error="invalid_token" error_description="{self.description}"'


def claim_text(value: Any) -> str:
    """A claim as HTTP API passes it to the function: every value a string, an array as ``[a b]``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


class JwtCheck:
    """One JWT authorizer: the issuer's keys (fetched once, again for an unknown ``kid``) and the checks."""

    def __init__(self, config: JwtAuthorizer) -> None:
        address = urlsplit(config.issuer)
        # API Gateway takes an https issuer only; plain http is allowed here for the sandbox's test issuer.
        if address.scheme != "https" and address.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"JwtIssuer must be an https URL (or a loopback one locally), not {config.issuer!r}")
        if not config.audience:
            raise ValueError("JwtIssuer needs JwtAudience (one or more audiences, comma-separated)")
        self.config = config
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    def context(self, headers: Mapping[str, str]) -> dict[str, Any]:
        """``requestContext.authorizer.jwt`` for the request (``headers`` lower-cased), or raise Unauthorized."""
        claims = self.claims(headers.get("authorization", ""))
        # No route of the template sets AuthorizationScopes, and then HTTP API passes no scopes.
        return {"claims": {name: claim_text(value) for name, value in claims.items()}, "scopes": None}

    def claims(self, identity: str) -> dict[str, Any]:
        """The token's claims once every check passed."""
        token = identity.strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        if not token:
            raise Unauthorized("no token in the Authorization header")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise Unauthorized("the token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in RSA_ALGORITHMS:
            raise Unauthorized(f"signing method {algorithm} is invalid")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("the token has no kid")
        key = self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                leeway=0,
                options={"verify_aud": False, "verify_iss": False, "require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("the token is not valid yet") from None
        except jwt.MissingRequiredClaimError as missing:
            raise Unauthorized(f"the token has no {missing.claim}") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("the token's signature is invalid") from None
        if claims.get("iss") != self.config.issuer:
            raise Unauthorized("the token does not have a valid issuer")
        # aud when present (a string or a list), client_id only without it.
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        offered = audience if isinstance(audience, list) else [audience]
        if not any(isinstance(a, str) and a in self.config.audience for a in offered):
            raise Unauthorized("the token does not have a valid audience")
        return claims

    def _key(self, kid: str) -> Any:
        with self._lock:
            if kid not in self._keys:
                self._keys = self._fetch_keys()
            if kid not in self._keys:
                raise Unauthorized(f"no key of the issuer has kid {kid}")
            return self._keys[kid]

    def _fetch_keys(self) -> dict[str, Any]:
        """The issuer's RSA signing keys by kid: discovery document, then its ``jwks_uri``."""
        discovery = f"{self.config.issuer.rstrip('/')}/.well-known/openid-configuration"
        try:
            jwks_uri = requests.get(discovery, timeout=_FETCH_SECONDS).json()["jwks_uri"]
            keys = requests.get(jwks_uri, timeout=_FETCH_SECONDS).json()["keys"]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            raise Unauthorized("unable to fetch the issuer's keys") from None
        found = {}
        for key in keys:
            if key.get("kty") == "RSA" and key.get("kid") and key.get("use", "sig") == "sig":
                found[key["kid"]] = RSAAlgorithm.from_jwk(json.dumps(key))
        return found
