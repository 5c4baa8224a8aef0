"""The optional custom domain: off by default, on with a certificate, with or without the DNS record it manages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local import template
from tests.integration.conftest import condition_values, deployed_resources, sam_transform

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
OFF: dict[str, str] = {}
ON = {"DomainName": "auth.shop.example", "DomainCertificateArn": CERTIFICATE}
ON_WITH_ZONE = {**ON, "DomainHostedZoneId": "Z0123456789ABCDEFGHIJ"}


def output(out: dict[str, Any], name: str, parameters: dict[str, str]) -> str | None:
    """An output's value as CloudFormation would print it (None when its Condition is false)."""
    truth = condition_values(out, parameters)
    values = {
        **template.parameter_defaults(out),
        **parameters,
        "AWS::Region": "us-east-1",
        "AWS::URLSuffix": "amazonaws.com",
        "HttpApi": "a1b2c3d4e5",
    }

    def value(node: Any) -> Any:
        if isinstance(node, dict) and "Fn::If" in node:
            name_, yes, no = node["Fn::If"]
            return value(yes if truth[name_] else no)
        if isinstance(node, dict) and "Fn::Sub" in node:
            return re.sub(r"\$\{([\w:]+)\}", lambda m: values[m.group(1)], node["Fn::Sub"])
        if isinstance(node, dict) and "Fn::GetAtt" in node:
            return "d-abc123.execute-api.us-east-1.amazonaws.com"
        return node

    spec = out["Outputs"][name]
    if "Condition" in spec and not truth[spec["Condition"]]:
        return None
    return value(spec["Value"])


@pytest.mark.parametrize("parameters", [OFF, ON, ON_WITH_ZONE], ids=["off", "on", "on-with-dns"])
def test_domain_resources_and_the_landing_url_follow_the_parameters(parameters: dict[str, str]) -> None:
    out = sam_transform(parameters)
    deployed = deployed_resources(out, parameters)
    kinds = {r["Type"] for r in deployed.values()}
    domain_on, record_on = "DomainName" in parameters, "DomainHostedZoneId" in parameters
    assert ("AWS::ApiGatewayV2::DomainName" in kinds) == domain_on
    assert ("AWS::ApiGatewayV2::ApiMapping" in kinds) == domain_on
    assert ("AWS::Route53::RecordSet" in kinds) == record_on
    landing = output(out, "LandingUrl", parameters)
    if domain_on:
        assert landing == "https://auth.shop.example/bazaarvoice/confirm"
        assert output(out, "DomainDnsTarget", parameters) == "d-abc123.execute-api.us-east-1.amazonaws.com"
        domain = deployed["ApiDomain"]["Properties"]
        assert domain["DomainName"] == {"Ref": "DomainName"}
        (config,) = domain["DomainNameConfigurations"]
        assert config == {
            "CertificateArn": {"Ref": "DomainCertificateArn"},
            "EndpointType": "REGIONAL",
            "SecurityPolicy": "TLS_1_2",
        }
        mapping = deployed["ApiDomainMapping"]
        assert mapping["Properties"] == {
            "DomainName": {"Ref": "ApiDomain"},
            "ApiId": {"Ref": "HttpApi"},
            "Stage": "$default",
        }
        stage = out["Resources"][mapping["DependsOn"]]
        assert stage["Type"] == "AWS::ApiGatewayV2::Stage" and stage["Properties"]["StageName"] == "$default"
    else:
        assert landing == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/bazaarvoice/confirm"
        assert output(out, "DomainDnsTarget", parameters) is None
    if record_on:
        record = deployed["ApiDomainRecord"]["Properties"]
        assert record["Name"] == {"Ref": "DomainName"} and record["Type"] == "A"
        assert record["AliasTarget"] == {
            "DNSName": {"Fn::GetAtt": ["ApiDomain", "RegionalDomainName"]},
            "HostedZoneId": {"Fn::GetAtt": ["ApiDomain", "RegionalHostedZoneId"]},
        }


def test_the_landing_url_is_the_public_landing_route() -> None:
    path = output(template.cached(), "LandingUrl", ON).removeprefix("https://auth.shop.example")
    routes = [r for r in template.routes(template.cached()) if r.path == path]
    # GET and POST serve the page; the narrowed catch-all (ANY) on the same path answers every other method.
    assert {r.method for r in routes} == {"GET", "POST", "ANY"} and all(r.public for r in routes)


def test_a_domain_without_a_certificate_is_refused_before_anything_is_created() -> None:
    rule = template.cached()["Rules"]["DomainNeedsCertificate"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainName"}, ""]}]}
    assert rule["Assertions"] == [
        {
            "Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "DomainCertificateArn"}, ""]}]},
            "AssertDescription": rule["Assertions"][0]["AssertDescription"],
        }
    ]
