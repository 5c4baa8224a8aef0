"""The shopper's language: the link's ``locale``, else ``Accept-Language`` (RFC 9110 weights), else the default."""

from __future__ import annotations

import re

# The languages the landing pages are written in (one catalogue each under locales/).
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja")
# Written right to left; none of ours yet, but ``dir`` follows the language, not a constant.
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur", "yi"})
MAX_HEADER_LENGTH = 1024
_RANGE = re.compile(r"^(?:\*|[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*)$")
_QUALITY = re.compile(r"^[qQ]=(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


def from_locale(value: object) -> str | None:
    """The language of a Bazaarvoice-style locale (``de_DE``, ``de-DE``, ``de``) if we have it, else None."""
    if not isinstance(value, str) or len(value) > 35:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return primary if primary in LANGUAGES else None


def from_accept_language(header: str | None, default: str) -> str | None:
    """The best language ``header`` accepts, or None if it accepts none of ours.

    q=0 refuses a language; ``*`` stands for every language not named (the default first); a regional range
    (``de-AT``) falls back to its language (RFC 4647 lookup); on equal quality the earlier range wins.
    """
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    ranges = _ranges(header)
    ranked: dict[str, tuple[float, int]] = {}  # language: (quality, rank), a lower rank wins a tie
    for position, (tag, quality) in enumerate(ranges):
        language = tag.split("-")[0].lower()
        if language not in LANGUAGES:
            continue
        if tag.lower() == language:
            ranked[language] = (quality, position)  # the language's own range outweighs its regional ones
        elif language not in ranked or (ranked[language][0] < quality and _regional(ranges, language)):
            ranked[language] = (quality, position)
    wildcard = next((quality for tag, quality in ranges if tag == "*"), None)
    if wildcard is not None:
        for offset, language in enumerate((default, *LANGUAGES)):
            ranked.setdefault(language, (wildcard, len(ranges) + offset))
    accepted = [(quality, -rank, language) for language, (quality, rank) in ranked.items() if quality > 0]
    return max(accepted)[2] if accepted else None


def _regional(ranges: list[tuple[str, float]], language: str) -> bool:
    """True if no range names ``language`` on its own (only then do its regional ranges decide)."""
    return all(tag.lower() != language for tag, _ in ranges)


def _ranges(header: str) -> list[tuple[str, float]]:
    """``(range, q)`` pairs of a header, skipping malformed members."""
    ranges: list[tuple[str, float]] = []
    for member in header.split(","):
        tag, *params = [part.strip() for part in member.split(";")]
        if not _RANGE.match(tag):
            continue
        weights = [param for param in params if param.startswith(("q", "Q"))]
        found = _QUALITY.match(weights[0]) if len(weights) == 1 else None
        if weights and found is None:
            continue  # q=2, q=abc, two weights: not a range we can rank
        ranges.append((tag, float(found.group(1)) if found else 1.0))
    return ranges


def choose(locale: object, accept_language: str | None, default: str) -> str:
    """The page language: the link's locale, else the browser's preference, else ``default``."""
    fallback = default if default in LANGUAGES else LANGUAGES[0]
    return from_locale(locale) or from_accept_language(accept_language, fallback) or fallback


def direction(language: str) -> str:
    """``rtl`` or ``ltr``, for the ``dir`` attribute."""
    return "rtl" if language in RIGHT_TO_LEFT else "ltr"
