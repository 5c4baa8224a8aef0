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
    public: bool  # Auth.Authorizer NONE


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
        fn = Function(logical_id, ROOT / props["CodeUri"], props["Handler"], env)
        for event in props.get("Events", {}).values():
            if event["Type"] != "HttpApi":
                continue
            ep = event["Properties"]
            public = ep.get("Auth", {}).get("Authorizer") == "NONE"
            fn.routes.append(Route(ep["Method"].upper(), ep["Path"], logical_id, public))
        found[logical_id] = fn
    return found


def routes(template: dict[str, Any] | None = None) -> list[Route]:
    return [route for fn in functions(template).values() for route in fn.routes]


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
