"""LoudVoice author sessions: validate the request, reuse a live session, or start one at LoudVoice and store it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from authhooks.api import iso_utc
from authhooks.errors import FieldError, InvalidRequest, NotFound
from authhooks.store import Keys, digest, token_store
from authhooks.telemetry import logger, redactor
from authhooks.vendors import loudvoice
from aws_lambda_powertools.metrics import MetricUnit, single_metric

DEFAULT_EXPIRES_IN = 1209600
MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 31536000
MAX_TEXT = 255
MAX_DESCRIPTION = 2000
MAX_EMAIL = 254
MAX_URL = 2048

SHAPES = ("author_reference", "identity_token", "author_token")
METADATA = ("allow_create_new", "name", "email", "description", "picture_url", "website_url")
AUTHOR_FIELDS = ("author_token", "author_reference", "name", "email", "description", "picture_url", "website_url")
_TOP_LEVEL = ("author", "expires_in")
_KEY_PREFIX = {"author_reference": "ref", "identity_token": "identity", "author_token": "author"}

_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# The HTML5 (WHATWG) address grammar, with a dot required in the domain as LoudVoice requires one.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")


@dataclass(frozen=True)
class SessionRequest:
    """A validated ``PUT /loudvoice/sessions``: which author, what to tell LoudVoice, and its fingerprint."""

    author_key: str  # "ref:<reference>", "identity:<token>" or "author:<token>"; only ever stored hashed
    author: dict[str, Any]  # the vendor's author object, defaults resolved
    expires_in: int
    fingerprint: str  # SHA-256 of the canonical metadata: a change means "tell LoudVoice"


@dataclass(frozen=True)
class Started:
    """The answer to a session start: the docs/api.md body, and whether LoudVoice created the author just now."""

    body: dict[str, Any]
    created: bool


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _wrong_type(field: str, expected: str, value: Any) -> FieldError:
    return FieldError(field, f"expected {expected}, got {_json_type(value)}")


def _string(field: str, value: Any, errors: list[FieldError], *, minimum: int, maximum: int) -> str | None:
    if not isinstance(value, str):
        errors.append(_wrong_type(field, "a string", value))
        return None
    if len(value) < minimum:
        errors.append(FieldError(field, "must not be empty"))
        return None
    if len(value) > maximum:
        errors.append(FieldError(field, f"must be at most {maximum} characters"))
        return None
    return value


def _http_url(field: str, value: Any, errors: list[FieldError]) -> None:
    text = _string(field, value, errors, minimum=1, maximum=MAX_URL)
    if text is None:
        return
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", text):
        errors.append(FieldError(field, "must be an absolute http(s) URL"))


def _check_metadata(author: dict[str, Any], errors: list[FieldError]) -> None:
    if "allow_create_new" in author and not isinstance(author["allow_create_new"], bool):
        errors.append(_wrong_type("author.allow_create_new", "a boolean", author["allow_create_new"]))
    if "name" in author:
        _string("author.name", author["name"], errors, minimum=1, maximum=MAX_TEXT)
    if "email" in author:
        email = _string("author.email", author["email"], errors, minimum=1, maximum=MAX_EMAIL)
        if email is not None and not _EMAIL.fullmatch(email):
            errors.append(FieldError("author.email", "not a valid email address"))
    if "description" in author:
        _string("author.description", author["description"], errors, minimum=0, maximum=MAX_DESCRIPTION)
    for key in ("picture_url", "website_url"):
        if key in author:
            _http_url(f"author.{key}", author[key], errors)


def _check_shape(author: dict[str, Any], errors: list[FieldError]) -> str | None:
    """The one shape key given (its value checked), or None after noting why not."""
    given = [key for key in SHAPES if key in author]
    if not given:
        errors.append(FieldError("author", "exactly one of author_reference, identity_token, author_token is required"))
    elif len(given) > 1:
        errors.append(FieldError("author", f"give exactly one of author_reference, identity_token, author_token, "
                                           f"not {' and '.join(given)}"))
    for key in given:
        field, value = f"author.{key}", author[key]
        if key == "author_reference":
            _string(field, value, errors, minimum=1, maximum=MAX_TEXT)
        elif not isinstance(value, str):
            errors.append(_wrong_type(field, "a string", value))
        elif not _UUID4.fullmatch(value):
            errors.append(FieldError(field, "must be a UUID v4"))
    return given[0] if len(given) == 1 else None


def parse_request(body: dict[str, Any]) -> SessionRequest:
    """The validated request; an InvalidRequest listing every problem, each with its field path."""
    errors: list[FieldError] = []
    errors.extend(FieldError(key, "unknown field") for key in body if key not in _TOP_LEVEL)

    expires_in = body.get("expires_in", DEFAULT_EXPIRES_IN)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        errors.append(_wrong_type("expires_in", "an integer (seconds)", expires_in))
    elif not MIN_EXPIRES_IN <= expires_in <= MAX_EXPIRES_IN:
        errors.append(FieldError("expires_in", f"must be from {MIN_EXPIRES_IN} to {MAX_EXPIRES_IN} seconds"))

    author = body.get("author")
    shape = None
    if "author" not in body:
        errors.append(FieldError("author", "is required"))
    elif not isinstance(author, dict):
        errors.append(_wrong_type("author", "an object", author))
    else:
        known = (*SHAPES, *METADATA)
        errors.extend(FieldError(f"author.{key}", "unknown field") for key in author if key not in known)
        # Caller-sent tokens are secrets: off every log line from here on.
        redactor.add_request_secrets(*(author[k] for k in ("identity_token", "author_token") if k in author))
        shape = _check_shape(author, errors)
        if shape in ("identity_token", "author_token"):
            errors.extend(FieldError(f"author.{key}", "only allowed with author_reference")
                          for key in METADATA if key in author)
        else:
            _check_metadata(author, errors)

    if errors:
        raise InvalidRequest.of(errors)
    assert isinstance(author, dict) and shape is not None and isinstance(expires_in, int)
    vendor_author: dict[str, Any] = {shape: author[shape]}
    if shape == "author_reference":
        vendor_author["allow_create_new"] = author.get("allow_create_new", True)
        vendor_author.update({key: author[key] for key in METADATA if key in author and key != "allow_create_new"})
    metadata = {key: value for key, value in vendor_author.items() if key != shape}
    canonical = json.dumps({"author": metadata, "expires_in": expires_in}, sort_keys=True, separators=(",", ":"))
    return SessionRequest(
        author_key=f"{_KEY_PREFIX[shape]}:{author[shape]}",
        author=vendor_author,
        expires_in=expires_in,
        fingerprint=digest(canonical),
    )


def check_token(token: str) -> None:
    """A session token from the path: registered as a secret, and refused unless it is a UUID."""
    redactor.add_request_secrets(token)
    if not _UUID.fullmatch(token):
        raise InvalidRequest.of([FieldError("session_token", "not a LoudVoice session token (a UUID)")])


def _body(record: dict[str, Any], *, cached: bool) -> dict[str, Any]:
    """The docs/api.md body from a stored session record."""
    return {
        "session_token": record["session_token"],
        "expires_at": iso_utc(record["expires_at"]),
        "expires_in": record["expires_in"],
        "author_created": record["author_created"],
        "cached": cached,
        "author": {key: record["author"].get(key) for key in AUTHOR_FIELDS},
    }


def _count_start(outcome: str) -> None:
    with single_metric(name="SessionStarts", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome)


def _reusable(request: SessionRequest) -> dict[str, Any] | None:
    """The stored session of this author, when the metadata is unchanged and at least half its life is left."""
    store = token_store()
    current = store.get(Keys.lv_author(request.author_key))
    if current is None or current.get("fingerprint") != request.fingerprint:
        return None
    if int(current["expires_at"]) - store.now() < int(current["expires_in"]) / 2:
        return None
    # The author record carries a copy of its session, so a cache hit is one DynamoDB read.
    return {**current["session"], "expires_at": current["expires_at"]}


def start(request: SessionRequest) -> Started:
    """A session for the author: from the store when still comfortably valid, else started at LoudVoice and stored."""
    stored = _reusable(request)
    if stored is not None:
        # Nothing slides here: LoudVoice extends a session when the widget uses it, not when we hand it out.
        _count_start("cached")
        logger.info("author session reused", extra={"outcome": "cached"})
        # This request created nothing at LoudVoice, whatever the original start did.
        return Started({**_body(stored, cached=True), "author_created": False}, created=False)

    session = loudvoice.client().start_session(request.author, request.expires_in)
    redactor.add_request_secrets(session.token)
    expires_at = int(session.date_expiration.timestamp())
    author_pk = Keys.lv_author(request.author_key)
    record = {
        "session_token": session.token,
        "expires_in": session.expires_in,
        "author_created": session.author_created,
        "author": {key: getattr(session.author, key) for key in AUTHOR_FIELDS},
        "author_pk": author_pk,  # lets DELETE find the author record without the (secret) author key
    }
    store = token_store()
    # Only now that LoudVoice said yes: the session first, then the author's pointer to it.
    store.put(Keys.lv_session(session.token), record, expires_at)
    store.put(author_pk, {"session_token": session.token, "fingerprint": request.fingerprint,
                          "expires_in": session.expires_in, "session": record}, expires_at)
    outcome = "created" if session.author_created else "updated"
    _count_start(outcome)
    logger.info("author session started", extra={"outcome": outcome, "expires_in": session.expires_in})
    return Started(_body({**record, "expires_at": expires_at}, cached=False), created=session.author_created)


def read(token: str) -> dict[str, Any]:
    """The stored session (``cached: true``: no vendor call), or NotFound."""
    record = token_store().get(Keys.lv_session(token))
    if record is None:
        raise NotFound("no such LoudVoice session (unknown or expired)")
    return _body(record, cached=True)


def end(token: str) -> None:
    """End the session at LoudVoice and forget it; already gone (there or here) is fine."""
    try:
        loudvoice.client().delete_session(token)
    except NotFound:
        logger.info("author session was already gone at LoudVoice")
    store = token_store()
    old = store.delete(Keys.lv_session(token))
    if old is not None and old.get("author_pk"):
        # Expire the author's pointer only if it still names this session (a newer one may have replaced it).
        store.touch(old["author_pk"], store.now(), require={"session_token": token})
