"""Email confirmation: exchange a Bazaarvoice auth token once, keep the user token until it expires."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authhooks import settings
from authhooks.errors import FieldError, InvalidRequest, NotFound, StoreUnavailable, TokenInvalid, VendorUnavailable
from authhooks.fields import Schema, Text, raise_if
from authhooks.store import Item, retrying, token_store
from authhooks.telemetry import logger, metrics, redactor
from authhooks.vendors import bazaarvoice
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from bazaarvoice_confirm import records

MAX_TOKEN_LENGTH = 512
MAX_RETURN_URL_LENGTH = 2048
# Longer return URLs are ignored (never honoured); past this one the field is refused (a link is at most ~10 KB).
MAX_RETURN_FIELD_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What may appear in a return URL: printable ASCII without space, backslash, quotes or angle brackets.
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&()*+,;=%")


@dataclass(frozen=True)
class Confirmation:
    """A confirmed shopper: the user token for later submissions, and until when it is good."""

    bv_user_id: str | None
    user_token: str | None  # only for the exchange that spent the link: it is handed out once
    confirmed_at: int
    expires_at: int
    already_confirmed: bool


# The page posts whatever else a form carries: only these two are read.
LINK = Schema(
    {
        "bv_authtoken": Text(MAX_TOKEN_LENGTH, pattern="\\S", mismatch="required", secret=True),
        "return_to": Text(MAX_RETURN_FIELD_LENGTH, minimum=0, required=False, nullable=True),
    },
    openapi="ConfirmRequest",
    strict=False,
)


def landing_request(values: Mapping[str, Any]) -> tuple[str, str | None]:
    """The ``bv_authtoken`` and the honoured ``return_to`` (or None) of a link or form; a 400 naming every bad field."""
    problems: list[FieldError] = []
    found = LINK.parse(values, problems)
    raise_if(problems)
    return found["bv_authtoken"].strip(), allowed_return_url(found.get("return_to"))


def link_values(values: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """What a failed request's page can offer again (a retry): its token and honoured return URL, if usable."""
    try:
        return landing_request(values)
    except InvalidRequest:
        return None, None


def allowed_return_url(value: str | None) -> str | None:
    """``value`` if it is an http(s) URL with an allow-listed origin; otherwise None (ignored, never followed)."""
    if not value or len(value) > MAX_RETURN_URL_LENGTH:
        return None
    if not set(value) <= _URL_CHARACTERS:
        return None  # control characters, spaces, backslashes, quotes, non-ASCII: never a URL we honour
    origin = _origin(value)
    allowed = {_origin(entry) for entry in settings.bazaarvoice().allowed_return_urls}
    return value if origin is not None and origin in allowed else None


def _origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute http(s) URL without userinfo; None for anything else."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" or "]" (an IPv6 literal gone wrong)
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not url[len(scheme) :].startswith("://"):
        return None  # relative, protocol-relative (//host), javascript:, https:/host and the like
    if "@" in parts.netloc or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    return f"{scheme}://{host}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{host}:{port}"


def confirm(authtoken: str) -> Confirmation:
    """Exchange ``authtoken`` at Bazaarvoice once; a token we exchanged (or that BV refused lately) is answered
    from the store. One exchange per token at a time: a concurrent POST waits for the first one's outcome."""
    settled = _settled(authtoken)
    if settled is not None:
        return settled
    common = settings.common()
    # Held over the vendor call and the writes after it; a holder that dies frees it after this.
    lease = int(common.connect_timeout + common.read_timeout + settings.bazaarvoice().store_retry_seconds) + 1
    return token_store().single_flight(
        records.pending_key(authtoken),
        lease_seconds=lease,
        wait_seconds=lease,
        work=lambda: _exchange(authtoken),
        done=lambda: _settled(authtoken),
        busy=_still_in_progress,
    )


def _settled(authtoken: str) -> Confirmation | None:
    """The answer the store already holds: a confirmation (its user record repaired if lost), a remembered
    refusal (raised), or None."""
    stored = records.confirmation(authtoken)
    if stored is not None:
        user_id = stored.get("bv_user_id")
        if user_id is not None and records.user(user_id) is None and records.restore_user(authtoken, stored):
            logger.warning("restored a user record its confirmation implies (an earlier write was lost)")
            metrics.add_metric(name="UserRecordsRepaired", unit=MetricUnit.Count, value=1)
        _count("already_confirmed")
        return Confirmation(
            user_id, None, int(stored["confirmed_at"]), int(stored["expires_at"]), already_confirmed=True
        )
    if records.refused(authtoken):
        _count("refused_again")
        raise _expired_link()
    return None


def _exchange(authtoken: str) -> Confirmation:
    """The one vendor call for a token, then its records (kept trying: Bazaarvoice will not say yes twice)."""
    try:
        user = bazaarvoice.authenticate_user(authtoken)
    except TokenInvalid:
        records.remember_refusal(authtoken, settings.bazaarvoice().refused_token_minutes)
        _count("rejected")
        raise
    now = token_store().now()
    expires_at = user.claims.expires_at(now, settings.bazaarvoice().token_ttl_days)
    user_id = user.claims.bv_user_id
    if user_id is None:
        logger.info("user token carries no user id; storing the confirmation only")
    try:
        retrying(
            lambda: records.save(authtoken, user_id, user.user_token, now, expires_at),
            seconds=settings.bazaarvoice().store_retry_seconds,
        )
    except StoreUnavailable:
        # Bazaarvoice did confirm: the shopper sees success and the caller still gets the token; the operator is told.
        logger.error(
            "Bazaarvoice confirmed a shopper but the user token could not be stored", extra={"bv_user_id": user_id}
        )
        metrics.add_metric(name="UserTokensNotStored", unit=MetricUnit.Count, value=1)
    _count("confirmed")
    return Confirmation(user_id, user.user_token, now, expires_at, already_confirmed=False)


def _expired_link() -> TokenInvalid:
    return TokenInvalid("the link has expired or was already used")


def _still_in_progress() -> VendorUnavailable:
    return VendorUnavailable("this link is being confirmed right now; try again in a moment", retry_after=2)


def stored_user(bv_user_id: str) -> Item:
    """The stored user record (bv_user_id, user_token, confirmed_at, expires_at) for a BV user id, or a 404."""
    # Ids we never store (and keys DynamoDB would refuse) are simply unknown.
    record = records.user(bv_user_id) if bazaarvoice.is_user_id(bv_user_id) else None
    if record is None:
        raise NotFound("no confirmed user with that id")
    redactor.add_request_secrets(record["user_token"])
    return record


def erase_user(bv_user_id: str) -> None:
    """Forget a shopper: the user record and every confirmation of theirs (nothing there is no error)."""
    if bazaarvoice.is_user_id(bv_user_id):
        removed = records.erase_user(bv_user_id)
        logger.info("erased a Bazaarvoice user's records", extra={"records": removed})


def _count(outcome: str) -> None:
    with single_metric(name="BazaarvoiceConfirmations", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome)
