"""OneAll LoudVoice sandbox: author sessions for the comment widget, VENDORS.md section 2."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from local.config import DEMO_SECRETS
from local.sandbox.core import Clock, Request, Response, Route, Service, VendorError

# What the sandbox accepts is what the local stack's demo secret holds (one place: local.config).
PUBLIC_KEY = DEMO_SECRETS["LoudVoiceSecret"]["public_key"]
PRIVATE_KEY = DEMO_SECRETS["LoudVoiceSecret"]["private_key"]
DEFAULT_EXPIRES_IN = 1209600
AUTHOR_FIELDS = ("name", "email", "description", "picture_url", "website_url")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_FILTER = re.compile(r"author_token:eq:(?P<token>[^,]+)")
# The site's subdomain (template default LoudVoiceSubdomain); `/sites/<other>/...` is a site OneAll does not know.
SITE = "sandbox"
_SITE_PREFIX = re.compile(r"^/sites/[^/]+")
# OneAll writes dates in the site's zone with a numeric offset, not in UTC.
SITE_ZONE = timezone(timedelta(hours=2))
_AUTHOR_NODE = "request->author_session->author"
# OneAll's texts (VENDORS.md, "Evidence gathered later"): field errors and real "not found"s name the node.
PLAN_LIMIT_INFO = "The API request limit of your plan has been exceeded; upgrade your plan or wait for the next period"
UNKNOWN_SITE_INFO = "The subdomain [{site}] is not linked to any OneAll site"
# A list answers 250 entries a page (VENDORS.md); `entries_per_page` asks for fewer, never for more.
ENTRIES_PER_PAGE = 250


@dataclass
class Author:
    """A LoudVoice author: someone who can comment."""

    author_token: str
    date_creation: datetime
    author_reference: str | None = None
    identity_token: str | None = None
    name: str | None = None
    email: str | None = None
    description: str | None = None
    picture_url: str | None = None
    website_url: str | None = None
    num_comments: int = 0
    date_last_comment: datetime | None = None
    date_last_update: datetime | None = None


@dataclass
class AuthorSession:
    """A session token the widget uses to act as `author`."""

    author_session_token: str
    author: Author
    date_creation: datetime
    date_expiration: datetime
    expires_in: int
    date_last_update: datetime | None = None


@dataclass(frozen=True)
class AuthorSpec:
    """Which author a session is for (exactly one key set) and the metadata given for it."""

    author_reference: str | None = None
    identity_token: str | None = None
    author_token: str | None = None
    allow_create_new: bool = True
    fields: Mapping[str, str | None] = field(default_factory=dict)


def lv_error(status: int, info: str) -> VendorError:
    """A LoudVoice refusal."""
    return VendorError(status, info)


def node_error(status: int, node: str, reason: str) -> VendorError:
    """A refusal that names the request node, the way OneAll words them."""
    return lv_error(status, f"The node [{node}] is invalid, {reason}")


@dataclass
class Switches:
    """How the sandbox misbehaves on request (`POST /_sandbox/loudvoice/switches`); all off after a reset."""

    plan_limit: bool = False  # every call answers OneAll's 403 "limit exceeded"
    plain_errors: bool = False  # refusals come back as an HTML page with the same status
    date_expiration: str | None = None  # the exact text new sessions carry as `date_expiration`
    # LoudVoice's docs say a PUT "creates a new or updates the existing session" without saying which: off, each
    # start is a new session (beside the author's others); on, it updates the author's newest live session.
    reuse_session: bool = False
    # At most this many entries a list page holds, whatever the request asks (a few sessions then span pages).
    page_size: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_limit": self.plan_limit,
            "plain_errors": self.plain_errors,
            "date_expiration": self.date_expiration,
            "reuse_session": self.reuse_session,
            "page_size": self.page_size,
        }


class LoudVoiceBackend:
    """Authors, identity tokens minted for Social Login users, and author sessions."""

    def __init__(self, clock: Clock, public_key: str = PUBLIC_KEY, private_key: str = PRIVATE_KEY) -> None:
        self._clock = clock
        # The demo key pair unless a test seeds its own (secret canaries).
        self.public_key, self.private_key = public_key, private_key
        self.reset()

    def reset(self) -> None:
        """Forget every author, identity and session."""
        self._authors: dict[str, Author] = {}
        self._by_reference: dict[str, str] = {}
        self._identities: dict[str, str | None] = {}  # identity token -> author token once used
        self._sessions: dict[str, AuthorSession] = {}
        self.switches = Switches()

    def check_keys(self, public_key: str | None, private_key: str | None) -> None:
        """Refuse anything but the site's key pair."""
        ok = hmac.compare_digest((public_key or "").encode(), self.public_key.encode())
        ok &= hmac.compare_digest((private_key or "").encode(), self.private_key.encode())
        if not ok:
            raise lv_error(401, "Authentication failed: invalid public or private key")

    def mint_identity(self) -> str:
        """A Social Login identity token that can start a session."""
        token = str(uuid.uuid4())
        self._identities[token] = None
        return token

    def start_session(self, spec: AuthorSpec, expires_in: int = DEFAULT_EXPIRES_IN) -> tuple[AuthorSession, bool]:
        """A new session for the author `spec` names; True when the author was created for it."""
        if expires_in <= 0:
            raise node_error(
                400, "request->author_session->session->expires_in", "it must be a positive number of seconds"
            )
        _check_fields(spec.fields)
        now = self.now()
        author, created = self._resolve(spec, now)
        if not created:
            changed = {k: v for k, v in spec.fields.items() if v is not None and getattr(author, k) != v}
            for key, value in changed.items():
                setattr(author, key, value)
            if changed:
                author.date_last_update = now
        token = str(uuid.uuid4())
        if self.switches.reuse_session and not created:
            # The author's newest live session: sessions are kept in the order they were started.
            live = [
                s
                for s in self._sessions.values()
                if s.author.author_token == author.author_token and s.date_expiration > now
            ]
            token = live[-1].author_session_token if live else token
        session = AuthorSession(token, author, now, now + timedelta(seconds=expires_in), expires_in)
        if token in self._sessions:
            session.date_creation, session.date_last_update = self._sessions[token].date_creation, now
        self._sessions[token] = session
        return session, created

    def _resolve(self, spec: AuthorSpec, now: datetime) -> tuple[Author, bool]:
        if spec.author_token is not None:
            author = self._authors.get(spec.author_token)
            if author is None:
                raise node_error(404, f"{_AUTHOR_NODE}->author_token", "no author has been found for that token")
            return author, False
        if spec.identity_token is not None:
            if spec.identity_token not in self._identities:
                raise node_error(404, f"{_AUTHOR_NODE}->identity_token", "no identity has been found for that token")
            known = self._identities[spec.identity_token]
            if known is not None:
                return self._authors[known], False
            author = self._create(spec, now, name=f"Social Login user {spec.identity_token[:8]}")
            author.identity_token = spec.identity_token
            self._identities[spec.identity_token] = author.author_token
            return author, True
        reference = spec.author_reference or ""
        known = self._by_reference.get(reference)
        if known is not None:
            return self._authors[known], False
        if not spec.allow_create_new:
            raise node_error(
                404,
                f"{_AUTHOR_NODE}->author_reference",
                "no author has been found for that reference and allow_create_new is false",
            )
        if not spec.fields.get("name"):
            raise node_error(400, f"{_AUTHOR_NODE}->name", "the name is required to create a new author")
        author = self._create(spec, now)
        author.author_reference = reference
        self._by_reference[reference] = author.author_token
        return author, True

    def _create(self, spec: AuthorSpec, now: datetime, name: str | None = None) -> Author:
        author = Author(str(uuid.uuid4()), now, name=name)
        for key, value in spec.fields.items():
            if value is not None:
                setattr(author, key, value)
        self._authors[author.author_token] = author
        return author

    def delete_session(self, token: str) -> None:
        """End a session; unknown or expired ones are not found."""
        session = self._live_session(token)
        if session is None:
            raise node_error(404, "author_session_token", "no author session has been found for that token")
        del self._sessions[token]

    def list_sessions(self, author_token: str | None = None) -> list[AuthorSession]:
        """Live sessions, newest first, optionally of one author."""
        now = self.now()
        live = [s for s in self._sessions.values() if s.date_expiration > now]
        if author_token is not None:
            live = [s for s in live if s.author.author_token == author_token]
        return sorted(live, key=lambda s: s.date_creation, reverse=True)

    def session(self, token: str) -> AuthorSession | None:
        """A live session by token."""
        return self._live_session(token)

    def _live_session(self, token: str) -> AuthorSession | None:
        session = self._sessions.get(token)
        if session is not None and session.date_expiration <= self.now():
            del self._sessions[token]  # LoudVoice drops sessions by itself once they expire
            return None
        return session

    def now(self) -> datetime:
        """The backend's current time, to the second."""
        return self._clock().replace(microsecond=0)


def _check_fields(fields: Mapping[str, str | None]) -> None:
    email = fields.get("email")
    if email is not None and not _EMAIL.fullmatch(email):
        raise node_error(400, f"{_AUTHOR_NODE}->email", "it must contain a valid email address")
    for key in ("picture_url", "website_url"):
        value = fields.get(key)
        if value is None:
            continue
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise node_error(400, f"{_AUTHOR_NODE}->{key}", "it must contain an absolute http(s) URL")


def rfc2822(moment: datetime | None) -> str | None:
    """`Mon, 26 Mar 2018 17:33:12 +0200` (the site's zone), or None."""
    return None if moment is None else format_datetime(moment.replace(microsecond=0).astimezone(SITE_ZONE))


class LoudVoiceWire(Service):
    """Parses OneAll requests (Basic auth, JSON envelope) and renders the `response` envelope."""

    name = "loudvoice"

    def __init__(self, backend: LoudVoiceBackend) -> None:
        self.backend = backend

    def routes(self) -> Sequence[Route]:
        site = r"(?:/sites/(?P<site>[^/]+))?"  # the default site, or another subdomain
        sessions = site + r"/loudvoice/authors/sessions\.json"
        return (
            Route("PUT", sessions, "session_start", self.session_start),
            Route("GET", sessions, "session_list", self.session_list),
            Route(
                "DELETE",
                site + r"/loudvoice/authors/sessions/(?P<token>[^/]+)\.json",
                "session_delete",
                self.session_delete,
            ),
        )

    def session_start(self, request: Request, match: re.Match[str]) -> Response:
        """`PUT /loudvoice/authors/sessions.json`."""
        self._authenticate(request, match)
        spec, expires_in = _parse_session_start(request)
        session, created = self.backend.start_session(spec, expires_in)
        status = 201 if created else 200
        info = "A new author has been created and the session started" if created else "The session has been started"
        rendered = _session_json(session)
        if self.backend.switches.date_expiration is not None:
            rendered["date_expiration"] = self.backend.switches.date_expiration
        result = {"data": {"author_session": rendered}}
        return Response.json(status, self._envelope(request, status, "success", info, result))

    def session_list(self, request: Request, match: re.Match[str]) -> Response:
        """`GET /loudvoice/authors/sessions.json[?filters=author_token:eq:<uuid>][&page=N][&entries_per_page=M]`."""
        self._authenticate(request, match)
        filters = request.query_value("filters")
        author_token = None
        if filters:
            found = _FILTER.fullmatch(filters)
            if found is None:
                raise lv_error(400, "Unsupported filters; use author_token:eq:<author_token>")
            author_token = found["token"]
        page = _positive(request.query_value("page"), "page", 1)
        per_page = min(
            _positive(request.query_value("entries_per_page"), "entries_per_page", ENTRIES_PER_PAGE),
            ENTRIES_PER_PAGE,
            self.backend.switches.page_size or ENTRIES_PER_PAGE,
        )
        sessions = self.backend.list_sessions(author_token)
        entries = [_session_json(s) for s in sessions[(page - 1) * per_page : page * per_page]]
        pagination = {
            "current_page": page,
            "total_pages": max(1, -(-len(sessions) // per_page)),
            "entries_per_page": per_page,
            "total_entries": len(sessions),
            "order": ["date_creation:desc"],
        }
        result = {"data": {"author_sessions": {"pagination": pagination, "entries": entries}}}
        return Response.json(200, self._envelope(request, 200, "success", "Author sessions listed", result))

    def session_delete(self, request: Request, match: re.Match[str]) -> Response:
        """`DELETE /loudvoice/authors/sessions/<token>.json?confirm_deletion=true`."""
        self._authenticate(request, match)
        if request.query_value("confirm_deletion") != "true":
            raise lv_error(400, "Please add confirm_deletion=true to confirm the deletion")
        self.backend.delete_session(match["token"])
        return Response.json(200, self._envelope(request, 200, "success", "The author session has been deleted"))

    def render_error(self, error: VendorError, request: Request) -> Response:
        if self.backend.switches.plain_errors:
            # What a proxy or load balancer in front of OneAll answers: a page, not the envelope.
            page = f"<html><body><h1>{error.status}</h1></body></html>".encode()
            return Response(error.status, page, {"Content-Type": "text/html; charset=utf-8", **error.headers})
        return Response.json(error.status, self._envelope(request, error.status, "error", error.message), error.headers)

    def _envelope(
        self, request: Request, status: int, flag: str, info: str, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        envelope: dict[str, Any] = {
            "request": {
                "date": rfc2822(self.backend.now()),
                "resource": _SITE_PREFIX.sub("", request.path),  # the site is OneAll's host name, not its path
                "status": {"flag": flag, "code": status, "info": info},
            }
        }
        if result is not None:
            envelope["result"] = result
        return {"response": envelope}

    def _authenticate(self, request: Request, match: re.Match[str]) -> None:
        """The site must exist (else 404, before any key check), the keys must match, the plan must allow the call."""
        site = match["site"]
        if site is not None and site != SITE:
            raise lv_error(404, UNKNOWN_SITE_INFO.format(site=site[:64]))
        public_key = private_key = None
        scheme, _, encoded = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                public_key, _, private_key = base64.b64decode(encoded, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                public_key = private_key = None
        self.backend.check_keys(public_key, private_key)
        if self.backend.switches.plan_limit:
            raise lv_error(403, PLAN_LIMIT_INFO)


def _parse_session_start(request: Request) -> tuple[AuthorSpec, int]:
    """The `{"request": {"author_session": {"author": ..., "session": ...}}}` body, type-checked."""
    try:
        body = request.json()
    except ValueError as exc:
        raise lv_error(400, "The request body is not valid JSON") from exc
    author_session = _object(_object(body, "body").get("request"), "request").get("author_session")
    author_session = _object(author_session, "request.author_session")
    author = _object(author_session.get("author"), "request.author_session.author")
    session = _object(author_session.get("session", {}), "request.author_session.session")
    expires_in = session.get("expires_in", DEFAULT_EXPIRES_IN)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool):
        raise node_error(400, "request->author_session->session->expires_in", "it must be an integer")

    keys = [k for k in ("author_reference", "identity_token", "author_token") if author.get(k) is not None]
    if len(keys) != 1:
        raise lv_error(400, "author needs exactly one of author_reference, identity_token, author_token")
    if author[keys[0]] == "":
        raise node_error(400, f"{_AUTHOR_NODE}->{keys[0]}", "it must not be empty")
    allow_create_new = author.get("allow_create_new", True)
    if not isinstance(allow_create_new, bool):
        raise node_error(400, f"{_AUTHOR_NODE}->allow_create_new", "it must be a boolean")
    for key in (*keys, *AUTHOR_FIELDS):
        value = author.get(key)
        if value is not None and not isinstance(value, str):
            raise node_error(400, f"{_AUTHOR_NODE}->{key}", "it must be a string")
    fields = {k: author[k] for k in AUTHOR_FIELDS if k in author}
    spec = AuthorSpec(**{keys[0]: author[keys[0]]}, allow_create_new=allow_create_new, fields=fields)
    return spec, expires_in


def _positive(value: str | None, name: str, default: int) -> int:
    """A positive whole number from the query string, ``default`` when absent; else OneAll's 400."""
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise lv_error(400, f"The parameter [{name}] must be a positive number")
    return int(value)


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise lv_error(400, f"{where} must be a JSON object")
    return value


def _author_json(author: Author) -> dict[str, Any]:
    return {
        "author_token": author.author_token,
        "author_reference": author.author_reference,
        "name": author.name,
        "email": author.email,
        "description": author.description,
        "picture_url": author.picture_url,
        "website_url": author.website_url,
        "num_comments": author.num_comments,
        "date_last_comment": rfc2822(author.date_last_comment),
        "date_creation": rfc2822(author.date_creation),
        "date_last_update": rfc2822(author.date_last_update),
    }


def _session_json(session: AuthorSession) -> dict[str, Any]:
    return {
        "author_session_token": session.author_session_token,
        "date_creation": rfc2822(session.date_creation),
        "date_last_update": rfc2822(session.date_last_update),
        "date_expiration": rfc2822(session.date_expiration),
        "expires_in": session.expires_in,
        "author": _author_json(session.author),
    }
