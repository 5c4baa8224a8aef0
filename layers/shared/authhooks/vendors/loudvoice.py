"""OneAll LoudVoice author sessions (VENDORS.md section 2): wire format <-> typed results, nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from authhooks import settings
from authhooks.errors import (
    FieldError,
    InvalidRequest,
    NotFound,
    ServiceError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from authhooks.http import RetryPolicy, VendorClient, VendorResponse, cached_client, misconfigured, retry_after
from authhooks.telemetry import logger, redactor

SESSIONS_PATH = "/loudvoice/authors/sessions.json"

# Vendor time, retries and backoff included, stays well under the function timeout (25 s), which
# leaves room for the store, the secret and a cold start.
VENDOR_BUDGET_SECONDS = 12.0
CONNECT_RETRIES = 2
MAX_ANSWER_RETRIES = 2  # read timeouts and 5xx together
BACKOFF_FACTOR = 0.1
_RETRIED_STATUSES = (500, 502, 503, 504)
_MAX_DETAIL = 300
# OneAll names the node it refused: "The node [request->author_session->author->email] is invalid, ...".
_NODE = re.compile(r"\[request->(?:author_session->)?(?P<path>[a-z_]+(?:->[a-z_]+)*)\]")
# A plan or usage limit is a 403 whose info says a limit was exceeded.
_LIMIT = re.compile(r"\blimits?\b.*\bexceeded\b|\bexceeded\b.*\blimits?\b", re.IGNORECASE | re.DOTALL)
# A real "not found" says what was not found ("no author has been found for that token"); an unknown site
# (wrong subdomain) is a 404 too, and says nothing of the kind.
_NOT_FOUND = re.compile(r"\bno\b[^.;]*\bfound\b", re.IGNORECASE)
_SITE = re.compile(r"\b(?:site|subdomain)\b", re.IGNORECASE)
# A session's date_expiration lies within its lifetime of its start, give or take this much clock skew.
DATE_SLACK_SECONDS = 86400
# Vendor dates further than this from our clock (year 9999, year 1) are not believed at all.
BELIEVABLE_YEARS = 50
MAX_LIFETIME_SECONDS = 10 * 366 * 86400


@dataclass(frozen=True)
class Author:
    """A LoudVoice author as the vendor describes it; absent values are None."""

    author_token: str
    author_reference: str | None
    name: str | None
    email: str | None
    description: str | None
    picture_url: str | None
    website_url: str | None
    num_comments: int | None
    date_creation: datetime | None
    date_last_update: datetime | None
    date_last_comment: datetime | None


@dataclass(frozen=True)
class AuthorSession:
    """A started author session: the token the widget uses, until when, and for which author."""

    token: str
    author: Author
    author_created: bool
    expires_in: int
    date_expiration: datetime
    date_creation: datetime | None
    date_last_update: datetime | None


def worst_case_seconds(policy: RetryPolicy, connect_timeout: float, read_timeout: float) -> float:
    """The longest one call can take under ``policy``: every answer-retry waits the full timeouts."""
    full_attempts = 1 + policy.read + policy.status
    retries = policy.connect + policy.read + policy.status
    # urllib3 sleeps factor * 2**(n-1) before the n-th consecutive retry, none before the first.
    backoff: float = sum(min(2.0, policy.backoff_factor * 2 ** (n - 1)) for n in range(2, retries + 1))
    return full_attempts * (connect_timeout + read_timeout) + policy.connect * connect_timeout + backoff


def retry_policy(connect_timeout: float, read_timeout: float) -> RetryPolicy:
    """Retries for PUT/DELETE/GET (all safe to repeat at LoudVoice), as many as fit ``VENDOR_BUDGET_SECONDS``.

    Connect failures come first (cheap, and nothing reached the vendor); read timeouts and
    500/502/503/504 get what the budget has left, at most ``MAX_ANSWER_RETRIES``.
    """
    for connect in range(CONNECT_RETRIES, -1, -1):
        for answers in range(MAX_ANSWER_RETRIES, -1, -1):
            read = min(1, answers)
            policy = RetryPolicy(
                connect=connect,
                read=read,
                status=answers - read,
                methods=("PUT", "DELETE", "GET"),
                status_forcelist=_RETRIED_STATUSES,
                backoff_factor=BACKOFF_FACTOR,
            )
            if worst_case_seconds(policy, connect_timeout, read_timeout) <= VENDOR_BUDGET_SECONDS:
                return policy
    return RetryPolicy(connect=0, backoff_factor=BACKOFF_FACTOR)


def parse_date(value: Any) -> datetime | None:
    """An RFC 2822 date (``Mon, 26 Mar 2018 17:33:12 +0200``) as an aware datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        logger.warning("LoudVoice sent a date we cannot read", extra={"value": value[:64]})
        return None
    # "-0000" means "UTC, zone unknown": parsedate_to_datetime returns it naive.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_author(data: Mapping[str, Any]) -> Author:
    """The ``author`` object of a session."""
    token = data.get("author_token")
    if not isinstance(token, str) or not token:
        raise ValueError("author.author_token is missing")
    comments = data.get("num_comments")
    return Author(
        author_token=token,
        author_reference=_text(data.get("author_reference")),
        name=_text(data.get("name")),
        email=_text(data.get("email")),
        description=_text(data.get("description")),
        picture_url=_text(data.get("picture_url")),
        website_url=_text(data.get("website_url")),
        num_comments=comments if isinstance(comments, int) and not isinstance(comments, bool) else None,
        date_creation=parse_date(data.get("date_creation")),
        date_last_update=parse_date(data.get("date_last_update")),
        date_last_comment=parse_date(data.get("date_last_comment")),
    )


def parse_session(body: Any, *, status: int, expires_in: int) -> AuthorSession:
    """The success envelope of a session start; ValueError when it does not hold a usable session.

    ``expires_in`` is what we asked for, used when the vendor leaves its own value out.
    """
    try:
        data = body["response"]["result"]["data"]["author_session"]
    except (KeyError, TypeError) as exc:
        raise ValueError("response.result.data.author_session is missing") from exc
    if not isinstance(data, dict):
        raise ValueError("author_session is not an object")
    token = data.get("author_session_token")
    if not isinstance(token, str) or not token:
        raise ValueError("author_session_token is missing")
    author = data.get("author")
    if not isinstance(author, dict):
        raise ValueError("author_session.author is missing")
    lifetime = data.get("expires_in")
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 0 < lifetime <= MAX_LIFETIME_SECONDS:
        lifetime = expires_in
    created = parse_date(data.get("date_creation"))
    # The vendor's clock (its creation date, else its envelope date) when believable, else ours.
    reference = next(
        (d for d in (created, parse_date(_envelope_date(body))) if d is not None and _believable(d)), None
    ) or datetime.now(UTC)
    expiration = parse_date(data.get("date_expiration"))
    if expiration is None or not 0 < expiration.timestamp() - reference.timestamp() <= lifetime + DATE_SLACK_SECONDS:
        # LoudVoice expires sessions by inactivity: a session just started ends about ``lifetime`` from its start.
        # A missing date, or one outside that (year 9999, year 1), is derived from it instead, and never stored.
        logger.warning(
            "LoudVoice sent no usable date_expiration; deriving it from expires_in",
            extra={"value": str(data.get("date_expiration"))[:64], "expires_in": lifetime},
        )
        expiration = datetime.fromtimestamp(reference.timestamp() + lifetime, UTC)
    return AuthorSession(
        token=token,
        author=parse_author(author),
        author_created=status == 201,
        expires_in=lifetime,
        date_expiration=expiration,
        date_creation=created,
        date_last_update=parse_date(data.get("date_last_update")),
    )


def _believable(moment: datetime) -> bool:
    """Whether a vendor date lies within ``BELIEVABLE_YEARS`` of our clock."""
    return abs(moment.timestamp() - datetime.now(UTC).timestamp()) <= BELIEVABLE_YEARS * 366 * 86400


def _envelope_date(body: Any) -> Any:
    try:
        return body["response"]["request"]["date"]
    except (KeyError, TypeError):
        return None


def vendor_status(body: Any) -> tuple[int | None, str]:
    """``status.code`` and ``status.info`` of an envelope (either may be missing)."""
    try:
        status = body["response"]["request"]["status"]
    except (KeyError, TypeError):
        return None, ""
    if not isinstance(status, dict):
        return None, ""
    code = status.get("code")
    info = status.get("info")
    return (
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        info if isinstance(info, str) else "",
    )


def refused_field(info: str) -> str:
    """Our request field a OneAll refusal names (``author.email``, ``expires_in``), or ``author`` when it names none."""
    found = _NODE.search(info)
    path = found["path"].split("->") if found else []
    if path and path[-1] == "expires_in":
        return "expires_in"
    if len(path) >= 2 and path[0] == "author":
        return f"author.{path[1]}"
    return "author"


def is_plan_limit(info: str) -> bool:
    """Whether a 403's info says a plan or usage limit was exceeded (rate limited, not bad keys)."""
    return bool(_LIMIT.search(info))


def is_not_found(info: str) -> bool:
    """Whether a 404's info says a named thing was not found; an unknown site (wrong subdomain) does not."""
    return bool(_NOT_FOUND.search(info)) and not _SITE.search(info)


def vendor_error(operation: str, answer: VendorResponse) -> ServiceError:
    """The error a LoudVoice refusal means for our caller (docs/api.md's taxonomy), by status first.

    A body that is not OneAll's envelope (``answer.body`` None) carries no info: it means what the status
    means when the info says nothing more.
    """
    _, info = vendor_status(answer.body)
    # The vendor may echo what we sent: blank every known secret before it reaches a response body.
    detail = redactor.scrub(info)[:_MAX_DETAIL] or f"HTTP {answer.status}"
    status = answer.status
    if status in (400, 409):
        field = refused_field(info)
        return InvalidRequest(f"LoudVoice refused the request: {detail}", errors=[FieldError(field, detail)])
    if status == 403 and is_plan_limit(info):
        return VendorRateLimited("LoudVoice plan limit reached", retry_after=retry_after(answer))
    if status in (401, 403):
        # Our site keys (or plan) are wrong: an operator problem, not the caller's.
        return misconfigured(
            "loudvoice", operation, "LoudVoice refused this service's credentials", status=status, info=detail
        )
    if status == 404 and is_not_found(info):
        return NotFound(f"LoudVoice: {detail}")
    if status == 404:
        # OneAll answers an unknown site subdomain with 404: LoudVoiceSubdomain (or the API URL) is wrong.
        return misconfigured(
            "loudvoice",
            operation,
            "LoudVoice does not know this site (check the subdomain)",
            status=status,
            info=detail,
        )
    if status == 429:
        return VendorRateLimited("LoudVoice quota reached", retry_after=retry_after(answer))
    if status >= 500:
        return VendorUnavailable(f"LoudVoice failed (HTTP {status})", retry_after=retry_after(answer))
    logger.error(
        "LoudVoice answered with a status we do not expect",
        extra={"operation": operation, "status": status, "info": detail},
    )
    return VendorRejected(f"LoudVoice answered HTTP {status}")


class LoudVoiceClient(VendorClient):
    """Starts and ends author sessions with HTTP Basic (site public key / private key)."""

    vendor = "loudvoice"

    def __init__(self, config: settings.LoudVoice, common: settings.Common) -> None:
        super().__init__(
            config.api_url,
            connect_timeout=common.connect_timeout,
            read_timeout=common.read_timeout,
            retry=retry_policy(common.connect_timeout, common.read_timeout),
        )
        self.config = config

    def start_session(self, author: Mapping[str, Any], expires_in: int) -> AuthorSession:
        """``PUT /loudvoice/authors/sessions.json``: ``author`` is the vendor's author object (one of three shapes)."""
        body = {"request": {"author_session": {"author": dict(author), "session": {"expires_in": expires_in}}}}
        answer = self._send("session_start", "PUT", SESSIONS_PATH, json=body, accept=(200, 201))
        try:
            return parse_session(answer.body, status=answer.status, expires_in=expires_in)
        except ValueError as exc:
            self.count_error("session_start", "bad_answer")
            logger.error(
                "LoudVoice answered a session start without a usable session",
                extra={"status": answer.status, "reason": str(exc)},
            )
            raise VendorRejected("LoudVoice answered without a usable author session") from exc

    def delete_session(self, token: str) -> None:
        """``DELETE /loudvoice/authors/sessions/<token>.json?confirm_deletion=true``; NotFound when already gone."""
        path = f"/loudvoice/authors/sessions/{quote(token, safe='')}.json"
        self._send("session_delete", "DELETE", path, params={"confirm_deletion": "true"})

    def refusal(self, operation: str, response: VendorResponse) -> ServiceError:
        return vendor_error(operation, response)

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> VendorResponse:
        # Read per request: a rotated secret is picked up when the Parameters cache expires.
        return self.call(operation, method, path, auth=site_keys(self.config.secret_name), **kwargs)


def site_keys(secret_name: str) -> tuple[str, str]:
    """(public key, private key) from the LoudVoice secret; reading it registers both with the log redactor."""
    return settings.secret_text(secret_name, "public_key"), settings.secret_text(secret_name, "private_key")


def client() -> LoudVoiceClient:
    """The container's client (one pooled session), rebuilt only when its settings change."""
    return cached_client(LoudVoiceClient, settings.loudvoice(), settings.common())
