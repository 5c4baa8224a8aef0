"""Each route after the SAM transform, in both modes: SigV4 (default) and JWT (``JwtIssuer`` set).

For every route: its authorization type and authorizer, the integration to its function's ``live`` alias, and a
Lambda permission for that alias scoped to exactly that route; the landing routes stay public in both modes.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from local import template
from tests.integration.conftest import condition_values, deployed_resources, sam_transform

TPL = template.cached()
IAM: dict[str, str] = {}
JWT = {"JwtIssuer": "https://login.example.com/", "JwtAudience": "authhooks-backend,shop-backend"}
MODES = pytest.mark.parametrize("parameters", [IAM, JWT], ids=["iam", "jwt"])
API_ARN = "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}"


def chosen(value: Any, truth: dict[str, bool]) -> Any:
    """``value`` with every ``Fn::If`` decided as CloudFormation decides it (``AWS::NoValue`` drops the key)."""
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        return chosen(when_true if truth[condition] else when_false, truth)
    if isinstance(value, dict):
        kept = {key: chosen(item, truth) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item != {"Ref": "AWS::NoValue"}}
    return value


def of_type(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in resources.items() if r["Type"] == kind}


def route_arn(route: template.Route) -> str:
    """The execute-api ARN of a route: ``*`` for ANY and for each path parameter (greedy or not)."""
    method = "*" if route.method == "ANY" else route.method
    return f"{API_ARN}/*/{method}{re.sub(r'{[^}]+}', '*', route.path)}"


@MODES
def test_each_route_is_authorized_by_the_mode_and_calls_its_alias(parameters: dict[str, str]) -> None:
    out = sam_transform(parameters)
    truth = condition_values(out, parameters)
    deployed = {name: chosen(r, truth) for name, r in deployed_resources(out, parameters).items()}
    jwt_mode = bool(parameters)
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in of_type(deployed, "AWS::ApiGatewayV2::Route").values()
    }
    expected = {f"{r.method} {r.path}": r for r in template.routes(TPL)}
    assert sorted(routes) == sorted(expected) and len(expected) == 14

    permissions = [p["Properties"] for p in of_type(deployed, "AWS::Lambda::Permission").values()]
    assert len(permissions) == len(routes), "one permission per route, and no other (no SAM event leftovers)"
    for key, props in routes.items():
        route = expected[key]
        assert props["ApiId"] == {"Ref": "HttpApi"}
        if route.public:
            assert (props["AuthorizationType"], props.get("AuthorizerId")) == ("NONE", None), key
        elif jwt_mode:
            assert (props["AuthorizationType"], props["AuthorizerId"]) == ("JWT", {"Ref": "JwtAuthorizer"}), key
        else:
            assert (props["AuthorizationType"], props.get("AuthorizerId")) == ("AWS_IAM", None), key
        target = re.fullmatch(r"integrations/\$\{(\w+)\}", props["Target"]["Fn::Sub"])
        assert target, key
        integration = deployed[target[1]]["Properties"]
        assert (integration["ApiId"], integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
            {"Ref": "HttpApi"},
            "AWS_PROXY",
            "2.0",
        )
        assert integration["IntegrationUri"] == {
            "Fn::Sub": (
                "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                f"${{{route.function}.Arn}}:live/invocations"
            )
        }, "the live alias of the route's function"
        alias = f"{route.function}Aliaslive"
        assert out["Resources"][alias]["Properties"]["Name"] == "live"
        grant = {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": alias},
            "Principal": "apigateway.amazonaws.com",
            "SourceArn": {"Fn::Sub": route_arn(route)},
        }
        assert permissions.count(grant) == 1, f"{key}: no permission for exactly this route and alias"


@MODES
def test_the_jwt_authorizer_exists_in_jwt_mode_only(parameters: dict[str, str]) -> None:
    out = sam_transform(parameters)
    authorizers = of_type(deployed_resources(out, parameters), "AWS::ApiGatewayV2::Authorizer")
    if not parameters:
        assert authorizers == {}
        return
    assert authorizers == {
        "JwtAuthorizer": {
            **authorizers["JwtAuthorizer"],
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "Name": "jwt",
                "AuthorizerType": "JWT",
                "IdentitySource": ["$request.header.Authorization"],
                "JwtConfiguration": {
                    "Issuer": {"Ref": "JwtIssuer"},
                    "Audience": {"Fn::Split": [",", {"Ref": "JwtAudience"}]},
                },
            },
        }
    }
    # What the local stack's authorizer reads from the same resource.
    (config,) = template.jwt_authorizers(parameters, out).values()
    assert (config.issuer, config.audience) == (JWT["JwtIssuer"], ("authhooks-backend", "shop-backend"))


@MODES
def test_the_caller_policy_is_made_in_iam_mode_only_and_the_arn_output_in_both(parameters: dict[str, str]) -> None:
    wanted = {**parameters, "CallerPolicy": "true"}
    out = sam_transform(wanted)
    policies = of_type(deployed_resources(out, wanted), "AWS::IAM::ManagedPolicy")
    assert bool(policies) == (not parameters), "SigV4 grants mean nothing to JWT routes"
    truth = condition_values(out, wanted)
    assert truth[out["Outputs"]["CallerPolicyArn"]["Condition"]] == (not parameters)
    assert "Condition" not in out["Outputs"]["ApiExecuteArn"]


def test_the_api_has_no_openapi_body_and_one_default_stage(translated: dict) -> None:
    """Routes live only as Route resources: an imported body would drop them on updates."""
    (api,) = of_type(translated["Resources"], "AWS::ApiGatewayV2::Api").values()
    assert api["Properties"] == {"Name": {"Ref": "AWS::StackName"}, "ProtocolType": "HTTP"}
    (stage,) = of_type(translated["Resources"], "AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert (props["StageName"], props["AutoDeploy"], props["ApiId"]) == ("$default", True, {"Ref": "HttpApi"})
    assert props["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": {"Ref": "ThrottleRateLimit"},
        "ThrottlingBurstLimit": {"Ref": "ThrottleBurstLimit"},
    }
    assert props["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}


def test_an_issuer_without_an_audience_is_refused_before_anything_is_created() -> None:
    rule = TPL["Rules"]["JwtIssuerNeedsAudience"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]}
    assert rule["Assertions"][0]["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtAudience"}, ""]}]}
    issuer = TPL["Parameters"]["JwtIssuer"]
    assert re.fullmatch(issuer["AllowedPattern"], "") and re.fullmatch(issuer["AllowedPattern"], JWT["JwtIssuer"])
    assert not re.fullmatch(issuer["AllowedPattern"], "http://login.example.com/"), "API Gateway takes https only"
    audience = TPL["Parameters"]["JwtAudience"]["AllowedPattern"]
    assert re.fullmatch(audience, JWT["JwtAudience"]) and not re.fullmatch(audience, "a, b"), "Fn::Split keeps spaces"
