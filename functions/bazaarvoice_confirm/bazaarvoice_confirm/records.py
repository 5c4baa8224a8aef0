"""The Bazaarvoice records in the token table: what each holds, and which writes are conditional.

- confirmation ``bv#confirm#<digest of the auth token>``: kind, bv_user_id, user_token, confirmed_at; written
  only if absent (a retry after a lost answer finds it there); lives as long as the user token.
- user ``bv#user#<bv user id>``: bv_user_id, user_token, confirmed_at; the latest exchange replaces it, a repair
  from a confirmation writes it only if absent (never over a newer one).
- in progress ``bv#pending#<digest>``: the lease one exchange holds while it calls Bazaarvoice (TokenStore leases).
- refused ``bv#refused#<digest>``: a token Bazaarvoice refused, remembered for a while, so a repeat costs no call.
- a user's confirmations ``bv#userconfirm#<bv user id>``: bv_user_id, confirmations {digest: expires_at}, version;
  what an erasure deletes, found without a scan; every change is conditional on the version it read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authhooks.errors import StoreUnavailable
from authhooks.store import Item, Keys, digest, token_store
from authhooks.telemetry import logger

CONFIRM_KIND = "bv_confirm"
# Concurrent confirmations of one shopper each add to the index; a few rereads settle any realistic race.
_INDEX_ATTEMPTS = 5


def pending_key(authtoken: str) -> str:
    """The lease an exchange of ``authtoken`` holds while it calls Bazaarvoice."""
    return Keys.bv_pending(authtoken)


def confirmation(authtoken: str) -> Item | None:
    """The live confirmation of ``authtoken``, or None."""
    return token_store().get(Keys.bv_confirm(authtoken))


def user(bv_user_id: str) -> Item | None:
    """The live user record (bv_user_id, user_token, confirmed_at, expires_at), or None."""
    return token_store().get(Keys.bv_user(bv_user_id))


def save(authtoken: str, bv_user_id: str | None, user_token: str, confirmed_at: int, expires_at: int) -> None:
    """Every record of a fresh exchange; safe to repeat. The confirmation first: it lets the shopper's retry succeed."""
    store = token_store()
    store.put(
        Keys.bv_confirm(authtoken),
        {"kind": CONFIRM_KIND, "bv_user_id": bv_user_id, "user_token": user_token, "confirmed_at": confirmed_at},
        expires_at,
        only_if_absent=True,
    )
    if bv_user_id is None:
        return
    _index(bv_user_id, digest(authtoken), expires_at)
    store.put(Keys.bv_user(bv_user_id), _user_attributes(bv_user_id, user_token, confirmed_at), expires_at)


def restore_user(authtoken: str, stored: Mapping[str, Any]) -> bool:
    """Write the user record a confirmation implies when it is missing; False when one is there (maybe newer)."""
    bv_user_id = stored["bv_user_id"]
    expires_at = int(stored["expires_at"])
    _index(bv_user_id, digest(authtoken), expires_at)
    return token_store().put(
        Keys.bv_user(bv_user_id),
        _user_attributes(bv_user_id, stored["user_token"], int(stored["confirmed_at"])),
        expires_at,
        only_if_absent=True,
    )


def _user_attributes(bv_user_id: str, user_token: str, confirmed_at: int) -> dict[str, Any]:
    return {"bv_user_id": bv_user_id, "user_token": user_token, "confirmed_at": confirmed_at}


def _index(bv_user_id: str, token_digest: str, expires_at: int) -> None:
    """Add a confirmation to its user's index (dropping expired ones), conditional on the version read."""
    store = token_store()
    key = Keys.bv_user_confirmations(bv_user_id)
    for _ in range(_INDEX_ATTEMPTS):
        current = store.get(key)
        if current is None:
            attributes = {"bv_user_id": bv_user_id, "confirmations": {token_digest: expires_at}, "version": 1}
            if store.put(key, attributes, expires_at, only_if_absent=True):
                return
            continue
        now = store.now()
        kept = {d: int(e) for d, e in current.get("confirmations", {}).items() if int(e) > now}
        kept[token_digest] = expires_at
        version = int(current.get("version", 0))
        changed = store.update(
            key,
            set={"confirmations": kept, "version": version + 1, "expires_at": max(kept.values())},
            require={"version": version},
        )
        if changed.item is not None:
            return
    logger.warning("the user's confirmation index kept changing under us", extra={"attempts": _INDEX_ATTEMPTS})
    raise StoreUnavailable("the token store is busy; try again shortly")


def refused(authtoken: str) -> bool:
    """Whether Bazaarvoice refused ``authtoken`` lately (within the remembered minutes)."""
    return token_store().get(Keys.bv_refused(authtoken)) is not None


def remember_refusal(authtoken: str, minutes: int) -> None:
    """Remember that Bazaarvoice refused ``authtoken``; a store failure is logged (the refusal stands anyway)."""
    store = token_store()
    try:
        store.put(Keys.bv_refused(authtoken), {"kind": "bv_refused"}, store.now() + minutes * 60)
    except StoreUnavailable:
        logger.warning("could not remember a refused token; the next repeat asks Bazaarvoice again")


def erase_user(bv_user_id: str) -> int:
    """Delete a shopper's user record, every indexed confirmation and the index; how many records were there."""
    store = token_store()
    key = Keys.bv_user_confirmations(bv_user_id)
    # A live index goes last (a failure half-way leaves it for the next try); an expired one DynamoDB has not
    # dropped yet still lists records its TTL has not dropped either.
    index = store.get(key) or store.delete(key) or {}
    removed = 0
    for token_digest in index.get("confirmations", {}):
        removed += store.delete(Keys.bv_confirm_of(token_digest)) is not None
    removed += store.delete(Keys.bv_user(bv_user_id)) is not None
    removed += store.delete(key) is not None
    return removed
