"""LoudVoice's records in the token store: the one place that knows their attributes and how they are written.

``lv#session#<digest(session token)>`` (what ``GET`` answers from): ``session_token``, ``expires_in``,
``author_created``, ``author`` (the vendor's author), ``author_pk``, and ``ending`` (true while a ``DELETE`` of it
is under way or was left half done).

``lv#author#<digest(author key)>`` (what a start reuses): ``session_token``, ``fingerprint`` (of the metadata
LoudVoice confirmed), ``expires_in``, ``session`` (a copy of the session record: a cache hit is one read) and
``version`` (a fresh random value on every write).

Every write that depends on what was read is conditional:

- a start replaces the author record only at the version it read before calling LoudVoice (or only if there was
  none); a start that loses that race cannot know which metadata LoudVoice confirmed last, so it *unlinks* the
  author record (fingerprint cleared, new version) and the next start asks LoudVoice;
- a ``DELETE`` marks the session record ``ending`` and unlinks the author record (only if it still names that
  session, at the version read) before it calls LoudVoice, and forgets both after; when LoudVoice
  refused, both records are put back as they were (unless something newer was written meanwhile). A mark left
  behind (the store failed after LoudVoice ended the session) is finished by the next request for that session.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authhooks.errors import ServiceError
from authhooks.store import Item, Keys, token_store
from authhooks.telemetry import logger

SESSION_TOKEN = "session_token"
FINGERPRINT = "fingerprint"
VERSION = "version"
ENDING = "ending"
AUTHOR_PK = "author_pk"
UNLINKED = ""  # the fingerprint of an author record no request matches


def _version() -> str:
    return secrets.token_hex(8)


def author_record(author_key: str) -> Item | None:
    """The live author record of this author (key as ``SessionRequest.author_key``), or None."""
    return token_store().get(Keys.lv_author(author_key))


def reusable_session(author: Item | None, fingerprint: str) -> dict[str, Any] | None:
    """The author record's session, when its metadata is ``fingerprint`` and at least half its life is left."""
    if author is None or author.get(FINGERPRINT) != fingerprint:  # an unlinked record matches no fingerprint
        return None
    if int(author["expires_at"]) - token_store().now() < int(author["expires_in"]) / 2:
        return None
    return {**author["session"], "expires_at": author["expires_at"]}


def save_started(
    author_key: str, seen: Item | None, session: Mapping[str, Any], fingerprint: str, expires_at: int
) -> dict[str, Any]:
    """Store a session LoudVoice just started, and point the author record at it unless another write came first.

    ``seen`` is the author record read before the vendor call. Returns the session record as stored.
    """
    store = token_store()
    author_pk = Keys.lv_author(author_key)
    record = {**session, AUTHOR_PK: author_pk}  # lets DELETE find the author record without the (secret) key
    store.put(Keys.lv_session(record[SESSION_TOKEN]), record, expires_at)
    attributes = {
        SESSION_TOKEN: record[SESSION_TOKEN],
        FINGERPRINT: fingerprint,
        "expires_in": record["expires_in"],
        "session": record,
        VERSION: _version(),
    }
    if seen is None:
        written = store.put(author_pk, attributes, expires_at, only_if_absent=True)
    else:
        written = store.put(author_pk, attributes, expires_at, require={VERSION: seen.get(VERSION, "")})
    if not written:
        # Another start (or a DELETE) wrote since we read: which metadata LoudVoice holds now is unknown here.
        logger.info("the author record changed during the start; unlinking it so the next start asks LoudVoice")
        try:
            _unlink(author_pk)
        except ServiceError as exc:  # the session itself is stored and valid: a cleanup failure is not the caller's
            logger.warning("could not unlink the author record", extra={"reason": exc.code})
    return record


def session_record(token: str) -> Item | None:
    """The live session record, or None."""
    return token_store().get(Keys.lv_session(token))


def is_ending(record: Mapping[str, Any]) -> bool:
    """Whether a DELETE of this session began and did not finish."""
    return bool(record.get(ENDING))


@dataclass(frozen=True)
class Ending:
    """What ``begin_end`` changed, so that ``undo_end`` can put it back exactly."""

    token: str
    session: Item  # the session record as it was before the mark
    author: Item | None = None  # the author record as it was, when it named this session and was unlinked
    author_version: str | None = None  # the version the unlink wrote


def begin_end(token: str, *, marked_before: bool = False) -> Ending | None:
    """Before LoudVoice is asked to end the session: mark its record and unlink the author's pointer to it.

    Returns what was changed, or None when we hold no live record of the session. ``marked_before``: an earlier
    end was left half done, so an undo keeps the mark (LoudVoice may have ended the session then).
    """
    store = token_store()
    marked = store.update(Keys.lv_session(token), set={ENDING: True}).item
    if marked is None:
        return None
    ending = Ending(token, {key: value for key, value in marked.items() if key != ENDING or marked_before})
    author_pk = marked.get(AUTHOR_PK)
    try:
        author = store.get(author_pk) if author_pk else None
        if not author_pk or author is None or author.get(SESSION_TOKEN) != token:
            return ending
        version = _unlink(author_pk, require={SESSION_TOKEN: token, VERSION: author.get(VERSION, "")})
    except ServiceError:
        undo_end(ending)  # nothing was asked of LoudVoice yet: leave the records as they were
        raise
    return Ending(token, ending.session, author, version) if version else ending


def undo_end(ending: Ending) -> None:
    """LoudVoice refused to end the session (it still has it): put both records back as they were, unless
    something newer was written meanwhile. A failure is logged: the next request for the session finishes the end."""
    store = token_store()
    try:
        store.put(ending.session["pk"], ending.session, ending.session["expires_at"], require={ENDING: True})
        if ending.author is not None:
            store.put(
                ending.author["pk"],
                ending.author,
                ending.author["expires_at"],
                require={VERSION: ending.author_version},
            )
    except ServiceError as exc:
        logger.warning("could not take back the end mark of a session", extra={"reason": exc.code})


def forget(token: str) -> None:
    """LoudVoice has no such session (any more): drop its record, and the author record if it still names it."""
    store = token_store()
    old = store.delete(Keys.lv_session(token))
    if old is not None and old.get(AUTHOR_PK):
        store.delete(old[AUTHOR_PK], require={SESSION_TOKEN: token})


def _unlink(author_pk: str, require: Mapping[str, Any] | None = None) -> str | None:
    """No start reuses the author record any more; a new version makes every start that read it before lose.

    Returns that version, or None when the record was absent or ``require`` did not hold.
    """
    version = _version()
    unlinked = token_store().update(author_pk, set={FINGERPRINT: UNLINKED, VERSION: version}, require=require)
    return version if unlinked.item is not None else None
