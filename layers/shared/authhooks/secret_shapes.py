"""What each vendor secret holds: the keys an operator fills, the ones the stack generates, and their checks.

One description for both sides: the onboarding command refuses a value that fails it, and a function can check
the secret it read on first use. ``problems`` names each wrong key and never repeats a value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIN_SESSION_KEY_LENGTH = 32
_ACCOUNT_TEXT = ("client_name", "user_name", "password")


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value.strip() else "must be a non-empty string"


def _session_key(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) < MIN_SESSION_KEY_LENGTH:
        return f"must be a string of at least {MIN_SESSION_KEY_LENGTH} characters"
    return None


def _accounts(value: Any) -> list[tuple[str, str]]:
    """Problems of a LiveVox ``accounts`` map, as (key path, what is wrong)."""
    if not isinstance(value, dict):
        return [("accounts", 'must be an object of named credential sets ({"name": {...}})')]
    found: list[tuple[str, str]] = []
    for name, entry in value.items():
        if not isinstance(entry, dict):
            found.append((f"accounts.{name}", "must be an object"))
            continue
        for key in _ACCOUNT_TEXT:
            problem = _text(entry.get(key))
            if problem:
                found.append((f"accounts.{name}.{key}", problem))
        if not isinstance(entry.get("agent", False), bool):
            found.append((f"accounts.{name}.agent", "must be true or false"))
        for key in sorted(set(entry) - {*_ACCOUNT_TEXT, "agent"}):
            found.append((f"accounts.{name}.{key}", "is not a key of a credential set"))
    return found


@dataclass(frozen=True)
class SecretShape:
    """One secret: its name under the stack (``<stack>/<suffix>``), its template resource and its keys."""

    suffix: str
    logical_id: str
    keys: dict[str, Callable[[Any], str | None]]
    operator_fills: bool  # False: the stack generates every key at deploy time and no one sets it

    def problems(self, value: Any) -> list[tuple[str, str]]:
        """Every (key path, what is wrong) of a secret's JSON value; empty when it is usable."""
        if not isinstance(value, dict):
            return [("", "must be a JSON object")]
        found: list[tuple[str, str]] = []
        for key, check in self.keys.items():
            if key not in value:
                found.append((key, "is missing"))
            elif key == "accounts":
                found.extend(_accounts(value[key]))
            else:
                problem = check(value[key])
                if problem:
                    found.append((key, problem))
        found.extend((key, "is not a key of this secret") for key in sorted(set(value) - set(self.keys)))
        return found


SHAPES: dict[str, SecretShape] = {
    shape.suffix: shape
    for shape in (
        SecretShape("bazaarvoice", "BazaarvoiceSecret", {"passkey": _text}, operator_fills=True),
        SecretShape("loudvoice", "LoudVoiceSecret", {"public_key": _text, "private_key": _text}, operator_fills=True),
        SecretShape(
            "livevox", "LiveVoxSecret", {"access_token": _text, "accounts": lambda _: None}, operator_fills=True
        ),
        SecretShape(
            "livevox-session-key", "LiveVoxSessionKeySecret", {"session_key": _session_key}, operator_fills=False
        ),
    )
}


def describe(problems: list[tuple[str, str]]) -> str:
    """One line naming each wrong key: ``accounts.demo.password must be a non-empty string; ...``."""
    return "; ".join(f"{key} {what}" if key else what for key, what in problems)
