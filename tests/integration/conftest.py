"""The template as CloudFormation receives it: SAM-transformed, with its Conditions evaluated for given parameters."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from local import template


def sam_transform(parameters: dict[str, str] | None = None, tpl: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the real SAM translator (what ``sam deploy`` runs) over template.yaml, with ``parameters`` given."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    tpl = copy.deepcopy(tpl or template.cached())
    for resource in tpl["Resources"].values():
        for prop in ("CodeUri", "ContentUri"):
            if prop in resource.get("Properties", {}):
                resource["Properties"][prop] = "s3://bucket/key.zip"  # what `sam package` puts there
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(tpl, dict(parameters or {}), NoManagedPolicies())


def condition_values(out: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, bool]:
    """Each Condition's truth for the parameters given (defaults for the rest), as CloudFormation decides it."""
    return template.condition_values(parameters, out)


def deployed_resources(out: dict[str, Any], parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The resources CloudFormation would create for these parameters (those whose Condition holds)."""
    truth = condition_values(out, parameters)
    return {name: r for name, r in out["Resources"].items() if truth.get(r.get("Condition", ""), True)}


@pytest.fixture(scope="session")
def translated() -> dict[str, Any]:
    """The template after the SAM transform, with every parameter at its default."""
    return sam_transform()
