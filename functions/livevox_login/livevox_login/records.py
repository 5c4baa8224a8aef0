"""The LiveVox record kinds: attribute names, which writes are conditional, and pointer maintenance.

- session record (``Keys.lvx_session(identity)``): the session LiveVox last handed this identity, an HMAC of
  the password that created it, and ``confirmed_at``, the last use LiveVox confirmed (a login or a validate);
  it lives ``SESSION_SECONDS`` (less the margin) from then. Written whole only with a login's answer, under the
  identity's lease; every other change is conditional on its ``session_id``.
- by-id pointer (``Keys.lvx_session_id(session_id)``): ``session_pk``, so GET and DELETE find the record.
  Renewed only while it still points there, so a logout's delete is never undone.
- lease (``Keys.lvx_lock(identity)``): the single flight of logins per identity (``TokenStore.single_flight``).
- refused password (``Keys.lvx_refused(identity, password_mac)``): LiveVox refused this password lately.
- refusal count (``Keys.lvx_refusals(identity)``): refused logins that reached LiveVox in the window; at the limit
  logins of that identity pause until it expires.
"""

from __future__ import annotations

import hmac
from typing import Any

from authhooks import settings
from authhooks.store import Item, Keys, TokenStore
from authhooks.vendors.livevox import LiveVoxLogin

SESSION_SECONDS = 2 * 3600  # LiveVox ends a session after two hours without use
# The by-id record outlives its session record; it is renewed before the session could outlive it.
POINTER_SECONDS = 7 * 86400
_COUNT_ATTEMPTS = 3  # conditional increments that lose a race are retried this often


def same(stored: Any, given: str) -> bool:
    """Constant-time equality of a stored text and a given one."""
    # Bytes: compare_digest refuses non-ASCII text, and a path parameter can hold any.
    return hmac.compare_digest(str(stored or "").encode("utf-8"), given.encode("utf-8"))


def confirmed_at(item: Item) -> int:
    """When LiveVox last confirmed the session (records written before the attribute existed: the login)."""
    stamp: Any = item.get("confirmed_at", item.get("logged_in_at", 0))  # Item values are Any
    return int(stamp)


def expiry(confirmed: int) -> int:
    """When a session LiveVox confirmed at ``confirmed`` stops being handed out (LiveVox's 2 hours less a margin)."""
    return confirmed + SESSION_SECONDS - settings.livevox().session_margin_seconds


def remember(store: TokenStore, session_pk: str, answer: LiveVoxLogin, agent: bool, password_mac: str | None) -> Item:
    """Write what a login answered: the by-id pointer first, so a session record is never unreachable by id."""
    now = store.now()
    pointer_expires_at = now + POINTER_SECONDS
    store.put(Keys.lvx_session_id(answer.session_id), {"session_pk": session_pk}, pointer_expires_at)
    record: Item = {
        "session_id": answer.session_id,
        "client_id": answer.client_id,
        "user_id": answer.user_id,
        "agent": agent,
        "days_until_password_expires": answer.days_until_password_expires,
        "logged_in_at": now,
        "confirmed_at": now,
        "pointer_expires_at": pointer_expires_at,
    }
    if password_mac is not None:
        record["password_mac"] = password_mac
    expires_at = expiry(now)
    # Unconditional on purpose: LiveVox just answered this for the identity, and the lease serialises logins.
    store.put(session_pk, record, expires_at)
    return {**record, "pk": session_pk, "expires_at": expires_at}


def confirm(store: TokenStore, session_pk: str, session_id: str) -> Item | None:
    """LiveVox confirmed a use of the session: it lives on from now, if the record still holds that session."""
    now = store.now()
    updated = store.update(
        session_pk, set={"confirmed_at": now, "expires_at": expiry(now)}, require={"session_id": session_id}
    )
    if updated.item is None:
        return None
    return _keep_pointer(store, session_pk, updated.item)


def _keep_pointer(store: TokenStore, session_pk: str, item: Item) -> Item:
    """Renew the by-id pointer (about once a week of continuous use) before the session could outlive it.

    Both writes are conditional: a pointer a logout deleted stays deleted, and a record a logout deleted (or a
    newer login replaced) is never written back.
    """
    if int(item.get("pointer_expires_at", 0)) > int(item["expires_at"]) + SESSION_SECONDS:
        return item
    pointer_expires_at = store.now() + POINTER_SECONDS
    renewed = store.touch(
        Keys.lvx_session_id(item["session_id"]), pointer_expires_at, require={"session_pk": session_pk}
    )
    if renewed.item is None:
        return item
    updated = store.update(
        session_pk, set={"pointer_expires_at": pointer_expires_at}, require={"session_id": item["session_id"]}
    )
    return updated.item or item


def known(store: TokenStore, session_id: str) -> tuple[str, Item] | None:
    """The key and live record of a session id we handed out, or None."""
    pointer = store.get(Keys.lvx_session_id(session_id))
    if pointer is None:
        return None
    record = store.get(pointer["session_pk"])
    if record is None or not same(record.get("session_id"), session_id):
        return None
    return str(pointer["session_pk"]), record


def forget(store: TokenStore, session_id: str) -> None:
    """Drop the pointer and, when it still holds this session (not a newer one of the same user), the record."""
    pointer = store.delete(Keys.lvx_session_id(session_id))
    if pointer is not None:
        store.delete(pointer["session_pk"], require={"session_id": session_id})


def drop_session(store: TokenStore, session_pk: str, session_id: str) -> None:
    """Forget a cached session LiveVox no longer accepts (only if the record still holds it)."""
    store.delete(session_pk, require={"session_id": session_id})
    store.delete(Keys.lvx_session_id(session_id), require={"session_pk": session_pk})


# --- refusals -----------------------------------------------------------------------------------------


def refused(store: TokenStore, identity: tuple[str, ...], password_mac: str) -> bool:
    """Whether LiveVox refused this (identity, password) within the window."""
    return store.get(Keys.lvx_refused(*identity, password_mac)) is not None


def refusals(store: TokenStore, identity: tuple[str, ...]) -> Item | None:
    """The identity's refusal count in the window (``count``, ``expires_at``), or None."""
    return store.get(Keys.lvx_refusals(*identity))


def refuse(store: TokenStore, identity: tuple[str, ...], password_mac: str, window_seconds: int) -> Item:
    """Remember a refused password and count one refused login; the window runs from the latest refusal."""
    expires_at = store.now() + window_seconds
    store.put(Keys.lvx_refused(*identity, password_mac), {}, expires_at)
    pk = Keys.lvx_refusals(*identity)
    for _ in range(_COUNT_ATTEMPTS):
        current = store.get(pk)
        if current is None:
            if store.put(pk, {"count": 1}, expires_at, only_if_absent=True):
                return {"count": 1, "expires_at": expires_at}
            continue
        count = int(current["count"]) + 1
        bumped = store.update(pk, set={"count": count, "expires_at": expires_at}, require={"count": current["count"]})
        if bumped.item is not None:
            return bumped.item
    raise RuntimeError("the refusal count kept changing under us")  # a bug: logins of one identity hold a lease


def clear_refusals(store: TokenStore, identity: tuple[str, ...], seen: Item) -> None:
    """LiveVox accepted a login, which resets its count of failures: reset ours (unless it moved meanwhile)."""
    store.delete(Keys.lvx_refusals(*identity), require={"count": seen["count"]})
