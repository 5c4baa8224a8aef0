"""LiveVox sessions: reuse behind a password check, one login per account under concurrency, SSO, validate, logout.

A session record is keyed by who logs in (host, LV-Access fingerprint, client, user, agent flag) and
holds an HMAC of the password that created it; a by-id record points from the session id back to it,
so GET and DELETE can find it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authhooks import settings
from authhooks.errors import CredentialsUnavailable, FieldError, NotFound, Unauthorized, VendorUnavailable
from authhooks.fields import Flag, Schema, Text, raise_if
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


# --- requests -------------------------------------------------------------------------------------

DIRECT = Schema({"client_name": Text(MAX_NAME), "user_name": Text(MAX_NAME),
                 "password": Text(MAX_NAME, secret=True), "agent": Flag()}, openapi="DirectCredentials",
                extra=("account",))
NAMED = Schema({"account": Text(MAX_NAME)}, openapi="NamedAccount", strict=False)
SSO = Schema({"client_name": Text(MAX_NAME), "id_token": Text(MAX_ID_TOKEN, secret=True), "agent": Flag()},
             openapi="SsoLoginRequest")
SESSION_ID = Text(MAX_NAME, secret=True)


def login_request(body: dict[str, Any]) -> Credentials | Account:
    """Direct credentials or a named account, or a 400 naming every field that is wrong."""
    problems: list[FieldError] = []
    DIRECT.register_secrets(body)
    if "account" in body:
        given = [name for name in DIRECT.fields if name in body]
        if given:
            problems.append(FieldError("account", f"give either account or {', '.join(given)}, not both"))
        problems.extend(FieldError(name[:64], "unknown field") for name in body
                        if name not in NAMED.fields and name not in DIRECT.fields)
        values = NAMED.parse(body, problems)
        raise_if(problems)
        return Account(values["account"])
    values = DIRECT.parse(body, problems)
    raise_if(problems)
    return Credentials(values["client_name"], values["user_name"], values["password"], values["agent"])


def sso_request(body: dict[str, Any]) -> SsoCredentials:
    """An SSO login body, or a 400 naming every field that is wrong."""
    problems: list[FieldError] = []
    values = SSO.parse(body, problems)
    raise_if(problems)
    return SsoCredentials(values["client_name"], values["id_token"], values["agent"])


def session_id(value: str) -> str:
    """A session id from the path (a secret), or a 400."""
    problems: list[FieldError] = []
    SESSION_ID.check("session_id", value, problems)
    raise_if(problems)
    return value


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
        session_key = settings.secret_text(config.session_key_secret_name, "session_key").encode("utf-8")
        access_token = settings.secret_text(config.secret_name, "access_token")
        secret = settings.secret(config.secret_name)
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
            raise CredentialsUnavailable("a LiveVox credential set is malformed") from exc

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
    return store.single_flight(
        Keys.lvx_lock(*identity), lease_seconds=config.lease_seconds, wait_seconds=config.login_wait_seconds,
        done=lambda: _reuse(store, session_pk, mac),
        work=lambda: _vendor_login(store, session_pk, mac, credentials),
        busy=lambda: VendorUnavailable("a concurrent LiveVox login of this account did not finish in time",
                                       retry_after=config.lease_seconds))


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


def check(session_id: str) -> int:
    """Until when the session is good, when we hold it and LiveVox still accepts it; else NotFound."""
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
    return int(touched.item["expires_at"])


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


