"""Schemathesis against the running local stack: every operation of openapi.yaml, then the stateful link chains.

Every answer must not be a server error and must conform to the document: its status, content type, body schema
and headers (``Retry-After`` on a 503). The budget is ``AUTHHOOKS_FUZZ_EXAMPLES`` generated cases per operation (200
in CI, more with ``make audit``) plus the coverage phase's boundary cases; generation is seeded, so a failure repeats.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local import config
from local.audit import tally
from local.sandbox.client import SandboxClient
from local.stack import Stack

OPENAPI = Path(__file__).resolve().parents[2] / "openapi.yaml"
FUZZ_EXAMPLES = int(os.environ.get("AUTHHOOKS_FUZZ_EXAMPLES", "200"))
SCENARIOS = int(os.environ.get("AUTHHOOKS_FUZZ_SCENARIOS", "60"))
SEED = 20261123
# pytest's 300 s per test is for CI's budget; a larger one (make audit) gets time in proportion.
pytestmark = pytest.mark.timeout(300 + FUZZ_EXAMPLES // 4 + SCENARIOS)
# The methods an HTTP API routes: the coverage phase sends the other ones of these to each path (a 405 is due).
HTTP_API_METHODS = ["DELETE", "GET", "OPTIONS", "PATCH", "POST", "PUT"]
# The landing routes answer HTML or JSON by Accept: both are fuzzed.
LANDING_ACCEPTS = ("*/*", "application/json", "text/html,application/xhtml+xml;q=0.9")

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"mode": "all", "database": "none"},
        "phases": {"coverage": {"unexpected-methods": HTTP_API_METHODS}},
    }
)
SCHEMA = schemathesis.openapi.from_path(OPENAPI, config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
SETTINGS = hypothesis.settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
)


def _accept(case: Any) -> dict[str, str]:
    if case.operation.path != "/bazaarvoice/confirm":
        return {}
    # Derived from the case, so the same seed sends the same Accept (Python's str hash is salted per process).
    choice = zlib.crc32(repr((case.query, case.body)).encode("utf-8", "replace")) % len(LANDING_ACCEPTS)
    return {"Accept": LANDING_ACCEPTS[choice]}


def _call(case: Any, base_url: str, figure: str) -> Any:
    response = case.call(base_url=base_url, headers=_accept(case), timeout=60)
    tally(figure, case.operation.label)
    if response.status_code >= 500:
        tally("server_errors", case.operation.label)
    return response


@pytest.fixture
def budget(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Cases run per operation; after the last one, each operation must have had at least its budget."""
    counted: Counter[str] = Counter()
    yield counted
    for label, cases in counted.items():
        assert cases >= FUZZ_EXAMPLES, f"{label}: only {cases} cases were generated (budget {FUZZ_EXAMPLES})"


@SCHEMA.parametrize()
@SETTINGS
def test_every_operation_conforms_and_never_fails(case: Any, stack: Stack, budget: Counter[str]) -> None:
    budget[case.operation.label] += 1
    response = _call(case, stack.api_url, "fuzz.cases")
    case.validate_response(response, checks=CHECKS)


def forget_everything(stack: Stack) -> None:
    """The sandboxes and the table as new."""
    SandboxClient(stack.sandbox_url).reset()
    dynamodb = stack.client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=config.TABLE_NAME, ProjectionExpression="pk"):
        for item in page["Items"]:
            dynamodb.delete_item(TableName=config.TABLE_NAME, Key={"pk": item["pk"]})


# Each chain: the operation that starts a session, and the ones openapi.yaml links from its answer.
CHAINS = {
    "loudvoice": ["startAuthorSession", "getAuthorSession", "endAuthorSession"],
    "livevox-login": ["logIn", "validateLiveVoxSession", "logOutLiveVoxSession"],
    "livevox-sso": ["ssoLogIn", "validateLiveVoxSession", "logOutLiveVoxSession"],
}


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_stateful_link_chains(stack: Stack, chain: str) -> None:
    """Start a session, then follow the links from its answer: get it, end it, again, in any order."""
    base_url = stack.api_url

    class Chains(SCHEMA.include(operation_id=CHAINS[chain]).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario from a clean slate: the same steps then get the same answers, as Hypothesis requires.
            forget_everything(stack)

        def call(self, case: Any, **kwargs: Any) -> Any:
            return _call(case, base_url, "fuzz.scenario_steps")

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Chains.run(settings=hypothesis.settings(SETTINGS, max_examples=SCENARIOS, stateful_step_count=6))
