"""The local stack's fixed facts: ports, names, and the sandbox credentials of API.md."""

from __future__ import annotations

import os
from dataclasses import dataclass

from local import template

REGION = "us-east-1"
TABLE_NAME = "authhooks-tokens"
STACK_NAME = "authhooks-local"

# Exactly what a deployment's secrets hold, with the sandbox values (API.md, "Sandbox demo credentials").
DEMO_SECRETS: dict[str, dict] = {
    "BazaarvoiceSecret": {"passkey": "sandbox-bv-passkey"},
    "LoudVoiceSecret": {"public_key": "sandbox-public-key", "private_key": "sandbox-private-key"},
    "LiveVoxSecret": {
        "access_token": "sandbox-access-token",
        "session_key": "local-session-key-not-for-production",
        "accounts": {
            "demo": {"client_name": "SANDBOX", "user_name": "demo-user", "password": "sandbox-password",
                     "agent": False},
        },
    },
}

# Fake credentials: nothing here talks to AWS, and botocore must never find real ones by accident.
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


def secret_name(logical_id: str) -> str:
    """The name the template gives a secret (``${AWS::StackName}/<vendor>``)."""
    props = template.resource_properties(logical_id, template.cached())
    return template.resolve(props["Name"], {"AWS::StackName": STACK_NAME})


@dataclass(frozen=True)
class Ports:
    api: int
    dynamodb: int
    sandbox: int

    @classmethod
    def from_env(cls) -> Ports:
        return cls(
            api=int(os.environ.get("AUTHHOOKS_API_PORT", "3000")),
            dynamodb=int(os.environ.get("AUTHHOOKS_DYNAMODB_PORT", "8000")),
            sandbox=int(os.environ.get("AUTHHOOKS_SANDBOX_PORT", "3100")),
        )


def parameter_overrides(sandbox_url: str) -> dict[str, str]:
    """Template parameters that point the functions at the sandboxes instead of the real vendors."""
    return {
        "BazaarvoiceApiUrl": f"{sandbox_url}/bazaarvoice",
        "LoudVoiceApiUrl": f"{sandbox_url}/loudvoice",
        "LiveVoxApiUrl": f"{sandbox_url}/livevox",
        "SiteName": "authhooks demo store",
        "SupportUrl": "https://support.example.com/",
        "BazaarvoiceAllowedReturnUrls": "http://127.0.0.1:3000,https://shop.example.com",
    }


def names(sandbox_url: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """What every ``Ref`` in the template means locally: parameters, the table and the secrets."""
    tpl = template.cached()
    resolved = {**template.parameter_defaults(tpl), **parameter_overrides(sandbox_url), **(overrides or {})}
    resolved["TokensTable"] = TABLE_NAME
    resolved["AWS::StackName"] = STACK_NAME
    resolved["AWS::Region"] = REGION
    for logical_id in DEMO_SECRETS:
        resolved[logical_id] = secret_name(logical_id)
    return resolved


def function_environments(sandbox_url: str, overrides: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Each function's environment as Lambda would build it from the template, pointed at the local stack."""
    resolved = names(sandbox_url, overrides)
    return {
        logical_id: template.function_environment(fn, resolved)
        for logical_id, fn in template.functions(template.cached()).items()
    }
