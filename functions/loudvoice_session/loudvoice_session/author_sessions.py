"""LoudVoice author sessions: validate the request, reuse a live session, or start one at LoudVoice and store it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from authhooks import budget
from authhooks.errors import (
    FieldError,
    InvalidRequest,
    NotFound,
    ServiceError,
    StoreUnavailable,
    VendorUnavailable,
)
from authhooks.fields import MISSING, Flag, HttpUrl, Integer, Schema, Text, email, raise_if, uuid, wrong_type
from authhooks.store import Keys, digest, token_store
from authhooks.telemetry import logger, metrics, redactor
from authhooks.vendors import loudvoice
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from loudvoice_session import records

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


@dataclass(frozen=True)
class SessionRequest:
    """A validated ``PUT /loudvoice/sessions``: which author, what to tell LoudVoice, and its fingerprint."""

    author_key: str  # "ref:<reference>", "identity:<token>" or "author:<token>"; only ever stored hashed
    author: dict[str, Any]  # the vendor's author object, defaults resolved
    expires_in: int
    fingerprint: str  # SHA-256 of the canonical metadata: a change means "tell LoudVoice"


@dataclass(frozen=True)
class Started:
    """A session start's outcome: the session record, whether it came from the store, whether LoudVoice
    created the author just now."""

    record: dict[str, Any]  # session_token, expires_at, expires_in, author_created, author
    cached: bool
    created: bool


SESSION = Schema(
    {"expires_in": Integer(MIN_EXPIRES_IN, MAX_EXPIRES_IN, fallback=DEFAULT_EXPIRES_IN, unit="seconds")},
    openapi="AuthorSessionRequest",
    extra=("author",),
)
METADATA_FIELDS = Schema(
    {
        "allow_create_new": Flag(fallback=True),
        "name": Text(MAX_TEXT, required=False),
        "email": email(MAX_EMAIL),
        "description": Text(MAX_DESCRIPTION, minimum=0, required=False),
        "picture_url": HttpUrl(MAX_URL),
        "website_url": HttpUrl(MAX_URL),
    },
    strict=False,
)
BY_SHAPE = {
    "author_reference": Schema(
        {"author_reference": Text(MAX_TEXT), **METADATA_FIELDS.fields}, openapi="AuthorByReference", strict=False
    ),
    "identity_token": Schema(
        {"identity_token": uuid(version4=True, secret=True)}, openapi="AuthorByIdentity", strict=False
    ),
    "author_token": Schema({"author_token": uuid(version4=True, secret=True)}, openapi="AuthorByToken", strict=False),
}
SESSION_TOKEN = uuid(secret=True)


def _shape(author: dict[str, Any], errors: list[FieldError]) -> str | None:
    """The one shape key given, or None after noting why not."""
    given = [key for key in SHAPES if key in author]
    if not given:
        errors.append(FieldError("author", "exactly one of author_reference, identity_token, author_token is required"))
    elif len(given) > 1:
        errors.append(
            FieldError(
                "author",
                f"give exactly one of author_reference, identity_token, author_token, not {' and '.join(given)}",
            )
        )
    return given[0] if len(given) == 1 else None


def parse_request(body: dict[str, Any]) -> SessionRequest:
    """The validated request; an InvalidRequest listing every problem, each with its field path."""
    errors: list[FieldError] = []
    expires_in = SESSION.parse(body, errors).get("expires_in")
    author = body.get("author")
    values: dict[str, Any] = {}
    shape = None
    if "author" not in body:
        errors.append(FieldError("author", "required"))
    elif not isinstance(author, dict):
        errors.append(wrong_type("author", "an object", author))
    else:
        for schema in BY_SHAPE.values():
            schema.register_secrets(author)  # caller-sent tokens: off every log line from here on
        known = (*SHAPES, *METADATA)
        errors.extend(FieldError(f"author.{key}"[:64], "unknown field") for key in author if key not in known)
        shape = _shape(author, errors)
        for key in SHAPES:  # every shape key given has its value checked
            if key in author:
                values.update(BY_SHAPE[key].parse({key: author[key]}, errors, prefix="author."))
        if shape in ("identity_token", "author_token"):
            errors.extend(
                FieldError(f"author.{key}", "only allowed with author_reference") for key in METADATA if key in author
            )
        else:
            values.update(
                METADATA_FIELDS.parse({k: author[k] for k in METADATA if k in author}, errors, prefix="author.")
            )
    raise_if(errors)
    assert isinstance(author, dict) and shape is not None and isinstance(expires_in, int)
    vendor_author: dict[str, Any] = {shape: values[shape]}
    if shape == "author_reference":
        vendor_author["allow_create_new"] = values["allow_create_new"]
        vendor_author.update({key: values[key] for key in METADATA if key in author and key != "allow_create_new"})
    metadata = {key: value for key, value in vendor_author.items() if key != shape}
    canonical = json.dumps({"author": metadata, "expires_in": expires_in}, sort_keys=True, separators=(",", ":"))
    return SessionRequest(
        author_key=f"{_KEY_PREFIX[shape]}:{author[shape]}",
        author=vendor_author,
        expires_in=expires_in,
        fingerprint=digest(canonical),
    )


def check_token(token: str) -> None:
    """A session token from the path (a secret), refused unless it is a UUID."""
    errors: list[FieldError] = []
    if SESSION_TOKEN.check("session_token", token, errors) is MISSING:
        raise InvalidRequest.of([FieldError("session_token", "not a LoudVoice session token (a UUID)")])


def _count_start(outcome: str) -> None:
    with single_metric(name="SessionStarts", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="outcome", value=outcome)


def start(request: SessionRequest) -> Started:
    """A session for the author: from the store when still comfortably valid, else started at LoudVoice and stored.

    One start at a time per author (a lease in the store): concurrent starts with the same metadata make one
    LoudVoice call and answer its session (``cached``); a start with other metadata waits its turn, then tells
    LoudVoice, so the author's session ends as the one LoudVoice confirmed last.
    """
    seen = [records.author_record(request.author_key)]
    stored = _reusable(request, seen[0])
    if stored is not None:
        return stored

    def done() -> Started | None:
        # Read under the lease (or while waiting for it): the work starts from what the last holder wrote.
        seen[0] = records.author_record(request.author_key)
        return _reusable(request, seen[0])

    # The holder cannot outlive its invocation: a lease of the invocation's time left outlasts every holder.
    lease = int(budget.remaining()) + 1
    return token_store().single_flight(
        Keys.lv_lock(request.author_key),
        lease_seconds=lease,
        wait_seconds=lease,
        work=lambda: _start_at_loudvoice(request, seen[0]),
        done=done,
        busy=_start_in_progress,
    )


def _reusable(request: SessionRequest, seen: dict[str, Any] | None) -> Started | None:
    """The author record's session for this metadata when still comfortably valid, as a cached answer."""
    stored = records.reusable_session(seen, request.fingerprint)
    if stored is None:
        return None
    # Nothing slides here: LoudVoice extends a session when the widget uses it, not when we hand it out.
    _count_start("cached")
    logger.info("author session reused", extra={"outcome": "cached"})
    # This request created nothing at LoudVoice, whatever the original start did.
    return Started({**stored, "author_created": False}, cached=True, created=False)


def _end_unkept(token: str) -> None:
    """A session LoudVoice started that the store could not take: end it at LoudVoice now, so that no session
    stays live there that we do not know of (the caller is answered 503 and has no token to end it with)."""
    try:
        loudvoice.client().delete_session(token)
    except NotFound:
        pass
    except ServiceError as exc:
        logger.error("a LoudVoice session we could not store is still live there", extra={"reason": exc.code})
        metrics.add_metric(name="UnkeptSessionsLeftLive", unit=MetricUnit.Count, value=1)
        return
    try:
        records.forget(token)  # the session record may have been written before the store failed
    except ServiceError as exc:
        logger.warning("could not forget the record of an ended session", extra={"reason": exc.code})
    logger.warning("ended at LoudVoice a session the store could not take")
    metrics.add_metric(name="UnkeptSessionsEnded", unit=MetricUnit.Count, value=1)


def _start_in_progress() -> VendorUnavailable:
    return VendorUnavailable(
        "a session for this author is being started right now; try again in a moment", retry_after=1
    )


def _start_at_loudvoice(request: SessionRequest, seen: dict[str, Any] | None) -> Started:
    """Under the author's lease (``seen``: the author record as read under it): start (or update) the session at
    LoudVoice, then store it."""
    session = loudvoice.client().start_session(request.author, request.expires_in)
    redactor.add_request_secrets(session.token)
    expires_at = int(session.date_expiration.timestamp())
    started = {
        "session_token": session.token,
        "expires_in": session.expires_in,
        "author_created": session.author_created,
        "author": {key: getattr(session.author, key) for key in AUTHOR_FIELDS},
    }
    # Only now that LoudVoice said yes: the session first, then the author's pointer to it (conditionally).
    try:
        record = records.save_started(request.author_key, seen, started, request.fingerprint, expires_at)
    except StoreUnavailable:
        kept = (seen or {}).get("session_token")
        if session.token != kept:  # LoudVoice started a new session (not an update of the one we hold)
            _end_unkept(session.token)
        raise
    outcome = "created" if session.author_created else "updated"
    _count_start(outcome)
    logger.info("author session started", extra={"outcome": outcome, "expires_in": session.expires_in})
    return Started({**record, "expires_at": expires_at}, cached=False, created=session.author_created)


def read(token: str) -> dict[str, Any]:
    """The stored session record, or NotFound. A record whose DELETE was left half done is ended first."""
    record = records.session_record(token)
    if record is not None and records.is_ending(record):
        logger.info("finishing an earlier end of this session")
        end(token, finishing=True)
        record = None
    if record is None:
        raise NotFound("no such LoudVoice session (unknown or expired)")
    return record


def end(token: str, *, finishing: bool = False) -> None:
    """End the session at LoudVoice and forget it; already gone (there or here) is fine.

    The store stops handing the session out before LoudVoice is asked (see records.py), so no start racing
    this one is served a session LoudVoice already ended. ``finishing``: an earlier end was left half done.
    """
    ending = records.begin_end(token, marked_before=finishing)
    try:
        loudvoice.client().delete_session(token)
    except NotFound:
        logger.info("author session was already gone at LoudVoice")
    except ServiceError:
        if ending is not None:
            records.undo_end(ending)
        raise
    records.forget(token)
