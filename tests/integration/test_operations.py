"""Operations: logs kept for a set time, no X-Ray, versions behind an alias, optional gradual deployment, samconfig."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from local import template
from tests.integration.conftest import sam_transform

TPL = template.cached()
FUNCTIONS = sorted(template.functions(TPL))
SAMCONFIG = template.ROOT / "samconfig.toml"


def of_type(out: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in out["Resources"].items() if r["Type"] == kind}


def test_every_log_group_is_declared_with_the_retention_parameter(translated: dict) -> None:
    groups = of_type(translated, "AWS::Logs::LogGroup")
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    named = {g["Properties"].get("LogGroupName", {}).get("Fn::Sub") for g in groups.values()}
    for logical_id in FUNCTIONS:
        assert f"/aws/lambda/${{{logical_id}}}" in named, f"{logical_id} would log into a group kept forever"
    assert "ApiAccessLogs" in groups


def test_no_tracing_and_no_xray_permission(translated: dict) -> None:
    for logical_id in FUNCTIONS:
        props = translated["Resources"][logical_id]["Properties"]
        assert "TracingConfig" not in props
        role = translated["Resources"][f"{logical_id}Role"]["Properties"]
        assert not any("Xray" in arn for arn in role["ManagedPolicyArns"])


@pytest.mark.parametrize("gradual", ["false", "true"])
def test_versions_behind_the_live_alias_with_optional_gradual_deployment(gradual: str) -> None:
    out = sam_transform({"GradualDeployment": gradual})
    aliases = of_type(out, "AWS::Lambda::Alias")
    groups = of_type(out, "AWS::CodeDeploy::DeploymentGroup")
    integrations = str(
        [i["Properties"]["IntegrationUri"] for i in of_type(out, "AWS::ApiGatewayV2::Integration").values()]
    )
    for logical_id in FUNCTIONS:
        alias = aliases[f"{logical_id}Aliaslive"]
        assert alias["Properties"]["Name"] == "live"
        assert f"/functions/${{{logical_id}.Arn}}:live/invocations" in integrations, "the API calls the alias"
        if gradual == "false":
            assert "UpdatePolicy" not in alias
            continue
        update = alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        group = groups[update["DeploymentGroupName"]["Ref"]]["Properties"]
        assert group["AutoRollbackConfiguration"]["Enabled"] is True
        assert "DEPLOYMENT_STOP_ON_ALARM" in group["AutoRollbackConfiguration"]["Events"]
        rollback = {a["Name"]["Ref"] for a in group["AlarmConfiguration"]["Alarms"]}
        stem = logical_id.removesuffix("Function")
        assert rollback == {f"{stem}UnhandledErrorsAlarm", f"{stem}ErrorsAlarm"}, "its own alarms roll it back"
        assert all(out["Resources"][name]["Type"] == "AWS::CloudWatch::Alarm" for name in rollback)
        assert group["DeploymentConfigName"]["Fn::Sub"][1] == {"ConfigName": "Canary10Percent5Minutes"}
    assert bool(groups) == (gradual == "true")
    assert bool(of_type(out, "AWS::CodeDeploy::Application")) == (gradual == "true")


def test_a_linear_deployment_type_reaches_codedeploy() -> None:
    out = sam_transform({"GradualDeployment": "true", "GradualDeploymentType": "Linear10PercentEvery1Minute"})
    groups = of_type(out, "AWS::CodeDeploy::DeploymentGroup").values()
    assert len(groups) == len(FUNCTIONS)
    for group in groups:
        config = group["Properties"]["DeploymentConfigName"]["Fn::Sub"][1]
        assert config == {"ConfigName": "Linear10PercentEvery1Minute"}


def test_samconfig_has_the_usual_sections_and_tags_every_stack() -> None:
    config = tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))
    default = config["default"]
    assert default["build"]["parameters"] == {"cached": True, "parallel": True}
    assert default["validate"]["parameters"]["lint"] is True
    assert default["sync"]["parameters"]["watch"] is True
    sync, deploy = default["sync"]["parameters"], default["deploy"]["parameters"]
    assert sync["parameter_overrides"] == deploy["parameter_overrides"], "sam sync builds the same dev stack"
    parameters = set(TPL["Parameters"])
    for env in ("default", "staging", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert f'project="authhooks" environment="{"dev" if env == "default" else env}"' == deploy["tags"]
        assert config[env]["global"]["parameters"]["stack_name"].startswith("authhooks-")
        for override in deploy["parameter_overrides"]:
            assert override.split("=", 1)[0] in parameters, f"{env}: {override} names no template parameter"


# Settings whose default is wrong or absent for a shared stack: each shared environment names them.
NO_SAFE_DEFAULT = ("LoudVoiceSubdomain", "BazaarvoiceApiUrl", "LiveVoxApiUrl")


@pytest.mark.parametrize("env", ["staging", "prod"])
def test_shared_stacks_name_every_setting_without_a_safe_default(env: str) -> None:
    import re

    deploy = tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))[env]["deploy"]["parameters"]
    given = dict(override.split("=", 1) for override in deploy["parameter_overrides"])
    assert set(NO_SAFE_DEFAULT) <= set(given), f"{env} must name {NO_SAFE_DEFAULT}"
    subdomain = TPL["Parameters"]["LoudVoiceSubdomain"]
    assert subdomain["Default"] == "", "no site is a safe default"
    if given["LoudVoiceSubdomain"].startswith("SET-"):
        # A placeholder must be refused by CloudFormation itself, before anything is created.
        assert not re.fullmatch(subdomain["AllowedPattern"], given["LoudVoiceSubdomain"])
    assert re.fullmatch(subdomain["AllowedPattern"], "mystore")


def test_a_stack_without_a_loudvoice_site_is_refused() -> None:
    (assertion,) = TPL["Rules"]["LoudVoiceNeedsASite"]["Assertions"]
    assert assertion["Assert"] == {
        "Fn::Or": [
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "LoudVoiceSubdomain"}, ""]}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "LoudVoiceApiUrl"}, ""]}]},
        ]
    }
