"""Typed settings from the environment (template parameters); secrets through Powertools Parameters."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from authhooks.errors import InternalError
from authhooks.telemetry import logger, redactor


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set")
    return value


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip().rstrip("/") for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Common:
    table_name: str
    connect_timeout: float
    read_timeout: float

    @classmethod
    def from_env(cls) -> Common:
        return cls(
            table_name=_env("TOKENS_TABLE"),
            connect_timeout=float(_env("VENDOR_CONNECT_TIMEOUT", "2")),
            read_timeout=float(_env("VENDOR_READ_TIMEOUT", "5")),
        )


@dataclass(frozen=True)
class Bazaarvoice:
    secret_name: str
    api_url: str
    api_version: str
    params_in: str
    token_ttl_days: int
    confirm_mode: str
    allowed_return_urls: tuple[str, ...]
    site_name: str
    support_url: str
    privacy_url: str
    logo_url: str
    accent_color: str
    default_language: str

    @classmethod
    def from_env(cls) -> Bazaarvoice:
        return cls(
            secret_name=_env("BAZAARVOICE_SECRET"),
            api_url=_env("BAZAARVOICE_API_URL", "https://api.bazaarvoice.com").rstrip("/"),
            api_version=_env("BAZAARVOICE_API_VERSION", "5.4"),
            params_in=_env("BAZAARVOICE_PARAMS_IN", "query"),
            token_ttl_days=int(_env("BAZAARVOICE_TOKEN_TTL_DAYS", "30")),
            confirm_mode=_env("BAZAARVOICE_CONFIRM_MODE", "auto"),
            allowed_return_urls=_csv(_env("BAZAARVOICE_ALLOWED_RETURN_URLS", "")),
            site_name=_env("SITE_NAME", "Our store"),
            support_url=_env("SUPPORT_URL", ""),
            privacy_url=_env("PRIVACY_URL", ""),
            logo_url=_env("LANDING_LOGO_URL", ""),
            accent_color=_env("LANDING_ACCENT_COLOR", "#0b5cad"),
            default_language=_env("LANDING_DEFAULT_LANGUAGE", "en"),
        )


@dataclass(frozen=True)
class LoudVoice:
    secret_name: str
    api_url: str

    @classmethod
    def from_env(cls) -> LoudVoice:
        explicit = _env("LOUDVOICE_API_URL", "")
        subdomain = _env("LOUDVOICE_SUBDOMAIN", "")
        api_url = explicit or f"https://{subdomain}.api.oneall.com"
        return cls(secret_name=_env("LOUDVOICE_SECRET"), api_url=api_url.rstrip("/"))


@dataclass(frozen=True)
class LiveVox:
    secret_name: str
    api_url: str
    login_path: str
    sso_path: str
    agent_flag: str
    session_margin_seconds: int
    login_wait_seconds: float
    lease_seconds: int

    @classmethod
    def from_env(cls) -> LiveVox:
        return cls(
            secret_name=_env("LIVEVOX_SECRET"),
            api_url=_env("LIVEVOX_API_URL", "https://api.livevox.com").rstrip("/"),
            login_path=_env("LIVEVOX_LOGIN_PATH", "/session/login"),
            sso_path=_env("LIVEVOX_SSO_PATH", "/session/login/sso"),
            agent_flag=_env("LIVEVOX_AGENT_FLAG", "agent"),
            session_margin_seconds=int(_env("LIVEVOX_SESSION_MARGIN_SECONDS", "300")),
            login_wait_seconds=float(_env("LIVEVOX_LOGIN_WAIT_SECONDS", "8")),
            lease_seconds=int(_env("LIVEVOX_LEASE_SECONDS", "10")),
        )


@cache
def common() -> Common:
    return Common.from_env()


@cache
def bazaarvoice() -> Bazaarvoice:
    return Bazaarvoice.from_env()


@cache
def loudvoice() -> LoudVoice:
    return LoudVoice.from_env()


@cache
def livevox() -> LiveVox:
    return LiveVox.from_env()


def secret(name: str) -> dict[str, Any]:
    """A vendor secret (JSON object) from Secrets Manager, cached for POWERTOOLS_PARAMETERS_MAX_AGE."""
    from aws_lambda_powertools.utilities import parameters  # lazy: keeps it off the cold path of other routes

    try:
        value = parameters.get_secret(name, transform="json")
    except parameters.exceptions.GetParameterError as exc:
        # The message can carry the secret's ARN but never its value; still keep it to the log.
        logger.error("could not read vendor secret", extra={"secret_name": name, "reason": str(exc)})
        raise InternalError("vendor credentials are not available") from exc
    if not isinstance(value, dict):
        raise InternalError("vendor secret is not a JSON object")
    if _registered.get(name) is not value:
        # Parameters hands back the same object while it is cached: register each fetched value once.
        redactor.add_deployment_secrets(value)
        _registered[name] = value
    return value


_registered: dict[str, dict[str, Any]] = {}


def reset() -> None:
    """Forget cached settings and secrets (tests change the environment between cases)."""
    for cached in (common, bazaarvoice, loudvoice, livevox):
        cached.cache_clear()
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()
