"""The placeholders of events/*.json (``<bv_authtoken>``, ``<livevox_session_id>``, ...) and how they are filled.

An event file names a value only a running stack can give (a token the sandbox mints, a session a function starts)
as ``<name>`` inside its strings. ``Filler`` replaces each with a real value from the stack the invocation uses
(minting it at the sandbox, or invoking the function once with the event that starts a session), or raises
``Unfillable`` naming the placeholder, the file and how to get a value by hand.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import template
from local.apigateway import Invoke

EVENTS = template.ROOT / "events"
PATTERN = re.compile(r"<([a-z][a-z0-9_]*)>")


@dataclass(frozen=True)
class Placeholder:
    """What a placeholder stands for, the vendor whose sandbox it needs, how to get one without `make invoke`, and
    what starts one: (function, event file that starts it, field of the answer), or None for a minted token."""

    means: str
    vendor: str
    by_hand: str
    started_by: tuple[str, str, str] | None = None


PLACEHOLDERS = {
    "bv_authtoken": Placeholder(
        "a single-use Bazaarvoice auth token, what a confirmation email's link carries",
        "Bazaarvoice",
        "with make dev running, `curl -s -X POST http://127.0.0.1:3100/_sandbox/bazaarvoice/tokens` mints one "
        "(its bv_authtoken); from a real Bazaarvoice, the bv_authtoken of a confirmation email's link",
    ),
    "bv_user_id": Placeholder(
        "the Bazaarvoice user id of a stored confirmation",
        "Bazaarvoice",
        "confirm a token first (README, the Bazaarvoice walk-through) and take bv_user_id from the answer",
        ("BazaarvoiceConfirmFunction", "bazaarvoice_confirm_post.json", "bv_user_id"),
    ),
    "loudvoice_session_token": Placeholder(
        "a LoudVoice author session token the table holds",
        "LoudVoice",
        "`make invoke FN=LoudVoiceSessionFunction EVENT=events/loudvoice_start_session.json` and take "
        "session_token from the body",
        ("LoudVoiceSessionFunction", "loudvoice_start_session.json", "session_token"),
    ),
    "livevox_session_id": Placeholder(
        "a LiveVox session id the table holds",
        "LiveVox",
        "`make invoke FN=LiveVoxLoginFunction EVENT=events/livevox_login_account.json` and take session_id "
        "from the body",
        ("LiveVoxLoginFunction", "livevox_login_account.json", "session_id"),
    ),
}


class Unfillable(Exception):
    """A placeholder this invocation cannot fill; the message says which, in which file, and what to do instead."""


def names(event: Any) -> list[str]:
    """The placeholders ``event`` holds, in order of first appearance."""
    return list(dict.fromkeys(PATTERN.findall(json.dumps(event))))


def replaced(event: Any, values: dict[str, str]) -> Any:
    """``event`` with every ``<name>`` of ``values`` replaced (in keys' values only, at any depth)."""
    if isinstance(event, dict):
        return {key: replaced(value, values) for key, value in event.items()}
    if isinstance(event, list):
        return [replaced(value, values) for value in event]
    if isinstance(event, str):
        return PATTERN.sub(lambda match: values.get(match.group(1), match.group(0)), event)
    return event


def _with_content_length(event: dict[str, Any]) -> dict[str, Any]:
    """A filled body changes its length: the header says the new one, as API Gateway's would."""
    headers = event.get("headers") or {}
    if "content-length" in headers and isinstance(event.get("body"), str):
        headers["content-length"] = str(len(event["body"].encode("utf-8")))
    return event


class Filler:
    """Fills placeholders from one stack: its sandbox (``sandbox_url``) and its functions (``run``)."""

    def __init__(self, run: Invoke, sandbox_url: str, sandboxed: set[str]) -> None:
        self.run, self.sandbox_url, self.sandboxed = run, sandbox_url, sandboxed

    def fill(self, event: dict[str, Any], source: Path) -> tuple[dict[str, Any], list[str]]:
        """(the event with every placeholder filled, the names filled); Unfillable when one cannot be."""
        found = names(event)
        unknown = [name for name in found if name not in PLACEHOLDERS]
        if unknown:
            raise Unfillable(
                f"{_shown(source)} holds <{unknown[0]}>, which is not a placeholder this stack can fill "
                f"(known: {', '.join(f'<{n}>' for n in PLACEHOLDERS)}): put a value in its place"
            )
        values = {name: self.value(name, source) for name in found}
        return _with_content_length(replaced(event, values)), found

    def value(self, name: str, source: Path) -> str:
        placeholder = PLACEHOLDERS[name]
        if placeholder.vendor not in self.sandboxed:
            raise Unfillable(
                f"{_shown(source)} holds the placeholder <{name}>, {placeholder.means}. {placeholder.vendor} is not "
                f"the sandbox here (a parameter override points it elsewhere), so it cannot be made for you: copy "
                f"the file and put a value in place of <{name}>; {placeholder.by_hand}."
            )
        if placeholder.started_by is None:
            return self._minted_token()
        function, starter, field = placeholder.started_by
        event = json.loads((EVENTS / starter).read_text(encoding="utf-8"))
        event["headers"]["accept"] = "application/json"  # the landing answers JSON to JSON callers
        if "bv_authtoken" in names(event):  # only the Bazaarvoice starter needs a token from the sandbox
            event = _with_content_length(replaced(event, {"bv_authtoken": self._minted_token()}))
        result = self.run(function, event)
        status = result.get("statusCode") if isinstance(result, dict) else None
        try:
            return str(json.loads(result["body"])[field])
        except (TypeError, KeyError, ValueError):
            raise Unfillable(
                f"{_shown(source)} holds the placeholder <{name}>, {placeholder.means}; starting one with "
                f"events/{starter} ({function}) answered {status}, not a {field}: {str(result)[:300]}. "
                f"By hand: {placeholder.by_hand}."
            ) from None

    def _minted_token(self) -> str:
        from local.sandbox.client import SandboxClient

        return SandboxClient(self.sandbox_url).mint_bazaarvoice_token()["bv_authtoken"]


def _shown(source: Path) -> str:
    try:
        return str(source.resolve().relative_to(template.ROOT))
    except ValueError:
        return str(source)
