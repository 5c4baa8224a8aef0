"""The template and the built artifact: what Lambda will really load, and the policies we promise."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local import runtime, template

TPL = template.cached()


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return runtime.lambda_runtime_dir(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.mark.parametrize("logical_id", sorted(template.functions(TPL)))
def test_handler_imports_from_the_built_artifact_with_only_the_layer_and_runtime(
    logical_id: str, runtime_dir: Path
) -> None:
    fn = template.functions(TPL)[logical_id]
    code, layer = runtime.paths(fn, "build")
    probe = textwrap.dedent(f"""
        import json, sys
        sys.path[:0] = [{str(code)!r}, {str(layer)!r}, {str(runtime_dir)!r}]
        import {fn.module} as app
        handler = getattr(app, {fn.attribute!r})
        import requests, aws_lambda_powertools, authhooks
        print(json.dumps({{"handler": callable(handler), "requests": requests.__file__,
                          "powertools": aws_lambda_powertools.__file__, "authhooks": authhooks.__file__}}))
    """)
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
    # -I -S: no site-packages, no user site, no PYTHONPATH: only what we put on sys.path.
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["handler"] is True
    for name in ("requests", "powertools", "authhooks"):
        assert found[name].startswith(str(layer)), f"{name} must come from the built layer, not {found[name]}"


def test_landing_routes_are_public_and_every_other_route_is_authorized() -> None:
    for route in template.routes(TPL):
        # The landing path only: no public catch-all shares a function with an authorized route's path.
        landing = route.path == "/bazaarvoice/confirm"
        assert route.public == landing, f"{route.method} {route.path}"
        assert route.authorizer == ("" if landing else "JwtAuthorizer"), f"{route.method} {route.path}"
    # One way to declare a route: Route resources only (a SAM HttpApi body would drop them on updates).
    assert not [r for r in TPL["Resources"].values() if r["Type"] == "AWS::Serverless::HttpApi"]
    for fn in template.functions(TPL).values():
        assert "Events" not in TPL["Resources"][fn.logical_id]["Properties"], fn.logical_id


def test_the_landing_function_has_reserved_concurrency_and_remembers_refusals() -> None:
    params = TPL["Parameters"]
    assert params["BazaarvoiceRefusedTokenMinutes"]["Default"] == 15
    assert params["BazaarvoiceReservedConcurrency"]["MinValue"] >= 1
    props = template.resource_properties("BazaarvoiceConfirmFunction", TPL)
    assert props["ReservedConcurrentExecutions"] == {"Ref": "BazaarvoiceReservedConcurrency"}
    variables = props["Environment"]["Variables"]
    assert variables["BAZAARVOICE_REFUSED_TOKEN_MINUTES"] == {"Ref": "BazaarvoiceRefusedTokenMinutes"}


def test_the_table_has_ttl_on_expires_at_pitr_and_encryption() -> None:
    props = template.resource_properties("TokensTable", TPL)
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True,
        "RecoveryPeriodInDays": {"Ref": "PitrRecoveryDays"},
    }
    days = TPL["Parameters"]["PitrRecoveryDays"]
    assert (days["MinValue"], days["MaxValue"], days["Default"]) == (1, 35, 35), "DynamoDB allows 1 to 35 days"
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]


def test_no_function_policy_has_a_wildcard_resource() -> None:
    for fn in template.functions(TPL).values():
        for policy in TPL["Resources"][fn.logical_id]["Properties"]["Policies"]:
            for statement in policy.get("Statement", []):
                assert "*" not in json.dumps(statement["Resource"]), statement  # also inside lists and Fn::Sub
                assert "*" not in json.dumps(statement["Action"])
            if "AWSSecretsManagerGetSecretValuePolicy" in policy:
                arn = policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
                assert arn["Ref"].endswith("Secret")


def test_each_function_role_reaches_only_the_table_and_its_own_secret(translated: dict) -> None:
    """What the policy shortcuts expand to: no ``*`` resource, its own secrets only, only AWS's logging policy."""
    environments = {fn.logical_id: fn.environment for fn in template.functions(TPL).values()}
    for logical_id, env in environments.items():
        role = translated["Resources"][f"{logical_id}Role"]["Properties"]
        assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
        statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
        for statement in statements:
            assert statement["Effect"] == "Allow"
            assert "*" not in json.dumps(statement["Resource"]) and "*" not in json.dumps(statement["Action"])
        resources = json.dumps([s["Resource"] for s in statements])
        own = sorted(value["Ref"] for name, value in env.items() if name.endswith("_SECRET"))
        assert own, f"{logical_id} names no secret"
        reached = sorted(re.findall(r'"Ref": "(\w+Secret)"', resources))
        assert reached == own, "a function reads the secrets its environment names and no other"


@pytest.mark.parametrize("directory", ["SharedLayer", *sorted(template.functions(TPL))])
def test_every_built_module_ships_compiled_for_the_runtime(directory: str) -> None:
    """`make build` compiles the artifact: on Lambda's read-only /opt and /var/task a module without a usable .pyc is
    compiled again on every cold start (README "Runtime and packaging")."""
    import importlib.util

    root = runtime.BUILD_DIR / directory
    sources = sorted(root.rglob("*.py"))
    assert sources, f"nothing built under {root}: run `make build`"
    stale = []
    for source in sources:
        compiled = Path(importlib.util.cache_from_source(str(source)))
        data = compiled.read_bytes() if compiled.exists() else b""
        # PEP 552: magic of this Python, flags 0b01 (hash-based, source not checked), the source's hash.
        if (data[:4], int.from_bytes(data[4:8], "little"), data[8:16]) != (
            importlib.util.MAGIC_NUMBER,
            0b01,
            importlib.util.source_hash(source.read_bytes()),
        ):
            stale.append(str(source.relative_to(root)))
    assert stale == [], f"{len(stale)} of {len(sources)} modules lack a matching unchecked-hash .pyc: {stale[:5]}"
