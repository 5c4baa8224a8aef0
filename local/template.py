"""template.yaml as data: a loader for CloudFormation short tags, the functions, their routes and environment.

The local stack and the tests read everything from the template itself, so they cannot drift from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!Sub``/``!GetAtt``/... into ``{"Fn::...": ...}``."""


def _tag(loader: _CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):  # the two short forms whose long form has no "Fn::"
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tag)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass(frozen=True)
class Route:
    method: str  # GET, POST, ... or ANY
    path: str  # /loudvoice/sessions/{session_token}, /livevox/{proxy+}
    function: str  # logical id
    public: bool  # AuthorizationType NONE
    authorizer: str = ""  # the Authorizer resource it uses when that one exists (its Condition holds); else SigV4


@dataclass(frozen=True)
class JwtAuthorizer:
    """An ``AWS::ApiGatewayV2::Authorizer`` of type JWT, resolved for given parameters."""

    logical_id: str
    issuer: str
    audience: tuple[str, ...]


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]

    @property
    def module_file(self) -> str:
        """The handler module's file, relative to the code directory."""
        return self.module.replace(".", "/") + ".py"


def functions(template: dict[str, Any] | None = None) -> dict[str, Function]:
    """Every AWS::Serverless::Function with its routes and (unresolved) environment, Globals merged."""
    template = template or load()
    globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    found: dict[str, Function] = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        env = {**globals_env, **props.get("Environment", {}).get("Variables", {})}
        found[logical_id] = Function(logical_id, ROOT / props["CodeUri"], props["Handler"], env)
    for route in _api_routes(template):
        found[route.function].routes.append(route)
    return found


def _api_routes(template: dict[str, Any]) -> list[Route]:
    """The ``AWS::ApiGatewayV2::Route`` resources, each with the function its integration calls."""
    resources = template["Resources"]
    found = []
    for props in (r["Properties"] for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Route"):
        method, path = props["RouteKey"].split(" ", 1)
        integration = re.fullmatch(r"integrations/\$\{(\w+)\}", props["Target"]["Fn::Sub"])
        assert integration, f"{props['RouteKey']}: Target must be !Sub integrations/${{<Integration>}}"
        uri = resources[integration[1]]["Properties"]["IntegrationUri"]["Fn::Sub"]
        function = re.search(r"/functions/\$\{(\w+)\.Arn\}", uri)
        assert function, f"{props['RouteKey']}: the integration must call a function of this template"
        public = props.get("AuthorizationType", "NONE") == "NONE"
        chosen = props.get("AuthorizerId") or {}
        if "Fn::If" in chosen:  # !If [UseJwt, !Ref JwtAuthorizer, !Ref AWS::NoValue]: the authorizer, when made
            chosen = chosen["Fn::If"][1]
        authorizer = chosen.get("Ref", "")
        found.append(Route(method.upper(), path, function[1], public, authorizer))
    return found


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    return [route for fn in functions(template).values() for route in fn.routes]


def condition_values(
    parameters: dict[str, str] | None = None, template: dict[str, Any] | None = None
) -> dict[str, bool]:
    """Each Condition's truth for the parameters given (defaults for the rest), as CloudFormation decides it."""
    template = template or cached()
    values = {**parameter_defaults(template), **(parameters or {})}
    conditions = template.get("Conditions", {})

    def truth(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1:
            ((name, arg),) = node.items()
            if name == "Ref":
                return values[arg]
            if name == "Condition":
                return truth(conditions[arg])
            if name == "Fn::Equals":
                return str(truth(arg[0])) == str(truth(arg[1]))
            if name == "Fn::Not":
                return not truth(arg[0])
            if name == "Fn::And":
                return all(truth(a) for a in arg)
            if name == "Fn::Or":
                return any(truth(a) for a in arg)
            raise ValueError(f"no evaluator for {name}")
        return node

    return {name: bool(truth(body)) for name, body in conditions.items()}


def jwt_authorizers(
    parameters: dict[str, str] | None = None, template: dict[str, Any] | None = None
) -> dict[str, JwtAuthorizer]:
    """The JWT authorizers CloudFormation would create for these parameters, issuer and audiences resolved."""
    template = template or cached()
    values = {**parameter_defaults(template), **(parameters or {})}
    truth = condition_values(parameters, template)
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::ApiGatewayV2::Authorizer" or not truth.get(resource.get("Condition", ""), True):
            continue
        jwt = resource["Properties"]["JwtConfiguration"]
        audience = jwt["Audience"]
        if isinstance(audience, dict):  # !Split [",", !Ref Parameter]
            separator, source = audience["Fn::Split"]
            audience = resolve(source, values).split(separator)
        found[logical_id] = JwtAuthorizer(logical_id, resolve(jwt["Issuer"], values), tuple(audience))
    return found


def parameter_defaults(template: dict[str, Any] | None = None) -> dict[str, str]:
    template = template or load()
    return {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}


def resolve(value: Any, names: dict[str, str]) -> str:
    """A template value as a string: literals, ``Ref`` to a parameter or resource, simple ``Fn::Sub``."""
    if isinstance(value, dict) and "Ref" in value:
        return names[value["Ref"]]
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}]+)\}", lambda m: names[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        raise ValueError(f"cannot resolve {value!r} locally")
    return str(value)


def function_environment(fn: Function, names: dict[str, str]) -> dict[str, str]:
    """The environment Lambda would give ``fn``, with ``names`` standing for parameters and resources."""
    return {key: resolve(value, names) for key, value in fn.environment.items()}


def resource_properties(logical_id: str, template: dict[str, Any] | None = None) -> dict[str, Any]:
    template = template or load()
    return template["Resources"][logical_id]["Properties"]


@cache
def cached() -> dict[str, Any]:
    return load()
