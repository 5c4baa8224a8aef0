"""Alarms that can fire and reach someone: every alarm notifies the topic, and watches a metric the code emits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local import template
from tests.integration.conftest import deployed_resources, sam_transform

TPL = template.cached()
CODE = [*sorted((template.ROOT / "layers").rglob("*.py")), *sorted((template.ROOT / "functions").rglob("*.py"))]
# Metrics the alarms watch that the code does not emit yet: issue work in progress adds them (Bazaarvoice's
# lost user tokens, LiveVox's paused logins). Once a name is emitted, the test below asks for it to leave this list.
IN_PROGRESS: set[str] = set()  # metric names alarms watch before the code emits them
_INSIGHTS = re.compile(
    r'^SELECT (?:SUM|MAX|MIN|AVG|COUNT)\((\w+)\) FROM "([^"]+)"(?: WHERE (\w+) = \'([\w-]+)\')?'
    r"(?: GROUP BY [\w, ]+)?$"
)


def emitted_metric_names() -> set[str]:
    """Every metric name the layer and the functions pass to Powertools (literal names and the quota header pairs)."""
    names: set[str] = set()
    for path in CODE:
        text = path.read_text(encoding="utf-8")
        names.update(re.findall(r'(?:add_metric|single_metric)\(\s*name="(\w+)"', text))
        names.update(re.findall(r'\("X-[\w-]+",\s*"(\w+)"\)', text))  # record_quota's (header, metric) pairs
    return names


def vendor_names() -> set[str]:
    return {v for path in CODE for v in re.findall(r'^\s+vendor = "(\w+)"$', path.read_text(encoding="utf-8"), re.M)}


def namespace() -> str:
    return TPL["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]["Fn::Sub"]


def service_names() -> dict[str, str]:
    return {fn.environment["POWERTOOLS_SERVICE_NAME"]: logical_id for logical_id, fn in template.functions(TPL).items()}


def alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}


def watched(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(namespace, metric name, filter) of each metric an alarm reads; a Metrics Insights query's WHERE as filter."""
    found = []
    if "MetricName" in alarm:
        dims = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
        found.append((alarm["Namespace"], alarm["MetricName"], dims))
    for query in alarm.get("Metrics", []):
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            namespace_of = metric["Namespace"]
            found.append(
                (
                    namespace_of.get("Fn::Sub", namespace_of) if isinstance(namespace_of, dict) else namespace_of,
                    metric["MetricName"],
                    {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])},
                )
            )
        elif "Expression" in query and "SELECT" in json.dumps(query["Expression"]):
            expression = query["Expression"]
            text = expression["Fn::Sub"] if isinstance(expression, dict) else expression
            match = _INSIGHTS.match(text)
            assert match, f"unreadable Metrics Insights query: {text}"
            name, space, key, value = match.groups()
            found.append((space, name, {key: value} if key else {}))
    return found


@pytest.fixture(scope="module")
def with_email() -> dict[str, Any]:
    return sam_transform({"AlarmEmail": "oncall@example.com"})


def test_every_alarm_notifies_the_topic_when_it_fires_and_when_it_clears(translated: dict) -> None:
    found = alarms(translated["Resources"])
    assert len(found) >= 17
    for name, alarm in found.items():
        assert alarm.get("AlarmActions") == [{"Ref": "AlarmTopic"}], name
        assert alarm.get("OKActions") == [{"Ref": "AlarmTopic"}], name
        assert alarm.get("ActionsEnabled", True) is True, name
        assert alarm["TreatMissingData"] == "notBreaching", f"{name}: no traffic is not an outage"


def test_the_email_subscription_exists_exactly_when_an_address_is_given(translated: dict, with_email: dict) -> None:
    def subscriptions(out: dict, parameters: dict[str, str]) -> list[dict]:
        return [
            r["Properties"]
            for r in deployed_resources(out, parameters).values()
            if r["Type"] == "AWS::SNS::Subscription"
        ]

    assert subscriptions(translated, {}) == []
    (mail,) = subscriptions(with_email, {"AlarmEmail": "oncall@example.com"})
    assert mail == {"TopicArn": {"Ref": "AlarmTopic"}, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}
    assert translated["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert "Condition" not in translated["Resources"]["AlarmTopic"], "the topic is always there to subscribe to"


def test_alarms_watch_metrics_the_code_emits_in_the_stacks_namespace() -> None:
    emitted, vendors, services = emitted_metric_names(), vendor_names(), service_names()
    assert {"VendorErrors", "VendorCalls", "CacheHits", "BazaarvoiceQpmCurrent"} <= emitted, emitted
    ours = 0
    for name, alarm in alarms(TPL["Resources"]).items():
        for space, metric, where in watched(alarm):
            if space.startswith("AWS/"):
                continue
            ours += 1
            assert space == namespace(), f"{name} reads {space}, the functions write {namespace()}"
            assert metric in emitted | IN_PROGRESS, f"{name}: nothing emits {metric}"
            known = {"service": set(services), "vendor": vendors}
            for key, value in where.items():
                assert value in known.get(key, set()), f"{name}: filters on {key}={value}, which the code never emits"
    assert ours >= 12


def test_in_progress_metric_names_leave_the_list_once_emitted() -> None:
    assert not (IN_PROGRESS & emitted_metric_names()), "emitted now: remove from IN_PROGRESS"


def test_each_function_has_its_bug_alarm_and_each_vendor_its_failure_alarm() -> None:
    filters = [(metric, where) for alarm in alarms(TPL["Resources"]).values() for _, metric, where in watched(alarm)]
    for service in service_names():
        assert ("UnhandledErrors", {"service": service}) in filters, service
    for vendor in vendor_names():
        assert ("VendorErrors", {"vendor": vendor}) in filters, vendor
    for metric in (
        "StoreUnavailable",
        "CredentialsUnavailable",
        "UserTokensNotStored",
        "LoginPaused",
        "VendorConfigurationErrors",
        "BazaarvoiceQpmCurrent",
        "BazaarvoiceQpmAllotted",
        "PasswordExpiringSoon",
    ):
        assert any(m == metric for m, _ in filters), metric


def test_the_dashboard_is_json_showing_every_alarm_and_each_function(translated: dict) -> None:
    body = translated["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    references = set(re.findall(r"\$\{([\w:.]+)\}", body))
    for reference in references - {"AWS::Region", "AWS::StackName"}:
        assert reference.split(".")[0] in translated["Resources"], reference
    dashboard = json.loads(re.sub(r"\$\{([\w:.]+)\}", lambda m: m.group(1).replace('"', ""), body))
    shown = {
        a.removesuffix(".Arn") for w in dashboard["widgets"] if w["type"] == "alarm" for a in w["properties"]["alarms"]
    }
    assert shown == set(alarms(TPL["Resources"])), "the alarm widget lists every alarm of the stack"
    text = json.dumps(dashboard)
    for logical_id in template.functions(TPL):
        assert f'"Invocations", "FunctionName", "{logical_id}"' in text, logical_id
    for metric in ("CacheHits", "VendorCalls", "VendorErrors", "UnhandledErrors"):
        assert f"SUM({metric})" in text, metric
    queries = re.findall(r'SELECT \w+\((\w+)\) FROM \\"([^"\\]+)\\"', text)
    assert queries and all(space == "authhooks/AWS::StackName" for _, space in queries), queries
    assert {name for name, _ in queries} <= emitted_metric_names() | IN_PROGRESS


def test_functions_write_metrics_into_the_namespace_the_alarms_read(api: Any, capsys: pytest.CaptureFixture) -> None:
    """The template's namespace reaches the code: a LiveVox login's metrics land in authhooks/<stack>."""
    from local import config

    capsys.readouterr()
    assert api.post("/livevox/sessions", json={"account": "demo"}).status == 200
    blobs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    spaces = {m["Namespace"] for blob in blobs for m in blob["_aws"]["CloudWatchMetrics"]}
    assert spaces == {namespace().replace("${AWS::StackName}", config.STACK_NAME)}
    names = {metric["Name"] for blob in blobs for m in blob["_aws"]["CloudWatchMetrics"] for metric in m["Metrics"]}
    assert "VendorCalls" in names
