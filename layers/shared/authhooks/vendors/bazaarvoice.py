"""Bazaarvoice Conversations API, hosted email authentication (VENDORS.md section 1).

``authenticate_user`` exchanges the one-time auth token from the email link for the user token;
``decode_user_token`` reads the BV user id and the date out of a user token when it has BV's documented shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from aws_lambda_powertools.metrics import MetricUnit

from authhooks import settings
from authhooks.errors import ServiceError, TokenInvalid, VendorRateLimited, VendorRejected, VendorUnavailable
from authhooks.http import CONNECT_ONLY, VendorClient, VendorResponse, cached_client, misconfigured, retry_after
from authhooks.telemetry import logger, metrics, redactor

OPERATION = "authenticateuser"
PATH = "/data/authenticateuser.json"
DAY = 86400
MAX_MAXAGE_DAYS = 36500
# A derived expiry further ahead than this is no lifetime anyone meant: the configured one applies instead.
MAX_LIFETIME_DAYS = 3650
# 32 (MD5) or 64 (HMAC-SHA256, BV's own builder) hex chars of signature, then the hex of the URL-encoded payload.
_SIGNATURES = (32, 64)
_CLAIM_KEYS = frozenset({"userid", "hosted", "date", "maxage", "emailaddress"})
_HEX_PAYLOAD = re.compile(r"(?:[0-9a-fA-F]{2})+")
# The parameters this client sends; BV's generic ERROR_BAD_REQUEST naming any but the token means our request.
_OUR_PARAMETERS = frozenset({"apiversion", "passkey", "authtoken"})
_NAMED_PARAMETER = re.compile(r"parameters?\s*[-:]\s*['\"`]?([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_CONFIGURATION_CODES = frozenset(
    {"ERROR_PARAM_INVALID_API_KEY", "ERROR_ACCESS_DENIED", "ERROR_PARAM_INVALID_PARAMETERS"}
)
# A user id goes into a table key and a URL path: accept only what BV ids look like (UUIDs and the like).
_USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


@dataclass(frozen=True)
class UserTokenClaims:
    """What a user token says about itself; every field is None when the token does not say it."""

    bv_user_id: str | None = None
    issued_on: date | None = None
    maxage_days: int | None = None

    def expires_at(self, now: int, ttl_days: int) -> int:
        """Epoch seconds: the token's date plus its ``maxage`` (or the TTL), else ``now`` plus the TTL.

        A derived expiry already past, or more than MAX_LIFETIME_DAYS ahead, is logged and replaced by the TTL.
        """
        fallback = now + ttl_days * DAY
        if self.issued_on is None:
            return fallback
        start = datetime(self.issued_on.year, self.issued_on.month, self.issued_on.day, tzinfo=UTC)
        try:
            derived = int((start + timedelta(days=self.maxage_days or ttl_days)).timestamp())
        except OverflowError:  # a date near year 9999
            derived = None
        if derived is not None and now < derived <= now + MAX_LIFETIME_DAYS * DAY:
            return derived
        logger.warning(
            "the user token's date gives an expiry we do not believe; using the configured lifetime",
            extra={"issued_on": self.issued_on.isoformat(), "maxage_days": self.maxage_days},
        )
        return fallback


@dataclass(frozen=True)
class AuthenticatedUser:
    """A successful exchange: the user token (a secret) and what it says about itself."""

    user_token: str
    claims: UserTokenClaims


@dataclass(frozen=True)
class Refusal:
    """How an answer failed: the code BV sent (or what we saw instead) and the error to raise."""

    code_seen: str
    exception: ServiceError


def decode_user_token(user_token: str) -> UserTokenClaims:
    """The claims of a token shaped ``<32 or 64 hex><hex of userid=…&hosted=VERIFIED&date=YYYYMMDD[&maxage=N]>``
    (keys in any case, in any order, other keys ignored).

    Never fails: a token of any other shape, or a part that does not parse, yields empty claims for that part.
    """
    for signature in _SIGNATURES:
        fields = _payload(user_token, signature)
        if fields is not None and "userid" in fields:
            break
    else:
        return UserTokenClaims()
    user_id = fields.get("userid", "")
    if not is_user_id(user_id):
        return UserTokenClaims()
    return UserTokenClaims(
        bv_user_id=user_id, issued_on=_date(fields.get("date", "")), maxage_days=_maxage(fields.get("maxage", ""))
    )


def _payload(user_token: str, signature: int) -> dict[str, str] | None:
    """The fields after ``signature`` hex characters of signature (keys lower-cased), or None.

    The payload must be printable ASCII starting with a key of the documented shape: that is what tells a
    32-character signature from a 64-character one.
    """
    head, rest = user_token[:signature], user_token[signature:]
    if len(head) != signature or _HEX_PAYLOAD.fullmatch(head) is None or _HEX_PAYLOAD.fullmatch(rest) is None:
        return None
    try:
        payload = bytes.fromhex(rest).decode("ascii")
        pairs = parse_qsl(payload, keep_blank_values=True, max_num_fields=10)
    except ValueError:  # also UnicodeDecodeError, and more fields than the documented shape has
        return None
    if not payload.isprintable() or not pairs or pairs[0][0].lower() not in _CLAIM_KEYS:
        return None
    return {key.lower(): value for key, value in pairs}


def is_user_id(value: str) -> bool:
    """Whether ``value`` has the shape of a BV user id we would have stored."""
    return _USER_ID.fullmatch(value) is not None


def _date(text: str) -> date | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC).date()
    except ValueError:
        return None


def _maxage(text: str) -> int | None:
    if not re.fullmatch(r"\d{1,6}", text):
        return None
    days = int(text)
    return days if 1 <= days <= MAX_MAXAGE_DAYS else None


class BazaarvoiceClient(VendorClient):
    """``authenticateuser.json``: never retried once the request may have reached BV (a token works once)."""

    vendor = "bazaarvoice"

    def __init__(self, config: settings.Bazaarvoice, common: settings.Common) -> None:
        # CONNECT_ONLY: a blind retry after a lost answer would turn a success into "already used".
        super().__init__(
            config.api_url, connect_timeout=common.connect_timeout, read_timeout=common.read_timeout, retry=CONNECT_ONLY
        )
        self.config = config

    def authenticate_user(self, authtoken: str) -> AuthenticatedUser:
        """Exchange the email link's auth token for the user token."""
        redactor.add_request_secrets(authtoken)
        passkey = settings.secret_text(self.config.secret_name, "passkey")
        params = {"ApiVersion": self.config.api_version, "authtoken": authtoken, "PassKey": passkey}
        where = "data" if self.config.params_in == "form" else "params"
        # Every status is read here: BV's classic error envelope comes with 200 as well as with 4xx/5xx.
        response = self.call(OPERATION, "POST", PATH, accept=range(100, 600), **{where: params})
        record_quota(response)
        answer = read_answer(response)
        if isinstance(answer, Refusal):
            self.count_error(OPERATION, str(response.status))
            raise answer.exception
        redactor.add_request_secrets(answer)
        return AuthenticatedUser(answer, decode_user_token(answer))

    def refusal(self, operation: str, response: VendorResponse) -> ServiceError:
        answer = read_answer(response)
        return answer.exception if isinstance(answer, Refusal) else VendorRejected("Bazaarvoice answered oddly")


def read_answer(response: VendorResponse) -> str | Refusal:
    """The user token of a success; otherwise the taxonomy error for whatever BV sent.

    Every shape BV writes: the problem body (``code`` or ``ERROR_CODE``, ``detail`` or ``message``), the classic
    ``HasErrors`` envelope (display-shaped, lower-case keys, empty or null messages) with any status, and bodies
    that are not JSON (read by their status).
    """
    body = _folded(response.body) if isinstance(response.body, dict) else {}
    code, message = _vendor_error(body)
    seen = code or f"http_{response.status}"
    if response.status >= 500:
        return Refusal(seen, VendorUnavailable("Bazaarvoice failed"))
    if code == "ERROR_REQUEST_LIMIT_REACHED" or (code is None and response.status == 429):
        return Refusal(seen, VendorRateLimited("Bazaarvoice quota reached", retry_after=retry_after(response)))
    if code == "ERROR_BAD_REQUEST":
        named = _parameters_named(message)
        if not named - {"authtoken"}:
            return Refusal(code, TokenInvalid("the link has expired or was already used"))
        # BV's generic code naming one of our own parameters: our request is wrong, not the shopper's link.
        return Refusal(code, _misconfigured(code, response.status, message))
    if code in _CONFIGURATION_CODES or (code is None and response.status in (401, 403, 404)):
        return Refusal(seen, _misconfigured(seen, response.status, message))
    user_token = _user_token(body)
    if code is None and response.status < 400 and user_token is not None:
        return user_token
    # An answer we do not know: the operator must look, the shopper cannot help.
    logger.error(
        "Bazaarvoice refused the exchange",
        extra={"vendor_code": seen, "status": response.status, "vendor_message": message[:200]},
    )
    return Refusal(seen, VendorRejected("Bazaarvoice refused the request"))


def _misconfigured(code: str, status: int, message: str) -> VendorRejected:
    return misconfigured(
        "bazaarvoice",
        OPERATION,
        "Bazaarvoice refused this service's request",
        vendor_code=code,
        status=status,
        vendor_message=message[:200],
    )


def _parameters_named(message: str) -> set[str]:
    """The request parameters a BV message names (ours by name, any after "parameter -"), lower-cased."""
    words = set(re.findall(r"[a-z_]+", message.lower()))
    named = {match.lower() for match in _NAMED_PARAMETER.findall(message)}
    return (words & _OUR_PARAMETERS) | named


def _folded(body: dict[str, Any]) -> dict[str, Any]:
    """A body's top-level keys lower-cased (BV writes ``HasErrors`` and ``hasErrors``)."""
    return {str(key).lower(): value for key, value in body.items()}


def _vendor_error(body: dict[str, Any]) -> tuple[str | None, str]:
    """The first error code and message of a classic (``Errors``) or problem (``code``/``ERROR_CODE``) body."""
    errors = body.get("errors")
    if body.get("haserrors") is True or (isinstance(errors, list) and errors):
        first = _folded(errors[0]) if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        return _text(first.get("code")) or "ERROR_UNKNOWN", _text(first.get("message"))
    code = _text(body.get("code")) or _text(body.get("error_code"))
    if code:
        return code, _text(body.get("detail")) or _text(body.get("message")) or _text(body.get("title"))
    return None, ""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _user_token(body: dict[str, Any]) -> str | None:
    authentication = body.get("authentication")
    user = _folded(authentication).get("user") if isinstance(authentication, dict) else None
    return user if isinstance(user, str) and user else None


def record_quota(response: VendorResponse) -> None:
    """BV's per-minute quota headers, as metrics (how close we run to the limit)."""
    for header, name in (
        ("X-Bazaarvoice-QPM-Allotted", "BazaarvoiceQpmAllotted"),
        ("X-Bazaarvoice-QPM-Current", "BazaarvoiceQpmCurrent"),
    ):
        value = (response.header(header) or "").strip()
        if value.isdigit():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=int(value))


def client() -> BazaarvoiceClient:
    """The container's client for the current settings (built once, reused by warm invocations)."""
    return cached_client(BazaarvoiceClient, settings.bazaarvoice(), settings.common())


def authenticate_user(authtoken: str) -> AuthenticatedUser:
    """Exchange the auth token from the email link, once; see ``BazaarvoiceClient.authenticate_user``."""
    return client().authenticate_user(authtoken)
