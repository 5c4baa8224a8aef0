"""LiveVox sessions: reuse behind a password check, one login per account under concurrency, SSO, validate, logout.

A session is cached per who logs in (host, LV-Access fingerprint, client, user, agent flag) with an HMAC of the
password that created it (records.py owns the records). A hit is one read; a session LiveVox has not confirmed
lately, or one a caller asks ``fresh``, is validated first. Refused passwords are remembered, and logins of a user
LiveVox keeps refusing pause before LiveVox would lock it.
"""

from __future__ import annotations

import hashlib
import hmac
import string
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from authhooks import settings
from authhooks.errors import (
    CredentialsUnavailable,
    FieldError,
    LoginPaused,
    NotFound,
    Unauthorized,
    VendorTimeout,
    VendorUnavailable,
)
from authhooks.fields import Flag, Schema, Text, raise_if
from authhooks.store import Item, Keys, TokenStore, token_store
from authhooks.telemetry import logger, metrics, redactor
from authhooks.vendors import livevox
from authhooks.vendors.livevox import LiveVoxLogin
from aws_lambda_powertools.metrics import MetricUnit

from livevox_login import records

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
class LoginRequest:
    """A password login, and whether the caller wants a session LiveVox has just confirmed (``fresh``)."""

    who: Credentials | Account
    fresh: bool = False


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

DIRECT = Schema(
    {
        "client_name": Text(MAX_NAME),
        "user_name": Text(MAX_NAME),
        "password": Text(MAX_NAME, secret=True),
        "agent": Flag(),
        "fresh": Flag(),
    },
    openapi="DirectCredentials",
    extra=("account",),
)
NAMED = Schema({"account": Text(MAX_NAME), "fresh": Flag()}, openapi="NamedAccount", strict=False)
SSO = Schema(
    {"client_name": Text(MAX_NAME), "id_token": Text(MAX_ID_TOKEN, secret=True), "agent": Flag(), "fresh": Flag()},
    openapi="SsoLoginRequest",
)
# It travels in the LV-Session header: visible ASCII only (an HTTP header value cannot carry the rest).
SESSION_ID = Text(MAX_NAME, pattern="^[!-~]+$", mismatch="not a LiveVox session id (visible ASCII)", secret=True)


def login_request(body: dict[str, Any]) -> LoginRequest:
    """Direct credentials or a named account, or a 400 naming every field that is wrong."""
    problems: list[FieldError] = []
    DIRECT.register_secrets(body)
    if "account" in body:
        given = [name for name in DIRECT.fields if name in body and name not in NAMED.fields]
        if given:
            problems.append(FieldError("account", f"give either account or {', '.join(given)}, not both"))
        problems.extend(
            FieldError(name[:64], "unknown field")
            for name in body
            if name not in NAMED.fields and name not in DIRECT.fields
        )
        values = NAMED.parse(body, problems)
        raise_if(problems)
        return LoginRequest(Account(values["account"]), values["fresh"])
    values = DIRECT.parse(body, problems)
    raise_if(problems)
    credentials = Credentials(values["client_name"], values["user_name"], values["password"], values["agent"])
    return LoginRequest(credentials, values["fresh"])


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
            raise NotFound(
                "account: no credential set with that name",
                errors=[FieldError("account", "no credential set with that name")],
            )
        agent = entry.get("agent", False) if isinstance(entry, dict) else None
        try:
            if not isinstance(entry, dict) or not isinstance(agent, bool):
                raise ValueError("agent")
            return Credentials(
                _stored_text(entry, "client_name"),
                _stored_text(entry, "user_name"),
                _stored_text(entry, "password"),
                agent,
            )
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


def fold_agent_name(name: str) -> str:
    """An agent name as LiveVox compares it: ASCII letters case-folded, every other character as given."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True)
class _Attempt:
    """One password login: who, with which password (as its HMAC), and whether the caller wants a live session."""

    store: TokenStore
    identity: tuple[str, ...]
    mac: str
    credentials: Credentials
    account: str | None
    fresh: bool
    started: int

    @property
    def session_pk(self) -> str:
        return Keys.lvx_session(*self.identity)

    def cached(self, item: Item | None) -> Session | None:
        """The cached session when it may be handed out as it is: this password, and confirmed lately enough."""
        if item is None or not records.same(item.get("password_mac"), self.mac):
            return None
        # Fresh: confirmed after this request began (clock seconds: the same second may be before it).
        if self.fresh and records.confirmed_at(item) <= self.started:
            return None
        if self.store.now() - records.confirmed_at(item) >= settings.livevox().revalidate_seconds:
            return None
        return _hit(self.store, item)

    def settled(self) -> Session | None:
        """What another request's login (or refusal) already decided for us; None while nothing has."""
        item = self.store.get(self.session_pk)
        found = self.cached(item)
        if found is None:
            self.screen(item)
        return found

    def screen(self, item: Item | None) -> None:
        """Before anything goes to LiveVox for a password the cached session does not prove: 429 while this user's
        logins are paused, 401 when LiveVox refused this password lately."""
        if item is not None and records.same(item.get("password_mac"), self.mac):
            return  # the cached session's own password: validated, not refused
        self._unless_paused()  # first: a storm of wrong passwords is answered with one read more than a hit
        if records.refused(self.store, self.identity, self.mac):
            if self.account is not None:
                logger.error(
                    "LiveVox refused the stored password of a named account lately", extra={"account": self.account}
                )
            raise Unauthorized("LiveVox refused this password recently")

    def work(self) -> Session:
        """Under the identity's lease: validate the cached session of this password, or log in (if not paused)."""
        item = self.store.get(self.session_pk)
        if item is not None and records.same(item.get("password_mac"), self.mac) and _usable(self.store, item):
            confirmed = self._validated(item)
            if confirmed is not None:
                return confirmed
        seen = self._unless_paused()
        try:
            answer = _vendor_login(self.credentials)
        except Unauthorized:
            self._refused()
            raise
        if seen is not None:
            records.clear_refusals(self.store, self.identity, seen)
        remembered = records.remember(self.store, self.session_pk, answer, self.credentials.agent, self.mac)
        return _answer(self.store, remembered, cached=False)

    def _validated(self, item: Item) -> Session | None:
        """The cached session after LiveVox confirmed it; None (and forgotten) when LiveVox no longer accepts it."""
        try:
            alive = livevox.client().validate(item["session_id"])
        except (VendorUnavailable, VendorTimeout):
            if self.fresh:
                raise
            # Still inside LiveVox's two hours: a session we cannot check now is better than no answer.
            logger.warning("could not validate a cached LiveVox session; handing it out unchecked")
            return _hit(self.store, item)
        if not alive:
            logger.info("LiveVox no longer accepts the cached session; logging in again")
            records.drop_session(self.store, self.session_pk, item["session_id"])
            return None
        confirmed = records.confirm(self.store, self.session_pk, item["session_id"])
        return _hit(self.store, confirmed) if confirmed is not None else None

    def _unless_paused(self) -> Item | None:
        """The user's refusal count in the window; 429 when it has reached the limit."""
        seen = records.refusals(self.store, self.identity)
        if seen is not None and int(seen["count"]) >= settings.livevox().refusal_limit:
            raise self._paused(seen)
        return seen

    def _refused(self) -> None:
        count = records.refuse(self.store, self.identity, self.mac, settings.livevox().refusal_seconds)
        metrics.add_metric(name="LoginRefused", unit=MetricUnit.Count, value=1)
        extra = {"refused_logins": int(count["count"]), "refusal_limit": settings.livevox().refusal_limit}
        if self.account is not None:
            # Our own stored password: every integration using this account is affected.
            logger.error(
                "LiveVox refused the stored password of a named account", extra={**extra, "account": self.account}
            )
        else:
            logger.warning("LiveVox refused a login", extra=extra)

    def _paused(self, seen: Item) -> LoginPaused:
        retry_after = max(1, int(seen["expires_at"]) - self.store.now())
        metrics.add_metric(name="LoginPaused", unit=MetricUnit.Count, value=1)
        logger.error(
            "LiveVox logins of a user are paused: LiveVox refused them repeatedly and locks users after five failures",
            extra={"refused_logins": int(seen["count"]), "retry_after": retry_after, "account": self.account},
        )
        return LoginPaused(
            "LiveVox refused this user's logins repeatedly; logins are paused to avoid a lockout",
            retry_after=retry_after,
        )


def log_in(request: LoginRequest) -> Session:
    """A session for these credentials: the cached one when the password matches (one read), else one login.

    A password that differs from the cached session's is checked with LiveVox under the same single flight.
    """
    deployment = _Deployment.load()
    who = request.who
    credentials = who if isinstance(who, Credentials) else deployment.account(who.name)
    # User names are case-sensitive at LiveVox for users, not for agents.
    principal = fold_agent_name(credentials.user_name) if credentials.agent else credentials.user_name
    identity = deployment.identity(credentials.client_name, principal, "agent" if credentials.agent else "user")
    store = token_store()
    attempt = _Attempt(
        store,
        identity,
        deployment.mac(credentials.password),
        credentials,
        who.name if isinstance(who, Account) else None,
        request.fresh,
        store.now(),
    )
    item = store.get(attempt.session_pk)
    hit = attempt.cached(item)
    if hit is not None:
        return hit
    attempt.screen(item)  # a refused password or a paused user never waits for the lease
    config = settings.livevox()
    return store.single_flight(
        Keys.lvx_lock(*identity),
        lease_seconds=config.lease_seconds,
        wait_seconds=config.login_wait_seconds,
        done=attempt.settled,
        work=attempt.work,
        busy=lambda: VendorUnavailable(
            "a concurrent LiveVox login of this account did not finish in time", retry_after=config.lease_seconds
        ),
    )


def _usable(store: TokenStore, item: Item) -> bool:
    days = _days_left(store, item)
    if days is not None and days <= 0:
        # LiveVox ends every session when the password expires, which it said happens about now: ask it again
        # (a fresh session if the password was changed, password_expired if not), never hand out a dead one.
        logger.info("cached LiveVox session outlived its password's announced expiry; logging in again")
        return False
    return True


def _hit(store: TokenStore, item: Item) -> Session | None:
    if not _usable(store, item):
        return None
    metrics.add_metric(name="CacheHits", unit=MetricUnit.Count, value=1)
    return _answer(store, item, cached=True)


def _vendor_login(credentials: Credentials) -> LiveVoxLogin:
    started = time.perf_counter()
    answer = livevox.client().login(
        credentials.client_name, credentials.user_name, credentials.password, credentials.agent
    )
    _count_login(started, answer)
    return answer


def sso_log_in(request: SsoCredentials) -> Session:
    """A fresh SSO login (id tokens are short-lived and single-purpose, so not a cache key), remembered by id."""
    deployment = _Deployment.load()
    started = time.perf_counter()
    answer = livevox.client().sso_login(request.client_name, request.id_token, request.agent)
    _count_login(started, answer)
    kind = "agent" if request.agent else "user"
    session_pk = Keys.lvx_session(*deployment.identity(request.client_name, answer.session_id, f"sso-{kind}"))
    store = token_store()
    remembered = records.remember(store, session_pk, answer, request.agent, None)
    return _answer(store, remembered, cached=False)


def _count_login(started: float, answer: LiveVoxLogin) -> None:
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="LoginLatency", unit=MetricUnit.Milliseconds, value=(time.perf_counter() - started) * 1000)
    days = answer.days_until_password_expires
    if days is not None and days <= EXPIRING_SOON_DAYS:
        metrics.add_metric(name="PasswordExpiringSoon", unit=MetricUnit.Count, value=1)
        logger.warning(
            "LiveVox password expires soon",
            extra={"days_until_password_expires": days, "livevox_user_id": answer.user_id},
        )


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


def check(session_id: str) -> int:
    """Until when the session is good, when we hold it and LiveVox still accepts it; else NotFound."""
    store = token_store()
    found = records.known(store, session_id)
    if found is None:
        raise NotFound("no such LiveVox session")
    session_pk, _ = found
    if not livevox.client().validate(session_id):
        records.forget(store, session_id)
        raise NotFound("LiveVox no longer accepts this session")
    # A successful validate is a use of the session at LiveVox: ours lives on from now.
    confirmed = records.confirm(store, session_pk, session_id)
    if confirmed is None:
        raise NotFound("no such LiveVox session")
    return int(confirmed["expires_at"])


def log_out(session_id: str) -> None:
    """End the session at LiveVox (already gone is fine) and forget it here."""
    livevox.client().logout(session_id)
    records.forget(token_store(), session_id)
