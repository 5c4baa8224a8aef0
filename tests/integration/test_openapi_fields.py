"""Every limit and pattern the parsers enforce is the one openapi.yaml states: the two cannot drift apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from authhooks.fields import Field, Schema
from bazaarvoice_confirm import confirm
from livevox_login import login
from loudvoice_session import author_sessions

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text(encoding="utf-8"))
PARSER_MODULES = (confirm, author_sessions, login)


def _schemas() -> list[Schema]:
    found: list[Schema] = []
    for module in PARSER_MODULES:
        for value in vars(module).values():
            candidates = value.values() if isinstance(value, dict) else [value]
            found.extend(s for s in candidates if isinstance(s, Schema) and s.openapi)
    return found


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SPEC["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _path_parameter(name: str) -> dict[str, Any]:
    return SPEC["components"]["parameters"][name]["schema"]


def _assert_states(field: Field, documented: dict[str, Any], where: str) -> None:
    for keyword, value in field.constraints().items():
        if keyword == "type":
            types = documented.get("type")
            assert value == types or (isinstance(types, list) and value in types), f"{where}: type"
        else:
            assert documented.get(keyword) == value, f"{where}: {keyword} is {value!r} in the code"


SCHEMAS = _schemas()


def test_every_parser_schema_is_found() -> None:
    names = {schema.openapi for schema in SCHEMAS}
    assert names == {
        "ConfirmRequest",
        "AuthorSessionRequest",
        "AuthorByReference",
        "AuthorByIdentity",
        "AuthorByToken",
        "DirectCredentials",
        "NamedAccount",
        "SsoLoginRequest",
    }


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.openapi)
def test_each_field_states_the_codes_limits_and_patterns(schema: Schema) -> None:
    component = SPEC["components"]["schemas"][schema.openapi]
    properties = component["properties"]
    required = set(component.get("required", []))
    for name, field in schema.fields.items():
        assert name in properties, f"{schema.openapi}.{name} is parsed but not documented"
        _assert_states(field, _resolve(properties[name]), f"{schema.openapi}.{name}")
        assert (name in required) == field.required, f"{schema.openapi}.{name}: required"
    if schema.strict:
        assert component.get("additionalProperties") is False, schema.openapi


def test_path_tokens_are_checked_as_documented() -> None:
    _assert_states(author_sessions.SESSION_TOKEN, _path_parameter("SessionToken"), "session_token")
    _assert_states(login.SESSION_ID, _path_parameter("SessionId"), "session_id")
