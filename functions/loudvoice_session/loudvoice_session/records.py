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
  session) before it calls LoudVoice, and forgets the session record after; when LoudVoice refused, the mark is
  undone. A mark left behind (the store failed after LoudVoice ended the session) is finished by the next request
  for that session.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
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
    if author is None or author.get(FINGERPRINT) != fingerprint or author.get(FINGERPRINT) == UNLINKED:
        return None
    if int(author["expires_at"]) - token_store().now() < int(author["expires_in"]) / 2:
        return None
    return {**author["session"], "expires_at": author["expires_at"]}


def save_started(author_key: str, seen: Item | None, session: Mapping[str, Any], fingerprint: str,
                 expires_at: int) -> dict[str, Any]:
    """Store a session LoudVoice just started, and point the author record at it unless another write came first.

    ``seen`` is the author record read before the vendor call. Returns the session record as stored.
    """
    store = token_store()
    author_pk = Keys.lv_author(author_key)
    record = {**session, AUTHOR_PK: author_pk}  # lets DELETE find the author record without the (secret) key
    store.put(Keys.lv_session(record[SESSION_TOKEN]), record, expires_at)
    attributes = {SESSION_TOKEN: record[SESSION_TOKEN], FINGERPRINT: fingerprint,
                  "expires_in": record["expires_in"], "session": record, VERSION: _version()}
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


def begin_end(token: str) -> Item | None:
    """Before LoudVoice is asked to end the session: mark its record and unlink the author's pointer to it.

    Returns the marked record, or None when we hold no live record of it.
    """
    store = token_store()
    marked = store.update(Keys.lv_session(token), set={ENDING: True}).item
    if marked is not None and marked.get(AUTHOR_PK):
        _unlink(marked[AUTHOR_PK], require={SESSION_TOKEN: token})
    return marked


def undo_end(token: str) -> None:
    """LoudVoice refused to end the session (it still has it): take the mark back. A failure is logged."""
    try:
        token_store().update(Keys.lv_session(token), set={ENDING: False}, require={ENDING: True})
    except ServiceError as exc:
        logger.warning("could not take back the end mark of a session; the next request finishes the end",
                       extra={"reason": exc.code})


def forget(token: str) -> None:
    """LoudVoice has no such session (any more): drop its record, and the author's pointer if it still names it."""
    old = token_store().delete(Keys.lv_session(token))
    if old is not None and old.get(AUTHOR_PK):
        _unlink(old[AUTHOR_PK], require={SESSION_TOKEN: token})


def _unlink(author_pk: str, require: Mapping[str, Any] | None = None) -> None:
    """No start reuses the author record any more; a new version makes every start that read it before lose."""
    token_store().update(author_pk, set={FINGERPRINT: UNLINKED, VERSION: _version()}, require=require)
