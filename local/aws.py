"""Provision the local AWS side (moto): the tokens table from the template, and the vendor secrets."""

from __future__ import annotations

import json
from typing import Any

from local import config, template

_TYPES = {"S", "N", "B"}


def create_table(dynamodb: Any, table_name: str = config.TABLE_NAME) -> None:
    """Create the table exactly as template.yaml's TokensTable describes it (keys, billing, TTL, PITR, SSE)."""
    props = template.resource_properties("TokensTable", template.cached())
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    assert all(d["AttributeType"] in _TYPES for d in request["AttributeDefinitions"])
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        request["SSESpecification"] = {"Enabled": True}
    dynamodb.create_table(**request)
    dynamodb.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 50})
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        dynamodb.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])},
        )
    pitr = props.get("PointInTimeRecoverySpecification", {})
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=table_name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
        )


def seed_secrets(secretsmanager: Any, values: dict[str, dict] | None = None) -> dict[str, str]:
    """Create each vendor secret under the template's name; returns logical id -> secret name."""
    created = {}
    for logical_id, value in (values or config.DEMO_SECRETS).items():
        name = config.secret_name(logical_id)
        secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))
        created[logical_id] = name
    return created
