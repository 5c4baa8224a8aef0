"""The README's secret onboarding, run as written against moto's server: it merges, checks, refuses, and logins work."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from authhooks.secret_shapes import SHAPES

from local import config, template

README = template.ROOT / "README.md"
STACK = config.STACK_NAME
GENERATED = "generated-at-deploy-" + "k" * 40


def readme_commands() -> list[list[str]]:
    """The ``python -m scripts.vendor_secrets ...`` lines of the README's Deploy section, as argument lists."""
    lines = re.findall(
        r"^(python -m scripts\.vendor_secrets .+?)(?:\s+#.*)?$", README.read_text(encoding="utf-8"), re.M
    )
    return [line.split() for line in lines]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """The onboarding command in a process of its own, with the test's AWS environment (moto's server)."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.vendor_secrets", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=dict(os.environ),
        cwd=template.ROOT,
        timeout=60,
        check=False,
    )


def stored(aws: Any, suffix: str) -> dict[str, Any]:
    return json.loads(aws.secretsmanager.get_secret_value(SecretId=f"{STACK}/{suffix}")["SecretString"])


@pytest.fixture
def fresh_stack(aws_server: Any) -> Any:
    """The secrets as a first deploy leaves them: the template's empty operator values, a generated session key."""
    for shape in SHAPES.values():
        props = template.resource_properties(shape.logical_id, template.cached())
        value = props.get("SecretString") or json.dumps({props["GenerateSecretString"]["GenerateStringKey"]: GENERATED})
        aws_server.secretsmanager.put_secret_value(SecretId=config.secret_name(shape.logical_id), SecretString=value)
    return aws_server


def test_the_template_names_each_secret_stack_slash_suffix_and_the_demo_secrets_have_the_shapes() -> None:
    for suffix, shape in SHAPES.items():
        props = template.resource_properties(shape.logical_id, template.cached())
        assert props["Name"] == {"Fn::Sub": f"${{AWS::StackName}}/{suffix}"}
        assert ("GenerateSecretString" in props) == (not shape.operator_fills), "generated keys never share a secret"
        assert shape.problems(config.DEMO_SECRETS[shape.logical_id]) == [], suffix
    assert set(config.DEMO_SECRETS) == {shape.logical_id for shape in SHAPES.values()}


def test_a_fresh_stack_fails_the_check_naming_each_empty_key(fresh_stack: Any) -> None:
    done = run("check", "--stack", STACK)
    assert done.returncode == 1
    assert f"{STACK}/bazaarvoice: passkey must be a non-empty string" in done.stdout
    assert f"{STACK}/livevox: access_token must be a non-empty string" in done.stdout
    assert f"{STACK}/livevox-session-key: ok" in done.stdout


def test_the_readme_onboarding_fills_every_secret_and_livevox_logins_work(
    fresh_stack: Any, api_server: Any, tmp_path: Path
) -> None:
    commands = readme_commands()
    assert {cmd[4] for cmd in commands if cmd[3] == "put"} == {s for s, shape in SHAPES.items() if shape.operator_fills}
    for command in commands:
        args = [a.replace("authhooks-staging", STACK) for a in command[3:]]
        if args[0] == "put":
            shape = SHAPES[args[1]]
            file = tmp_path / Path(args[args.index("--file") + 1]).name
            file.write_text(json.dumps(config.DEMO_SECRETS[shape.logical_id]), encoding="utf-8")
            args[args.index("--file") + 1] = str(file)
        done = run(*args)
        assert done.returncode == 0, done.stderr
        for value in ("sandbox-password", "sandbox-access-token", "sandbox-private-key", "sandbox-bv-passkey"):
            assert value not in done.stdout + done.stderr, "the command never prints a value"
    assert stored(fresh_stack, "livevox-session-key") == {"session_key": GENERATED}, "the generated key is untouched"
    assert run("check", "--stack", STACK).returncode == 0

    first = api_server.post("/livevox/sessions", json={"account": "demo"})
    assert first.status == 200, first.text
    again = api_server.post("/livevox/sessions", json={"account": "demo"})
    assert again.status == 200 and again.json()["cached"] is True
    assert again.json()["session_id"] == first.json()["session_id"]


def test_accounts_merge_by_name_and_a_null_account_is_removed(fresh_stack: Any) -> None:
    account = {"client_name": "SANDBOX", "user_name": "u1", "password": "p-one-secret", "agent": False}
    assert (
        run(
            "put",
            "livevox",
            "--stack",
            STACK,
            "--file",
            "-",
            stdin=json.dumps({"access_token": "token-1", "accounts": {"one": account}}),
        ).returncode
        == 0
    )
    done = run(
        "put",
        "livevox",
        "--stack",
        STACK,
        "--file",
        "-",
        stdin=json.dumps({"accounts": {"two": {**account, "user_name": "u2"}}}),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{STACK}/livevox: set accounts.two; kept access_token"
    assert set(stored(fresh_stack, "livevox")["accounts"]) == {"one", "two"}
    assert stored(fresh_stack, "livevox")["access_token"] == "token-1"
    assert run("put", "livevox", "--stack", STACK, "--file", "-", stdin='{"accounts": {"one": null}}').returncode == 0
    assert set(stored(fresh_stack, "livevox")["accounts"]) == {"two"}


@pytest.mark.parametrize(
    ("vendor", "body", "named"),
    [
        ("livevox", {"access_token": "t", "session_key": "mine"}, "session_key is not a key of this secret"),
        (
            "livevox",
            {"access_token": "t", "accounts": {"demo": {"client_name": "C", "user_name": "u"}}},
            "accounts.demo.password must be a non-empty string",
        ),
        (
            "livevox",
            {
                "access_token": "t",
                "accounts": {"demo": {"client_name": "C", "user_name": "u", "password": "p", "agent": "yes"}},
            },
            "accounts.demo.agent must be true",
        ),
        ("livevox", {"access_token": "t", "accounts": ["demo"]}, "accounts must be an object"),
        ("loudvoice", {"public_key": "only-one-half"}, "private_key must be a non-empty string"),
        ("bazaarvoice", {"passkey": "  "}, "passkey must be a non-empty string"),
        ("bazaarvoice", {"PassKey": "abc"}, "PassKey is not a key of this secret"),
        ("livevox-session-key", {"session_key": "x" * 64}, "is generated by the stack"),
        ("salesforce", {"key": "x"}, "'salesforce' is not a vendor secret"),
    ],
)
def test_bad_input_is_refused_naming_the_key_and_nothing_changes(
    fresh_stack: Any, vendor: str, body: dict, named: str
) -> None:
    before = {s: stored(fresh_stack, s) for s in SHAPES}
    done = run("put", vendor, "--stack", STACK, "--file", "-", stdin=json.dumps(body))
    assert done.returncode == 2
    assert named in done.stderr, done.stderr
    assert {s: stored(fresh_stack, s) for s in SHAPES} == before


def test_input_that_is_not_json_is_refused(fresh_stack: Any) -> None:
    done = run("put", "bazaarvoice", "--stack", STACK, "--file", "-", stdin='{"passkey": "abc"')
    assert done.returncode == 2 and "the input is not JSON" in done.stderr
    assert "abc" not in done.stderr
