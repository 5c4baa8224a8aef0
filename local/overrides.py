"""The settings `sam` takes, for the local stack: parameter overrides and the vendor secrets to use.

``AUTHHOOKS_PARAMETER_OVERRIDES`` has `sam --parameter-overrides` syntax (``Key=Value`` or
``ParameterKey=K,ParameterValue=V``, space-separated, values quoted like a shell's). ``AUTHHOOKS_SECRETS_FILE`` names a
JSON file ``{"BazaarvoiceSecret": {...}, ...}`` whose objects replace the demo secrets. Both are checked against
template.yaml, and every problem is an ``OverridesError`` that names it (never a secret's value).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local import config, template

PARAMETERS_VARIABLE = "AUTHHOOKS_PARAMETER_OVERRIDES"
SECRETS_VARIABLE = "AUTHHOOKS_SECRETS_FILE"

_KEY = re.compile(r"[A-Za-z0-9]+")
_LONG_FORM = re.compile(r"ParameterKey=(?P<key>[^,]*),ParameterValue=(?P<value>.*)", re.DOTALL)

# vendor -> (secret logical id, the parameters that point it somewhere else than the sandbox)
VENDORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Bazaarvoice": ("BazaarvoiceSecret", ("BazaarvoiceApiUrl",)),
    "LoudVoice": ("LoudVoiceSecret", ("LoudVoiceApiUrl", "LoudVoiceSubdomain")),
    "LiveVox": ("LiveVoxSecret", ("LiveVoxApiUrl",)),
}


class OverridesError(ValueError):
    """A setting that cannot be used, with what is wrong with it."""


@dataclass(frozen=True)
class Settings:
    """Parameter overrides and replacement secrets, as the user gave them (empty: the sandboxes, demo secrets)."""

    parameters: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets_file: str = ""

    def stack_parameters(self) -> dict[str, str]:
        """The overrides for the stack: a LoudVoice subdomain alone means OneAll's own URL, not the sandbox's."""
        extra = {}
        if "LoudVoiceSubdomain" in self.parameters and "LoudVoiceApiUrl" not in self.parameters:
            extra["LoudVoiceApiUrl"] = ""
        return {**extra, **self.parameters}

    def stack_secrets(self) -> dict[str, dict[str, Any]]:
        """Every vendor secret: the file's where it gave one, the demo one elsewhere."""
        return {**config.DEMO_SECRETS, **self.secrets}

    def sandboxed(self) -> set[str]:
        """The vendors whose calls still go to the sandboxes (no parameter points them elsewhere)."""
        return {vendor for vendor, (_, parameters) in VENDORS.items()
                if not any(p in self.parameters for p in parameters)}

    def vendors(self) -> dict[str, str]:
        """Vendor -> what it talks to: ``sandbox`` or ``REAL: <parameters>``, and where its secret comes from."""
        described = {}
        for vendor, (secret, parameters) in VENDORS.items():
            given = [f"{p}={self.parameters[p]}" for p in parameters if p in self.parameters]
            where = f"REAL: {', '.join(given)}" if given else "sandbox"
            source = f"secret from {self.secrets_file}" if secret in self.secrets else "demo secret"
            described[vendor] = f"{where} ({source})"
        return described


def parse_parameter_overrides(text: str, known: dict[str, Any] | None = None) -> dict[str, str]:
    """``Key=Value`` / ``ParameterKey=K,ParameterValue=V`` pairs -> dict, checked against the template's parameters."""
    known = template.cached().get("Parameters", {}) if known is None else known
    try:
        tokens = shlex.split(text)
    except ValueError as exc:
        raise OverridesError(f"{PARAMETERS_VARIABLE}: {exc} (quote values as in a shell)") from None
    parsed: dict[str, str] = {}
    for token in tokens:
        long_form = _LONG_FORM.fullmatch(token)
        if long_form:
            key, value = long_form["key"], long_form["value"]
        elif "=" in token and not token.startswith("ParameterKey"):
            key, value = token.split("=", 1)
        else:
            raise OverridesError(f"{PARAMETERS_VARIABLE}: {token!r} is neither Key=Value nor "
                                 "ParameterKey=Key,ParameterValue=Value")
        if not _KEY.fullmatch(key):
            raise OverridesError(f"{PARAMETERS_VARIABLE}: {key!r} is not a parameter name")
        if key not in known:
            raise OverridesError(f"{PARAMETERS_VARIABLE}: template.yaml has no parameter {key!r}; "
                                 f"one of: {', '.join(known)}")
        allowed = known[key].get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise OverridesError(f"{PARAMETERS_VARIABLE}: {key} must be one of {', '.join(map(str, allowed))}, "
                                 f"not {value!r}")
        parsed[key] = value
    return parsed


def _secret_shape(logical_id: str) -> tuple[set[str], str | None]:
    """The keys the template gives the secret, and the key a deployment generates (if any)."""
    props = template.resource_properties(logical_id, template.cached())
    generated = props.get("GenerateSecretString")
    if generated:
        return set(json.loads(generated["SecretStringTemplate"])), generated.get("GenerateStringKey")
    return set(json.loads(props["SecretString"])), None


def load_secrets_file(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The file's secrets, each checked: a known logical id, a JSON object, every key the template gives it."""
    name = os.fspath(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OverridesError(f"{SECRETS_VARIABLE}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:
        # The message names the position only: the text around it could be a secret.
        raise OverridesError(f"{SECRETS_VARIABLE}: {name} is not JSON (line {getattr(exc, 'lineno', '?')}, "
                             f"column {getattr(exc, 'colno', '?')})") from None
    if not isinstance(data, dict) or not data:
        raise OverridesError(f"{SECRETS_VARIABLE}: {name} must hold a JSON object with one or more of "
                             f"{', '.join(config.DEMO_SECRETS)}")
    loaded: dict[str, dict[str, Any]] = {}
    for logical_id, value in data.items():
        if logical_id not in config.DEMO_SECRETS:
            raise OverridesError(f"{SECRETS_VARIABLE}: {name} has {logical_id!r}, which is not a secret in "
                                 f"template.yaml; one of: {', '.join(config.DEMO_SECRETS)}")
        if not isinstance(value, dict):
            raise OverridesError(f"{SECRETS_VARIABLE}: {name}: {logical_id} must be a JSON object")
        required, generated = _secret_shape(logical_id)
        missing = sorted(required - set(value))
        if missing:
            raise OverridesError(f"{SECRETS_VARIABLE}: {name}: {logical_id} lacks {', '.join(missing)}")
        loaded[logical_id] = dict(value)
        if generated and generated not in value:
            # What the deployment's GenerateSecretString does when the operator did not set it.
            loaded[logical_id][generated] = secrets.token_urlsafe(48)
    return loaded


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """The settings from ``AUTHHOOKS_PARAMETER_OVERRIDES`` and ``AUTHHOOKS_SECRETS_FILE`` (unset: none)."""
    environ = dict(os.environ) if environ is None else environ
    parameters = parse_parameter_overrides(environ.get(PARAMETERS_VARIABLE, ""))
    secrets_file = environ.get(SECRETS_VARIABLE, "")
    loaded = load_secrets_file(secrets_file) if secrets_file else {}
    return Settings(parameters, loaded, secrets_file)
