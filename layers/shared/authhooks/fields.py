"""The request field vocabulary every route parses with: one set of kinds, limits, patterns and messages.

A ``Schema`` names its fields; parsing collects every problem (``FieldError`` with the field's path)
and registers the fields declared ``secret`` with the log redactor before anything else sees them.
Each field states its limits as OpenAPI keywords (``constraints``), so a test holds them to openapi.yaml.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from authhooks.errors import FieldError, InvalidRequest
from authhooks.telemetry import redactor

UUID_PATTERN = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
UUID4_PATTERN = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$"
# The HTML5 (WHATWG) address grammar, with a dot required in the domain.
_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = f"^[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\\.{_LABEL})+$"
HTTP_URL_PATTERN = "^[Hh][Tt][Tt][Pp][Ss]?://[^\\s/?#@]+[^\\s]*$"

MISSING: Any = object()


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def wrong_type(path: str, expected: str, value: Any) -> FieldError:
    return FieldError(path, f"expected {expected}, got {json_type(value)}")


class Field:
    """One kind of field; ``check`` returns the parsed value, or MISSING after noting the problem."""

    required: bool = True
    secret: bool = False
    nullable: bool = False  # an optional field given as null counts as absent

    def check(self, path: str, value: Any, errors: list[FieldError]) -> Any:
        raise NotImplementedError

    def default(self) -> Any:
        return None

    def constraints(self) -> dict[str, Any]:
        """The OpenAPI keywords this field enforces (type, lengths, pattern, range)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Text(Field):
    """A string of ``minimum``..``limit`` characters, optionally matching ``pattern`` (an OpenAPI pattern)."""

    limit: int
    minimum: int = 1
    pattern: str | None = None
    mismatch: str = "has the wrong form"
    secret: bool = False
    required: bool = True
    nullable: bool = False

    def check(self, path: str, value: Any, errors: list[FieldError]) -> Any:
        if self.secret:
            redactor.add_request_secrets(value)  # before anything else looks at it, valid or not
        if not isinstance(value, str):
            errors.append(wrong_type(path, "a string", value))
        elif len(value) < self.minimum:
            errors.append(
                FieldError(
                    path,
                    "must not be empty"
                    if self.minimum == 1 or not value
                    else f"must be at least {self.minimum} characters",
                )
            )
        elif len(value) > self.limit:
            errors.append(FieldError(path, f"must be at most {self.limit} characters"))
        elif not self.matches(value):
            errors.append(FieldError(path, self.mismatch))
        else:
            return value
        return MISSING

    def matches(self, value: str) -> bool:
        return self.pattern is None or _compiled(self.pattern).search(value) is not None

    def constraints(self) -> dict[str, Any]:
        found: dict[str, Any] = {"type": "string", "maxLength": self.limit}
        if self.minimum:
            found["minLength"] = self.minimum
        if self.pattern:
            found["pattern"] = self.pattern
        return found


def uuid(*, version4: bool = False, secret: bool = False, required: bool = True) -> Text:
    """A UUID (any version, or v4 only) in its canonical text form."""
    return Text(
        36,
        pattern=UUID4_PATTERN if version4 else UUID_PATTERN,
        mismatch="must be a UUID v4" if version4 else "must be a UUID",
        secret=secret,
        required=required,
    )


def email(limit: int = 254) -> Text:
    return Text(limit, minimum=3, pattern=EMAIL_PATTERN, mismatch="not a valid email address", required=False)


@dataclass(frozen=True)
class HttpUrl(Text):
    """An absolute http(s) URL with a host (and a readable port)."""

    limit: int = 2048
    pattern: str | None = HTTP_URL_PATTERN
    mismatch: str = "must be an absolute http(s) URL"
    required: bool = False

    def matches(self, value: str) -> bool:
        try:
            parts = urlsplit(value)
            _ = parts.port  # raises on a malformed port
        except ValueError:
            return False
        return super().matches(value) and parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


@dataclass(frozen=True)
class Flag(Field):
    """true or false (absent: ``fallback``)."""

    fallback: bool = False
    required: bool = False

    def check(self, path: str, value: Any, errors: list[FieldError]) -> Any:
        if not isinstance(value, bool):
            errors.append(wrong_type(path, "a boolean", value))
            return MISSING
        return value

    def default(self) -> Any:
        return self.fallback

    def constraints(self) -> dict[str, Any]:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Integer(Field):
    """A whole number in ``minimum``..``maximum`` (absent: ``fallback``); ``unit`` names it in messages."""

    minimum: int
    maximum: int
    fallback: int | None = None
    unit: str = ""
    required: bool = False

    def check(self, path: str, value: Any, errors: list[FieldError]) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append(wrong_type(path, f"an integer ({self.unit})" if self.unit else "an integer", value))
        elif not self.minimum <= value <= self.maximum:
            errors.append(FieldError(path, f"must be from {self.minimum} to {self.maximum} {self.unit}".rstrip()))
        else:
            return value
        return MISSING

    def default(self) -> Any:
        return self.fallback

    def constraints(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class Schema:
    """A JSON object's fields (by name); ``openapi`` names the matching component of openapi.yaml."""

    fields: Mapping[str, Field]
    openapi: str = ""
    strict: bool = True  # unknown fields are errors
    extra: tuple[str, ...] = field(default=())  # names another schema of the same body owns

    def parse(self, body: Mapping[str, Any], errors: list[FieldError], prefix: str = "") -> dict[str, Any]:
        """The present, valid fields (defaults filled in); problems appended to ``errors``."""
        self.register_secrets(body)
        if self.strict:
            errors.extend(
                FieldError(f"{prefix}{name}"[:64], "unknown field")
                for name in body
                if name not in self.fields and name not in self.extra
            )
        values: dict[str, Any] = {}
        for name, kind in self.fields.items():
            path = f"{prefix}{name}"
            if name not in body or (body[name] is None and (kind.required or kind.nullable)):
                if kind.required:
                    errors.append(FieldError(path, "required"))
                elif kind.default() is not None:
                    values[name] = kind.default()
                continue
            value = kind.check(path, body[name], errors)
            if value is not MISSING:
                values[name] = value
        return values

    def register_secrets(self, body: Mapping[str, Any]) -> None:
        """Keep every secret field's value off the log lines of this request."""
        redactor.add_request_secrets(*(body.get(name) for name, kind in self.fields.items() if kind.secret))


def raise_if(errors: Iterable[FieldError]) -> None:
    """One 400 naming every field problem, if there is any."""
    found = list(errors)
    if found:
        raise InvalidRequest.of(found)


_patterns: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern not in _patterns:
        # OpenAPI's "$" is the end of the text; Python's also matches before a final newline.
        _patterns[pattern] = re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)
    return _patterns[pattern]
