"""A test identity provider for the JWT mode: OIDC discovery, a JWKS with one RSA key made at start, and minting.

Served under ``/_sandbox/issuer`` on the sandbox port, so ``JwtIssuer=<sandbox URL>/_sandbox/issuer`` points the local
API's JWT authorizer at it. Its URLs are built from the request's ``Host``: the issuer is whatever address the
caller used, as long as the API's ``JwtIssuer`` names the same one.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PATH = "/_sandbox/issuer"
AUDIENCE = "authhooks-local"  # what the README's `make dev` example sets as JwtAudience
ALGORITHM = "RS256"


def base_url(host: str) -> str:
    """The issuer's URL as seen through ``host`` (a request's Host header)."""
    return f"http://{host}{PATH}"


class TestIssuer:
    """One RSA signing key (2048 bits, a random ``kid``) for the sandbox's lifetime."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = secrets.token_hex(8)

    def discovery(self, issuer: str) -> dict[str, Any]:
        """``/.well-known/openid-configuration``: what an authorizer reads to find the keys."""
        return {
            "issuer": issuer,
            "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
        }

    def jwks(self) -> dict[str, Any]:
        """The public key set."""
        public = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        return {"keys": [{**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}

    def mint(
        self, issuer: str, *, sub: str, audience: str | list[str] | None, ttl: int, extra: dict[str, Any] | None = None
    ) -> str:
        """A signed token: ``iat`` now, ``exp`` ``ttl`` seconds on (negative: already expired)."""
        now = int(time.time())
        claims: dict[str, Any] = {"iss": issuer, "sub": sub, "iat": now, "exp": now + ttl, "jti": secrets.token_hex(8)}
        if audience is not None:
            claims["aud"] = audience
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})
