"""LiveVox sessions: reuse behind a password check, one login per account under concurrency, SSO, validate, logout.

A session record is keyed by who logs in (host, LV-Access fingerprint, client, user, agent flag) and
holds an HMAC of the password that created it; a by-id record points from the session id back to it,
so GET and DELETE can find it.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authhooks import settings
from authhooks.api import iso_utc
from authhooks.errors import FieldError, InternalError, InvalidRequest, NotFound, Unauthorized, VendorUnavailable
from authhooks.store import Item, Keys, TokenStore, token_store
from authhooks.telemetry import logger, metrics, redactor
from authhooks.vendors import livevox
from authhooks.vendors.livevox import LiveVoxLogin
from aws_lambda_powertools.metrics import MetricUnit

SESSION_SECONDS = 2 * 3600  # LiveVox ends a session after two hours without use
# The by-id record outlives its session record; it is renewed before the session could outlive it.
POINTER_SECONDS = 7 * 86400
EXPIRING_SOON_DAYS = 7
MAX_NAME = 255
MAX_ID_TOKEN = 8192
CREDENTIAL_FIELDS = ("client_name", "user_name", "password", "agent")
SSO_FIELDS = ("client_name", "id_token", "agent")


@dataclass(frozen=True)
class Credentials:
    """A direct login: LiveVox client code, user name, password, and whether the user is an agent."""

    client_name: str
    user_name: str
    password: str
    agent: bool


@dataclass(frozen=True)
class Account:
    """A login with a credential set kept in the LiveVox secret."""

    name: str


@dataclass(frozen=True)
class SsoCredentials:
    """A login with an OpenID Connect id token from the customer's identity provider."""

    client_name: str
    id_token: str
    agent: bool


@dataclass(frozen=True)
class Session:
    """What a login answers (docs/api.md, LiveVox)."""

    session_id: str
    client_id: int | None
    user_id: int | None
    agent: bool
    expires_at: int
    days_until_password_expires: int | None
    cached: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "client_id": self.client_id,
            "user_id": self.user_id,
            "agent": self.agent,
            "expires_at": iso_utc(self.expires_at),
            "days_until_password_expires": self.days_until_password_expires,
            "cached": self.cached,
        }


# --- requests -------------------------------------------------------------------------------------

def caller_secrets(body: dict[str, Any]) -> list[Any]:
    """The values in a request body that must never reach a log line."""
    return [body.get("password"), body.get("id_token")]


def login_request(body: dict[str, Any]) -> Credentials | Account:
    """Direct credentials or a named account, or a 400 naming every field that is wrong."""
    problems = _unknown_fields(body, ("account", *CREDENTIAL_FIELDS))
    if "account" in body:
        given = [name for name in CREDENTIAL_FIELDS if name in body]
        if given:
            problems.append(FieldError("account", f"give either account or {', '.join(given)}, not both"))
        name = _text(body, "account", problems)
        _raise_if(problems)
        return Account(name)
    client_name = _text(body, "client_name", problems)
    user_name = _text(body, "user_name", problems)
    password = _text(body, "password", problems)
    agent = _flag(body, "agent", problems)
    _raise_if(problems)
    return Credentials(client_name, user_name, password, agent)


def sso_request(body: dict[str, Any]) -> SsoCredentials:
    """An SSO login body, or a 400 naming every field that is wrong."""
    problems = _unknown_fields(body, SSO_FIELDS)
    client_name = _text(body, "client_name", problems)
    id_token = _text(body, "id_token", problems, limit=MAX_ID_TOKEN)
    agent = _flag(body, "agent", problems)
    _raise_if(problems)
    return SsoCredentials(client_name, id_token, agent)


def _unknown_fields(body: dict[str, Any], known: tuple[str, ...]) -> list[FieldError]:
    return [FieldError(name[:64], "unknown field") for name in body if name not in known]


def _text(body: dict[str, Any], name: str, problems: list[FieldError], limit: int = MAX_NAME) -> str:
    value = body.get(name)
    if name not in body or value is None:
        problems.append(FieldError(name, "required"))
    elif not isinstance(value, str):
        problems.append(FieldError(name, "must be a string"))
    elif not value:
        problems.append(FieldError(name, "must not be empty"))
    elif len(value) > limit:
        problems.append(FieldError(name, f"must be at most {limit} characters"))
    else:
        return value
    return ""


def _flag(body: dict[str, Any], name: str, problems: list[FieldError]) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        problems.append(FieldError(name, "must be true or false"))
        return False
    return value


def _raise_if(problems: list[FieldError]) -> None:
    if problems:
        raise InvalidRequest.of(problems)


# --- login ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Deployment:
    """What every login needs from the secret: the LV-Access token's fingerprint and the HMAC key."""

    secret: dict[str, Any]
    session_key: bytes
    access_fingerprint: str

    @classmethod
    def load(cls) -> _Deployment:
        config = settings.livevox()
        secret = settings.secret(config.secret_name)
        key = settings.secret(config.session_key_secret_name).get("session_key")
        access_token = secret.get("access_token")
        if not isinstance(key, str) or not key or not isinstance(access_token, str):
            raise InternalError("the LiveVox secrets lack session_key or access_token")
        session_key = key.encode("utf-8")
        # A fingerprint, so that a rotated token starts new sessions and the token never reaches a key.
        fingerprint = hmac.new(session_key, access_token.encode("utf-8"), hashlib.sha256).hexdigest()[:16]
        return cls(secret, session_key, fingerprint)

    def mac(self, password: str) -> str:
        return hmac.new(self.session_key, password.encode("utf-8"), hashlib.sha256).hexdigest()

    def account(self, name: str) -> Credentials:
        accounts = self.secret.get("accounts")
        entry = accounts.get(name) if isinstance(accounts, dict) else None
        if entry is None:
            raise NotFound("account: no credential set with that name",
                           errors=[FieldError("account", "no credential set with that name")])
        agent = entry.get("agent", False) if isinstance(entry, dict) else None
        try:
            if not isinstance(entry, dict) or not isinstance(agent, bool):
                raise ValueError("agent")
            return Credentials(_stored_text(entry, "client_name"), _stored_text(entry, "user_name"),
                               _stored_text(entry, "password"), agent)
        except ValueError as exc:
            logger.error("LiveVox credential set is malformed", extra={"account": name, "field": str(exc)})
            raise InternalError("a LiveVox credential set is malformed") from exc

    def identity(self, client_name: str, principal: str, kind: str) -> tuple[str, ...]:
        """Key parts, each percent-encoded so that no two identities join to the same text."""
        parts = (settings.livevox().api_url, self.access_fingerprint, client_name, principal, kind)
        return tuple(quote(part, safe="") for part in parts)


def _stored_text(entry: dict[str, Any], name: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(name)
    return value


def log_in(request: Credentials | Account) -> Session:
    """A session for these credentials: the cached one when the password matches, else one login."""
    deployment = _Deployment.load()
    credentials = request if isinstance(request, Credentials) else deployment.account(request.name)
    # User names are case-sensitive at LiveVox for users, not for agents.
    principal = credentials.user_name.lower() if credentials.agent else credentials.user_name
    identity = deployment.identity(credentials.client_name, principal, "agent" if credentials.agent else "user")
    session_pk = Keys.lvx_session(*identity)
    mac = deployment.mac(credentials.password)
    store = token_store()
    return _reuse(store, session_pk, mac) or _single_flight(store, identity, session_pk, mac, credentials)


def _reuse(store: TokenStore, session_pk: str, mac: str) -> Session | None:
    """The live session for this key, slid forward, in one conditional write; 401 if the password differs."""
    touched = store.touch(session_pk, _session_expiry(store), require={"password_mac": mac})
    if touched.blocked_by is not None:
        # Never the cached session: the caller has not proven the password that created it.
        raise Unauthorized("the password does not match the one this session was created with")
    if touched.item is None:
        return None
    days = _days_left(store, touched.item)
    if days is not None and days <= 0:
        # LiveVox ends every session when the password expires, which it said happens about now: ask it again
        # (a fresh session if the password was changed, password_expired if not), never hand out a dead one.
        logger.info("cached LiveVox session outlived its password's announced expiry; logging in again")
        return None
    metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
    _keep_pointer(store, session_pk, touched.item)
    return _answer(store, touched.item, cached=True)


def _single_flight(store: TokenStore, identity: tuple[str, ...], session_pk: str, mac: str,
                   credentials: Credentials) -> Session:
    """Exactly one login per account at a time: the lease holder logs in, the others wait for its session."""
    config = settings.livevox()
    lock_pk = Keys.lvx_lock(*identity)
    deadline = time.monotonic() + config.login_wait_seconds
    attempt = 0
    while True:
        owner = store.acquire(lock_pk, config.lease_seconds)
        if owner is not None:
            try:
                # The previous holder may have written the session between our look and the lease.
                return _reuse(store, session_pk, mac) or _vendor_login(store, session_pk, mac, credentials)
            finally:
                store.release(lock_pk, owner)
        if attempt == 0:
            metrics.add_metric(name="LoginWaits", unit=MetricUnit.Count, value=1)
            logger.info("waiting for a concurrent LiveVox login of the same account")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise VendorUnavailable("a concurrent LiveVox login of this account did not finish in time",
                                    retry_after=config.lease_seconds)
        time.sleep(min(remaining, _backoff(attempt)))
        attempt += 1
        found = _reuse(store, session_pk, mac)
        if found is not None:
            return found


def _backoff(attempt: int) -> float:
    """Exponential from 50 ms up to 1 s, with jitter so that waiters do not poll in step."""
    ceiling = min(1.0, 0.05 * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


def _vendor_login(store: TokenStore, session_pk: str, mac: str, credentials: Credentials) -> Session:
    started = time.perf_counter()
    answer = livevox.client().login(credentials.client_name, credentials.user_name, credentials.password,
                                    credentials.agent)
    _count_login(started, answer)
    return _remember(store, session_pk, answer, credentials.agent, {"password_mac": mac})


def sso_log_in(request: SsoCredentials) -> Session:
    """A fresh SSO login (id tokens are short-lived and single-purpose, so not a cache key), remembered by id."""
    deployment = _Deployment.load()
    started = time.perf_counter()
    answer = livevox.client().sso_login(request.client_name, request.id_token, request.agent)
    _count_login(started, answer)
    kind = "agent" if request.agent else "user"
    session_pk = Keys.lvx_session(*deployment.identity(request.client_name, answer.session_id, f"sso-{kind}"))
    return _remember(token_store(), session_pk, answer, request.agent, {})


def _count_login(started: float, answer: LiveVoxLogin) -> None:
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="LoginLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
    days = answer.days_until_password_expires
    if days is not None and days <= EXPIRING_SOON_DAYS:
        metrics.add_metric(name="PasswordExpiringSoon", unit=MetricUnit.Count, value=1)
        logger.warning("LiveVox password expires soon", extra={"days_until_password_expires": days,
                                                                "livevox_user_id": answer.user_id})


def _remember(store: TokenStore, session_pk: str, answer: LiveVoxLogin, agent: bool,
              extra: dict[str, Any]) -> Session:
    """Write what LiveVox accepted: the by-id record first, so a session record is never unreachable by id."""
    now = store.now()
    pointer_expires_at = now + POINTER_SECONDS
    store.put(Keys.lvx_session_id(answer.session_id), {"session_pk": session_pk}, pointer_expires_at)
    record = {
        **extra,
        "session_id": answer.session_id,
        "client_id": answer.client_id,
        "user_id": answer.user_id,
        "agent": agent,
        "days_until_password_expires": answer.days_until_password_expires,
        "logged_in_at": now,
        "pointer_expires_at": pointer_expires_at,
    }
    expires_at = _session_expiry(store)
    store.put(session_pk, record, expires_at)
    return _answer(store, {**record, "expires_at": expires_at}, cached=False)


def _keep_pointer(store: TokenStore, session_pk: str, item: Item) -> None:
    """Renew the by-id record (rarely: once a week of continuous use) before the session could outlive it."""
    if int(item.get("pointer_expires_at", 0)) > int(item["expires_at"]) + SESSION_SECONDS:
        return
    pointer_expires_at = store.now() + POINTER_SECONDS
    store.put(Keys.lvx_session_id(item["session_id"]), {"session_pk": session_pk}, pointer_expires_at)
    attributes = {k: v for k, v in item.items() if k not in ("pk", "expires_at")}
    store.put(session_pk, {**attributes, "pointer_expires_at": pointer_expires_at}, int(item["expires_at"]))


def _session_expiry(store: TokenStore) -> int:
    return store.now() + SESSION_SECONDS - settings.livevox().session_margin_seconds


def _days_left(store: TokenStore, item: Item) -> int | None:
    """Days until the password expires: the vendor counted at login, so whole days since then are taken off."""
    days = item.get("days_until_password_expires")
    if days is None:
        return None
    return int(days) - (store.now() - int(item.get("logged_in_at", store.now()))) // 86400


def _answer(store: TokenStore, item: Item, *, cached: bool) -> Session:
    redactor.add_request_secrets(item["session_id"])
    days = _days_left(store, item)
    return Session(
        session_id=item["session_id"],
        client_id=item.get("client_id"),
        user_id=item.get("user_id"),
        agent=bool(item.get("agent", False)),
        expires_at=int(item["expires_at"]),
        days_until_password_expires=days,
        cached=cached,
    )


# --- validate and logout ----------------------------------------------------------------------------

def _known(store: TokenStore, session_id: str) -> str | None:
    """The key of the live session record for a session id we handed out, or None."""
    pointer = store.get(Keys.lvx_session_id(session_id))
    if pointer is None:
        return None
    record = store.get(pointer["session_pk"])
    if record is None or not _same(record.get("session_id"), session_id):
        return None
    return str(pointer["session_pk"])


def check(session_id: str) -> dict[str, Any]:
    """``{"session_id", "valid": true, "expires_at"}`` when we hold the session and LiveVox still accepts it."""
    store = token_store()
    session_pk = _known(store, session_id)
    if session_pk is None:
        raise NotFound("no such LiveVox session")
    if not livevox.client().validate(session_id):
        _forget(store, session_id)
        raise NotFound("LiveVox no longer accepts this session")
    # A successful validate is a use of the session at LiveVox: slide ours the same way.
    touched = store.touch(session_pk, _session_expiry(store), require={"session_id": session_id})
    if touched.item is None:
        raise NotFound("no such LiveVox session")
    _keep_pointer(store, session_pk, touched.item)
    return {"session_id": session_id, "valid": True, "expires_at": iso_utc(int(touched.item["expires_at"]))}


def log_out(session_id: str) -> None:
    """End the session at LiveVox (already gone is fine) and forget it here."""
    livevox.client().logout(session_id)
    _forget(token_store(), session_id)


def _forget(store: TokenStore, session_id: str) -> None:
    pointer = store.delete(Keys.lvx_session_id(session_id))
    if pointer is None:
        return
    record = store.get(pointer["session_pk"])
    # A newer session of the same user may have taken the key since; leave that one alone.
    if record is not None and _same(record.get("session_id"), session_id):
        store.delete(pointer["session_pk"])


def _same(stored: Any, given: str) -> bool:
    # Bytes: compare_digest refuses non-ASCII text, and a path parameter can hold any.
    return hmac.compare_digest(str(stored or "").encode("utf-8"), given.encode("utf-8"))


