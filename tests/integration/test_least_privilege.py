"""Each function's role allows exactly the AWS calls its code makes: nothing missing, nothing extra.

The allowed side is each role after the SAM transform (DynamoDB actions and ``dynamodb:LeadingKeys``
patterns, Secrets Manager actions and secrets); the used side is what ``tests.aws_calls`` recorded while
the function tests of this session ran. It runs last, and only judges a session that ran those tests.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import pytest

from local import config, template
from tests import aws_calls

# The tests that drive every function's store and secret calls; a session without all of them cannot judge.
FUNCTION_TESTS = ("tests/integration/bazaarvoice/", "tests/integration/livevox/", "tests/integration/loudvoice/")
TABLE = {"Fn::GetAtt": ["TokensTable", "Arn"]}


@dataclass
class Allowed:
    table_actions: set[str] = field(default_factory=set)
    key_patterns: set[str] = field(default_factory=set)
    secret_actions: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)  # secret names, as the local stack names them


@dataclass
class Used:
    table_actions: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)
    secret_actions: set[str] = field(default_factory=set)
    secrets: set[str] = field(default_factory=set)


def _secret_ref(resource: Any) -> str:
    """The secret's logical id in ``!Ref X`` or SAM's ``Fn::Sub ["${secretArn}", {"secretArn": {"Ref": X}}]``."""
    if isinstance(resource, dict) and "Ref" in resource:
        return resource["Ref"]
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        (ref,) = resource["Fn::Sub"][1].values()
        return ref["Ref"]
    raise AssertionError(f"a secret statement names {resource!r}, not one secret of this stack")


def allowed_by_role(role: dict[str, Any]) -> Allowed:
    allowed = Allowed()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            services = {action.split(":", 1)[0] for action in actions}
            assert len(services) == 1, f"one service per statement: {actions}"
            if services == {"dynamodb"}:
                assert statement["Resource"] == TABLE, "the table itself, no index, no other table"
                patterns = statement.get("Condition", {}).get("ForAllValues:StringLike", {})
                assert set(statement.get("Condition", {})) == {"ForAllValues:StringLike"}, statement
                assert set(patterns) == {"dynamodb:LeadingKeys"}, statement
                allowed.table_actions.update(actions)
                allowed.key_patterns.update(patterns["dynamodb:LeadingKeys"])
            elif services == {"secretsmanager"}:
                allowed.secret_actions.update(actions)
                resources = (
                    statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                )
                allowed.secrets.update(config.secret_name(_secret_ref(r)) for r in resources)
            else:
                raise AssertionError(f"a role may reach DynamoDB and Secrets Manager only: {statement}")
    return allowed


def used_by_code(calls: set[aws_calls.Call]) -> dict[str, Used]:
    used: dict[str, Used] = defaultdict(Used)
    for call in calls:
        entry = used[call.function]
        if call.service == "dynamodb":
            entry.table_actions.add(f"dynamodb:{call.operation}")
            entry.keys.add(call.target)
        else:
            entry.secret_actions.add(f"secretsmanager:{call.operation}")
            entry.secrets.add(call.target)
    return used


def _prefix(key: str) -> str:
    return "#".join(key.split("#")[:2]) + "#"


def test_recorder_sees_the_function_behind_each_call(api: Any) -> None:
    """The recorder itself: a LiveVox login is recorded under LiveVoxLoginFunction, with its key and secret."""
    import uuid

    before = set(aws_calls.calls)
    user = f"recorder-{uuid.uuid4().hex}"  # a key no earlier test of the session used
    answer = api.post(
        "/livevox/sessions",
        json={"client_name": "SANDBOX", "user_name": user, "password": "sandbox-password", "agent": False},
    )
    assert answer.status == 200, answer.text
    new = set(aws_calls.calls) - before
    assert {c.function for c in new} == {"LiveVoxLoginFunction"}
    assert any(c.operation == "PutItem" and c.target.startswith("lvx#session#") for c in new), new
    assert (
        aws_calls.Call("LiveVoxLoginFunction", "secretsmanager", "GetSecretValue", config.secret_name("LiveVoxSecret"))
        in aws_calls.calls
    )


@pytest.mark.after_suite
def test_each_role_allows_exactly_what_its_code_calls(request: pytest.FixtureRequest, translated: dict) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.skip(
            "judges the whole run's calls, which one parallel worker does not see: make test runs it after "
            "the parallel run (pytest -m after_suite, with the workers' records)"
        )
    whole, recorded_ran = aws_calls.whole_run()
    ran = {item.nodeid for item in request.session.items} | recorded_ran
    missing_tests = [d for d in FUNCTION_TESTS if not any(node.startswith(d) for node in ran)]
    if missing_tests:
        pytest.skip(
            f"judges the calls recorded by {', '.join(missing_tests)}: run them in the same session (make test does)"
        )
    used = used_by_code(whole)
    problems = mismatches(translated, used)
    recorded = {
        fn: {
            "actions": sorted(u.table_actions | u.secret_actions),
            "prefixes": sorted({_prefix(k) for k in u.keys}),
            "secrets": sorted(u.secrets),
        }
        for fn, u in used.items()
    }
    assert not problems, "\n".join(problems) + "\nrecorded: " + json.dumps(recorded, indent=1)


def mismatches(translated: dict, used: dict[str, Used]) -> list[str]:
    """Each way a role differs from its function's calls, in words."""
    problems: list[str] = []
    for logical_id in template.functions(template.cached()):
        allowed = allowed_by_role(translated["Resources"][f"{logical_id}Role"])
        calls = used.get(logical_id, Used())
        for kind in ("table_actions", "secret_actions", "secrets"):
            need, have = getattr(calls, kind), getattr(allowed, kind)
            if need - have:
                problems.append(f"{logical_id}: code uses {sorted(need - have)} ({kind}) the role does not allow")
            if have - need:
                problems.append(f"{logical_id}: role allows {sorted(have - need)} ({kind}) the code never uses")
        outside = sorted({_prefix(k) for k in calls.keys if not any(fnmatchcase(k, p) for p in allowed.key_patterns)})
        if outside:
            problems.append(
                f"{logical_id}: code reaches keys {outside} outside its LeadingKeys {sorted(allowed.key_patterns)}"
            )
        idle = sorted(p for p in allowed.key_patterns if not any(fnmatchcase(k, p) for k in calls.keys))
        if idle:
            problems.append(f"{logical_id}: LeadingKeys {idle} match no key the code uses")
    return problems


def test_the_comparison_reports_each_kind_of_difference(translated: dict) -> None:
    """Calls exactly as allowed pass; one action too few, one foreign key, one other secret each fail."""
    exact: dict[str, Used] = {}
    for fn in template.functions(template.cached()):
        allowed = allowed_by_role(translated["Resources"][f"{fn}Role"])
        keys = {p.replace("*", "x") for p in allowed.key_patterns}
        exact[fn] = Used(set(allowed.table_actions), keys, set(allowed.secret_actions), set(allowed.secrets))
    assert mismatches(translated, exact) == []
    exact["LoudVoiceSessionFunction"].table_actions.discard("dynamodb:DeleteItem")
    exact["LoudVoiceSessionFunction"].keys.add("lvx#session#stolen")
    exact["BazaarvoiceConfirmFunction"].secrets.add(config.secret_name("LiveVoxSecret"))
    found = mismatches(translated, exact)
    assert len(found) == 3, found
    report = "\n".join(found)
    assert "LoudVoiceSessionFunction: role allows ['dynamodb:DeleteItem'] (table_actions)" in report
    assert "LoudVoiceSessionFunction: code reaches keys ['lvx#session#'] outside" in report
    assert "BazaarvoiceConfirmFunction: code uses ['authhooks-local/livevox'] (secrets)" in report


def test_key_prefixes_of_one_function_match_no_other_functions_pattern(translated: dict) -> None:
    """``lv#*`` must not cover ``lvx#`` keys (and so on): each store key kind belongs to one role."""
    patterns = {
        fn: allowed_by_role(translated["Resources"][f"{fn}Role"]).key_patterns
        for fn in template.functions(template.cached())
    }
    from authhooks.store import Keys

    samples = {
        "BazaarvoiceConfirmFunction": [
            Keys.bv_confirm("t"),
            Keys.bv_user("u"),
            Keys.bv_pending("t"),
            Keys.bv_refused("t"),
            Keys.bv_user_confirmations("u"),
        ],
        "LoudVoiceSessionFunction": [Keys.lv_session("t"), Keys.lv_author("a"), Keys.lv_lock("a")],
        "LiveVoxLoginFunction": [Keys.lvx_session("c", "u"), Keys.lvx_lock("c", "u"), Keys.lvx_session_id("s")],
    }
    for owner, keys in samples.items():
        for fn, fn_patterns in patterns.items():
            for key in keys:
                matched = any(fnmatchcase(key, p) for p in fn_patterns)
                assert matched == (fn == owner), f"{key} vs {fn} {sorted(fn_patterns)}"
