"""Typed settings from the environment (template parameters); secrets through Powertools Parameters.

Every default lives in template.yaml, once: a variable the template sets is required here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

from authhooks.errors import CredentialsUnavailable
from authhooks.telemetry import logger, metrics, redactor


def _env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise RuntimeError(f"environment variable {name} is not set (template.yaml sets it)")
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
            connect_timeout=float(_env("VENDOR_CONNECT_TIMEOUT")),
            read_timeout=float(_env("VENDOR_READ_TIMEOUT")),
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

    @classmethod
    def from_env(cls) -> Bazaarvoice:
        return cls(
            secret_name=_env("BAZAARVOICE_SECRET"),
            api_url=_env("BAZAARVOICE_API_URL").rstrip("/"),
            api_version=_env("BAZAARVOICE_API_VERSION"),
            params_in=_env("BAZAARVOICE_PARAMS_IN"),
            token_ttl_days=int(_env("BAZAARVOICE_TOKEN_TTL_DAYS")),
            confirm_mode=_env("BAZAARVOICE_CONFIRM_MODE"),
            allowed_return_urls=_csv(_env("BAZAARVOICE_ALLOWED_RETURN_URLS")),
            site_name=_env("SITE_NAME"),
            support_url=_env("SUPPORT_URL"),
        )


@dataclass(frozen=True)
class LoudVoice:
    secret_name: str
    api_url: str

    @classmethod
    def from_env(cls) -> LoudVoice:
        explicit = _env("LOUDVOICE_API_URL")
        subdomain = _env("LOUDVOICE_SUBDOMAIN")
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
    sso_client_field: str
    sso_token_field: str
    revalidate_seconds: int
    refusal_seconds: int
    refusal_limit: int

    @classmethod
    def from_env(cls) -> LiveVox:
        return cls(
            secret_name=_env("LIVEVOX_SECRET"),
            api_url=_env("LIVEVOX_API_URL").rstrip("/"),
            login_path=_env("LIVEVOX_LOGIN_PATH"),
            sso_path=_env("LIVEVOX_SSO_PATH"),
            agent_flag=_env("LIVEVOX_AGENT_FLAG"),
            session_margin_seconds=int(_env("LIVEVOX_SESSION_MARGIN_SECONDS")),
            login_wait_seconds=float(_env("LIVEVOX_LOGIN_WAIT_SECONDS")),
            lease_seconds=int(_env("LIVEVOX_LEASE_SECONDS")),
            sso_client_field=_env("LIVEVOX_SSO_CLIENT_FIELD"),
            sso_token_field=_env("LIVEVOX_SSO_TOKEN_FIELD"),
            revalidate_seconds=int(_env("LIVEVOX_REVALIDATE_SECONDS")),
            refusal_seconds=int(_env("LIVEVOX_REFUSAL_SECONDS")),
            refusal_limit=int(_env("LIVEVOX_REFUSAL_LIMIT")),
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


def _secrets_provider() -> Any:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from botocore.config import Config

    # Short timeouts and botocore's standard retries: a Secrets Manager that never answers must not hold the
    # function past its timeout (the default read timeout is 60 s).
    return SecretsProvider(boto_config=Config(connect_timeout=2, read_timeout=3,
                                              retries={"mode": "standard", "max_attempts": 2}))


_provider: list[Any] = []


def secret(name: str) -> dict[str, Any]:
    """A vendor secret (JSON object) from Secrets Manager, cached for POWERTOOLS_PARAMETERS_MAX_AGE.

    Secrets Manager failing, or a value that is not a JSON object, is a 503 ``credentials_unavailable``.
    """
    from aws_lambda_powertools.utilities import parameters  # lazy: keeps it off the cold path of other routes

    if not _provider:
        _provider.append(_secrets_provider())
    try:
        value = _provider[0].get(name, transform="json")
    except (parameters.exceptions.GetParameterError, parameters.exceptions.TransformParameterError) as exc:
        # The message can carry the secret's ARN but never its value; still keep it to the log.
        raise _unavailable(name, "could not read vendor secret", str(exc)[:300]) from exc
    if not isinstance(value, dict):
        raise _unavailable(name, "vendor secret is not a JSON object", type(value).__name__)
    if _registered.get(name) is not value:
        # Parameters hands back the same object while it is cached: register each fetched value once.
        redactor.add_deployment_secrets(value)
        _registered[name] = value
    return value


def secret_text(name: str, key: str) -> str:
    """One non-empty text value of a vendor secret; missing or empty is a 503 naming the key (in the log)."""
    value = secret(name).get(key)
    if not isinstance(value, str) or not value:
        raise _unavailable(name, "vendor secret lacks a value", key)
    return value


def _unavailable(name: str, message: str, reason: str) -> CredentialsUnavailable:
    from aws_lambda_powertools.metrics import MetricUnit

    logger.error(message, extra={"secret_name": name, "reason": reason})
    metrics.add_metric(name="CredentialsUnavailable", unit=MetricUnit.Count, value=1)
    return CredentialsUnavailable("vendor credentials are not available")


_registered: dict[str, dict[str, Any]] = {}


def reset() -> None:
    """Forget cached settings and secrets (tests change the environment between cases)."""
    for cached in (common, bazaarvoice, loudvoice, livevox):
        cached.cache_clear()
    if _provider:
        _provider[0].clear_cache()
    _provider.clear()
