"""The retailer's brand on the landing pages: logo, accent colour, names and links, checked once per cold start."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from authhooks import settings
from authhooks.telemetry import logger

DEFAULT_ACCENT = "#0b5cad"
MIN_CONTRAST = 4.5  # WCAG 2.2 SC 1.4.3 for normal text: white button text on the accent, the accent on white
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# A URL we place in an attribute and a CSP: printable ASCII without space, quotes, angle brackets or backslash.
_URL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-._~:/?#[]@!$&()*+,;=%")


@dataclass(frozen=True)
class Brand:
    site_name: str
    accent: str
    logo_url: str | None
    support_url: str | None
    privacy_url: str | None

    @property
    def logo_origin(self) -> str | None:
        """``https://host[:port]`` of the logo: the one origin the page may load an image from."""
        if self.logo_url is None:
            return None
        parts = urlsplit(self.logo_url)
        return f"https://{parts.netloc}"


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _https_url(name: str, value: str) -> str | None:
    """``value`` if it is an https URL with a host that is safe to place in a page; None (and a warning) if not."""
    if not value:
        return None
    try:
        parts = urlsplit(value)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        port_ok
        and parts.scheme == "https"
        and parts.hostname
        and "@" not in parts.netloc
        and set(value) <= _URL_CHARACTERS
    ):
        return value
    logger.warning("landing brand URL ignored: it must be an https URL", extra={"setting": name})
    return None


def _link(name: str, value: str) -> str | None:
    """A support or privacy link: https, or http for a site without TLS; None when unset or anything else."""
    if value.startswith("http://") and set(value) <= _URL_CHARACTERS and len(value) > len("http://"):
        return value
    return _https_url(name, value)


def _accent(value: str) -> str:
    if not _COLOUR.match(value):
        logger.warning("landing accent colour ignored: it must be #rrggbb", extra={"accent": value[:32]})
        return DEFAULT_ACCENT
    ratio = contrast(value, "#ffffff")
    if ratio < MIN_CONTRAST:
        # Kept (it is the retailer's colour), but button text and links on it are hard to read.
        logger.warning(
            "landing accent colour has too little contrast with white text",
            extra={"accent": value, "contrast": round(ratio, 2), "minimum": MIN_CONTRAST},
        )
    return value.lower()


@cache
def _of(config: settings.Bazaarvoice) -> Brand:
    return Brand(
        site_name=config.site_name,
        accent=_accent(config.accent_color),
        logo_url=_https_url("LandingLogoUrl", config.logo_url),
        support_url=_link("SupportUrl", config.support_url),
        privacy_url=_link("PrivacyUrl", config.privacy_url),
    )


def brand() -> Brand:
    """The brand of this deployment; checked (and warned about) once per settings, i.e. once per cold start."""
    return _of(settings.bazaarvoice())
