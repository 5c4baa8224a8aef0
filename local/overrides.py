"""The settings `sam` takes, for the local stack: parameter overrides and the vendor secrets to use.

``AUTHHOOKS_PARAMETER_OVERRIDES`` has `sam --parameter-overrides` syntax (``Key=Value`` or
``ParameterKey=K,ParameterValue=V``, space-separated, values quoted like a shell's). ``AUTHHOOKS_SECRETS_FILE`` names a
JSON file ``{"BazaarvoiceSecret": {...}, ...}`` whose objects replace the demo secrets. Both are checked (against
template.yaml and the layer's secret shapes), and every problem is an ``OverridesError`` that names it (never a
secret's value).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from local import config, runtime, template

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
        return {
            vendor for vendor, (_, parameters) in VENDORS.items() if not any(p in self.parameters for p in parameters)
        }

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
            raise OverridesError(
                f"{PARAMETERS_VARIABLE}: {token!r} is neither Key=Value nor ParameterKey=Key,ParameterValue=Value"
            )
        if not _KEY.fullmatch(key):
            raise OverridesError(f"{PARAMETERS_VARIABLE}: {key!r} is not a parameter name")
        if key not in known:
            raise OverridesError(
                f"{PARAMETERS_VARIABLE}: template.yaml has no parameter {key!r}; one of: {', '.join(known)}"
            )
        allowed = known[key].get("AllowedValues")
        if allowed and value not in [str(a) for a in allowed]:
            raise OverridesError(
                f"{PARAMETERS_VARIABLE}: {key} must be one of {', '.join(map(str, allowed))}, not {value!r}"
            )
        parsed[key] = value
    return parsed


@cache
def _shapes() -> Any:
    """The layer's ``authhooks.secret_shapes`` (what each secret holds, the checks the onboarding command runs).

    Loaded from its file: putting the layer on sys.path here would shadow the artifact a test process imports.
    """
    path = runtime.SOURCE_LAYER / "authhooks" / "secret_shapes.py"
    spec = importlib.util.spec_from_file_location("_authhooks_secret_shapes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def load_secrets_file(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The file's secrets, each checked as the onboarding command checks it (a secret the operator fills)."""
    name = os.fspath(path)
    shapes = {shape.logical_id: shape for shape in _shapes().SHAPES.values()}
    fillable = [logical_id for logical_id, shape in shapes.items() if shape.operator_fills]
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise OverridesError(f"{SECRETS_VARIABLE}: cannot read {name}: {exc.strerror or exc}") from None
    except ValueError as exc:
        # The message names the position only: the text around it could be a secret.
        raise OverridesError(
            f"{SECRETS_VARIABLE}: {name} is not JSON (line {getattr(exc, 'lineno', '?')}, "
            f"column {getattr(exc, 'colno', '?')})"
        ) from None
    if not isinstance(data, dict) or not data:
        raise OverridesError(
            f"{SECRETS_VARIABLE}: {name} must hold a JSON object with one or more of {', '.join(fillable)}"
        )
    loaded: dict[str, dict[str, Any]] = {}
    for logical_id, value in data.items():
        shape = shapes.get(logical_id)
        if shape is None:
            raise OverridesError(
                f"{SECRETS_VARIABLE}: {name} has {logical_id!r}, which is not a secret in "
                f"template.yaml; one of: {', '.join(fillable)}"
            )
        if not shape.operator_fills:
            raise OverridesError(
                f"{SECRETS_VARIABLE}: {name}: {logical_id} is generated by the stack, never set by hand"
            )
        problems = shape.problems(value)
        if problems:
            raise OverridesError(f"{SECRETS_VARIABLE}: {name}: {logical_id}: {_shapes().describe(problems)}")
        loaded[logical_id] = value
    return loaded


def from_env(environ: dict[str, str] | None = None) -> Settings:
    """The settings from ``AUTHHOOKS_PARAMETER_OVERRIDES`` and ``AUTHHOOKS_SECRETS_FILE`` (unset: none)."""
    environ = dict(os.environ) if environ is None else environ
    parameters = parse_parameter_overrides(environ.get(PARAMETERS_VARIABLE, ""))
    secrets_file = environ.get(SECRETS_VARIABLE, "")
    loaded = load_secrets_file(secrets_file) if secrets_file else {}
    return Settings(parameters, loaded, secrets_file)
