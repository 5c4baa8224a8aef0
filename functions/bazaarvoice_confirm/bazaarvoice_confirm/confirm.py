"""Email confirmation: exchange a Bazaarvoice auth token once, keep the user token until it expires."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from authhooks import settings
from authhooks.api import MAX_BODY_BYTES
from authhooks.errors import FieldError, InvalidRequest, NotFound, TokenInvalid
from authhooks.fields import Schema, Text, raise_if
from authhooks.store import Item, Keys, token_store
from authhooks.telemetry import logger, redactor
from authhooks.vendors import bazaarvoice
from aws_lambda_powertools.metrics import MetricUnit, single_metric

MAX_TOKEN_LENGTH = 512
MAX_RETURN_URL_LENGTH = 2048
CONFIRM_KIND = "bv_confirm"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# What may appear in a return URL: printable ASCII without space, backslash, quotes or angle brackets.
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&()*+,;=%")


@dataclass(frozen=True)
class Confirmation:
    """A confirmed shopper: the user token for later submissions, and until when it is good."""

    bv_user_id: str | None
    user_token: str
    confirmed_at: int
    expires_at: int
    already_confirmed: bool



# The page posts whatever else a form carries: only these two are read.
LINK = Schema({"bv_authtoken": Text(MAX_TOKEN_LENGTH, pattern="\\S", mismatch="required", secret=True),
               "return_to": Text(MAX_BODY_BYTES, minimum=0, required=False, nullable=True)},
              openapi="ConfirmRequest", strict=False)


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
    if scheme not in _DEFAULT_PORTS or not url[len(scheme):].startswith("://"):
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
    """Exchange ``authtoken`` at Bazaarvoice once; a token we already exchanged is answered from the store."""
    store = token_store()
    key = Keys.bv_confirm(authtoken)
    stored = store.get(key)
    if stored is not None:
        return _already_confirmed(stored)
    try:
        user = bazaarvoice.authenticate_user(authtoken)
    except TokenInvalid:
        # A concurrent confirmation of the same link (a double click) may have spent the token a moment ago.
        stored = store.get(key)
        if stored is not None:
            return _already_confirmed(stored)
        _count("rejected")
        raise
    now = store.now()
    expires_at = user.claims.expires_at(now, settings.bazaarvoice().token_ttl_days)
    user_id = user.claims.bv_user_id
    # The confirmation record first: it is what lets the shopper's retry succeed if anything after it fails.
    store.put(key, {"kind": CONFIRM_KIND, "bv_user_id": user_id, "user_token": user.user_token,
                    "confirmed_at": now}, expires_at)
    if user_id is not None:
        store.put(Keys.bv_user(user_id), {"bv_user_id": user_id, "user_token": user.user_token,
                                          "confirmed_at": now}, expires_at)
    else:
        logger.info("user token carries no user id; stored the confirmation only")
    _count("confirmed")
    return Confirmation(user_id, user.user_token, now, expires_at, already_confirmed=False)


def _already_confirmed(stored: Item) -> Confirmation:
    redactor.add_request_secrets(stored["user_token"])
    _count("already_confirmed")
    return Confirmation(stored.get("bv_user_id"), stored["user_token"], int(stored["confirmed_at"]),
                        int(stored["expires_at"]), already_confirmed=True)


def stored_user(bv_user_id: str) -> Item:
    """The stored user record (bv_user_id, user_token, confirmed_at, expires_at) for a BV user id, or a 404."""
    user_id = unquote(bv_user_id)
    # Ids we never store (and keys DynamoDB would refuse) are simply unknown.
    record = token_store().get(Keys.bv_user(user_id)) if bazaarvoice.is_user_id(user_id) else None
    if record is None:
        raise NotFound("no confirmed user with that id")
    redactor.add_request_secrets(record["user_token"])
    return record


def _count(outcome: str) -> None:
    with single_metric(name="BazaarvoiceConfirmations", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome)
