"""TokenStore: the one DynamoDB table, its key format, expiry filtering, sliding expiry and leases.

DynamoDB deletes expired items lazily (hours or days later; the local emulator never does), so
every read here treats ``expires_at <= now`` as absent.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from botocore.exceptions import ClientError

Item = dict[str, Any]
Clock = Callable[[], float]


@cache
def _codec() -> tuple[Any, Any]:
    # boto3 costs more to import than the rest of a handler: load it on first use, off the import path.
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def _dynamodb_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 3},
                    tcp_keepalive=True)
    return boto3.client("dynamodb", config=config)


def digest(value: str) -> str:
    """SHA-256 hex of a value that must never appear in a key (a token, a secret)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _identity_digest(parts: tuple[str, ...]) -> str:
    # JSON, not a joined string: ("a|b", "c") and ("a", "b|c") must not collide.
    return digest(json.dumps(list(parts)))


class Keys:
    """The only place that knows the table's key format (DESIGN.md, "Token store")."""

    @staticmethod
    def bv_confirm(authtoken: str) -> str:
        return f"bv#confirm#{digest(authtoken)}"

    @staticmethod
    def bv_user(bv_user_id: str) -> str:
        return f"bv#user#{bv_user_id}"

    @staticmethod
    def lv_session(session_token: str) -> str:
        return f"lv#session#{digest(session_token)}"

    @staticmethod
    def lv_author(author_key: str) -> str:
        return f"lv#author#{digest(author_key)}"

    @staticmethod
    def lvx_session(*identity: str) -> str:
        return f"lvx#session#{_identity_digest(identity)}"

    @staticmethod
    def lvx_lock(*identity: str) -> str:
        return f"lvx#lock#{_identity_digest(identity)}"

    @staticmethod
    def lvx_session_id(session_id: str) -> str:
        return f"lvx#id#{digest(session_id)}"


def _to_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    serializer = _codec()[0]
    return {k: serializer.serialize(_plain_to_decimal(v)) for k, v in item.items()}


def _plain_to_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _plain_to_decimal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_to_decimal(v) for v in value]
    return value


def _decimal_to_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _decimal_to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimal_to_plain(v) for v in value]
    return value


def _from_dynamo(item: Mapping[str, Any]) -> Item:
    deserializer = _codec()[1]
    return {k: _decimal_to_plain(deserializer.deserialize(v)) for k, v in item.items()}


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Touch:
    """What ``touch`` found: the slid item, or (when a condition failed) the live item that blocked it."""

    item: Item | None
    blocked_by: Item | None = None


class TokenStore:
    """Records with an ``expires_at`` (epoch seconds) in the tokens table."""

    def __init__(self, table_name: str, client: Any = None, clock: Clock = time.time) -> None:
        self.table_name = table_name
        self.client = client or _dynamodb_client()
        self.clock = clock

    def now(self) -> int:
        return int(self.clock())

    def get(self, pk: str) -> Item | None:
        """The record, or None when absent or expired (whatever DynamoDB still holds)."""
        answer = self.client.get_item(TableName=self.table_name, Key={"pk": {"S": pk}}, ConsistentRead=True)
        return self._live(answer.get("Item"))

    def put(self, pk: str, attributes: Mapping[str, Any], expires_at: int, *, only_if_absent: bool = False) -> bool:
        """Write a record; with ``only_if_absent`` an expired record counts as absent. False if the condition failed."""
        item = {**attributes, "pk": pk, "expires_at": int(expires_at)}
        request: dict[str, Any] = {"TableName": self.table_name, "Item": _to_dynamo(item)}
        if only_if_absent:
            request["ConditionExpression"] = "attribute_not_exists(pk) OR expires_at <= :now"
            request["ExpressionAttributeValues"] = {":now": {"N": str(self.now())}}
        try:
            self.client.put_item(**request)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def touch(self, pk: str, expires_at: int, *, require: Mapping[str, Any] | None = None) -> Touch:
        """Slide ``expires_at`` of a live record in one conditional UpdateItem, returning the new record.

        ``require`` adds equality conditions (e.g. a password fingerprint). When the record is absent or
        expired the result is empty; when only ``require`` failed, ``blocked_by`` holds the live record.
        """
        conditions = ["attribute_exists(pk)", "expires_at > :now"]
        values: dict[str, Any] = {":now": {"N": str(self.now())}, ":exp": {"N": str(int(expires_at))}}
        names: dict[str, str] = {}
        for index, (name, value) in enumerate((require or {}).items()):
            names[f"#r{index}"] = name
            values[f":r{index}"] = _codec()[0].serialize(_plain_to_decimal(value))
            conditions.append(f"#r{index} = :r{index}")
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": "SET expires_at = :exp",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            answer = self.client.update_item(**request)
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            return Touch(item=None, blocked_by=self._live(exc.response.get("Item")))
        return Touch(item=_from_dynamo(answer["Attributes"]))

    def delete(self, pk: str) -> Item | None:
        """Remove a record; returns what was there (expired or not), or None."""
        answer = self.client.delete_item(TableName=self.table_name, Key={"pk": {"S": pk}}, ReturnValues="ALL_OLD")
        old = answer.get("Attributes")
        return _from_dynamo(old) if old else None

    def acquire(self, pk: str, ttl_seconds: int) -> str | None:
        """Take a lease (a record with a short life) for single-flight work; its owner token, or None if held."""
        owner = secrets.token_hex(16)
        taken = self.put(pk, {"owner": owner}, self.now() + ttl_seconds, only_if_absent=True)
        return owner if taken else None

    def release(self, pk: str, owner: str) -> None:
        """Give a lease back, only if we still hold it."""
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key={"pk": {"S": pk}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if not _condition_failed(exc):
                raise

    def _live(self, raw: Mapping[str, Any] | None) -> Item | None:
        if not raw:
            return None
        item = _from_dynamo(raw)
        if int(item.get("expires_at", 0)) <= self.now():
            return None
        return item


@cache
def token_store() -> TokenStore:
    """The container's store (built once, reused by warm invocations)."""
    from authhooks import settings

    return TokenStore(settings.common().table_name)
