"""TokenStore: the one DynamoDB table, its key format, expiry filtering, conditional writes and leases.

DynamoDB deletes expired items lazily (hours or days later; the local emulator never does), so
every read here treats ``expires_at <= now`` as absent. DynamoDB failing (throttled, 5xx, timed out,
unreachable, after botocore's own retries) is a 503 ``store_unavailable``, mapped here once.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, cast

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from authhooks import budget
from authhooks.errors import ServiceError, StoreUnavailable
from authhooks.telemetry import logger, metrics

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

    from authhooks import settings

    limits = settings.aws()
    config = Config(
        connect_timeout=limits.store_connect_timeout,
        read_timeout=limits.store_read_timeout,
        retries={"mode": "standard", "max_attempts": limits.store_retries},
        tcp_keepalive=True,
    )
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
        return Keys.bv_confirm_of(digest(authtoken))

    @staticmethod
    def bv_confirm_of(token_digest: str) -> str:
        """The confirmation key of an auth token known only by its digest (the erasure index holds digests)."""
        return f"bv#confirm#{token_digest}"

    @staticmethod
    def bv_pending(authtoken: str) -> str:
        return f"bv#pending#{digest(authtoken)}"

    @staticmethod
    def bv_refused(authtoken: str) -> str:
        return f"bv#refused#{digest(authtoken)}"

    @staticmethod
    def bv_user(bv_user_id: str) -> str:
        return f"bv#user#{bv_user_id}"

    @staticmethod
    def bv_user_confirmations(bv_user_id: str) -> str:
        return f"bv#userconfirm#{bv_user_id}"

    @staticmethod
    def lv_session(session_token: str) -> str:
        return f"lv#session#{digest(session_token)}"

    @staticmethod
    def lv_author(author_key: str) -> str:
        return f"lv#author#{digest(author_key)}"

    @staticmethod
    def lv_lock(author_key: str) -> str:
        """The lease of one author's session start (LoudVoice is asked once at a time per author)."""
        return f"lv#lock#{digest(author_key)}"

    @staticmethod
    def lvx_session(*identity: str) -> str:
        return f"lvx#session#{_identity_digest(identity)}"

    @staticmethod
    def lvx_lock(*identity: str) -> str:
        return f"lvx#lock#{_identity_digest(identity)}"

    @staticmethod
    def lvx_session_id(session_id: str) -> str:
        return f"lvx#id#{digest(session_id)}"

    @staticmethod
    def lvx_refused(*identity_and_password_mac: str) -> str:
        return f"lvx#refused#{_identity_digest(identity_and_password_mac)}"

    @staticmethod
    def lvx_refusals(*identity: str) -> str:
        return f"lvx#refusals#{_identity_digest(identity)}"


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


# Error codes that mean "DynamoDB cannot serve us right now" besides any 5xx.
_UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


def _unavailable(exc: ClientError) -> bool:
    error, meta = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {})
    return error.get("Code") in _UNAVAILABLE_CODES or int(meta.get("HTTPStatusCode") or 0) >= 500


@dataclass(frozen=True)
class Update:
    """What a conditional update found: the new item, or (when a condition failed) the live item that blocked it."""

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
        answer = self._call("GetItem", Key={"pk": {"S": pk}}, ConsistentRead=True)
        return self._live(answer.get("Item"))

    def put(
        self,
        pk: str,
        attributes: Mapping[str, Any],
        expires_at: int,
        *,
        only_if_absent: bool = False,
        require: Mapping[str, Any] | None = None,
    ) -> bool:
        """Write a record; False if a condition failed.

        ``only_if_absent``: an absent or expired record only. ``require``: a live record whose attributes
        equal these values (the version or token a replacement must match).
        """
        item = {**attributes, "pk": pk, "expires_at": int(expires_at)}
        request: dict[str, Any] = {"Item": _to_dynamo(item)}
        condition = _Condition(self.now())
        if only_if_absent:
            condition.absent()
        if require:
            condition.live().equal(require)
        request.update(condition.request())
        try:
            self._call("PutItem", **request)
        except ClientError as exc:
            if _condition_failed(exc):
                return False
            raise
        return True

    def update(
        self, pk: str, *, set: Mapping[str, Any], require: Mapping[str, Any] | None = None, remove: Sequence[str] = ()
    ) -> Update:
        """Set (and remove) attributes of a live record in one conditional UpdateItem, returning the new record.

        ``require`` adds equality conditions (a password fingerprint, a version). When the record is absent or
        expired the result is empty; when only ``require`` failed, ``blocked_by`` holds the live record.
        """
        condition = _Condition(self.now()).live().equal(require or {})
        names = condition.names
        values = condition.values
        assignments = []
        for index, (name, value) in enumerate(set.items()):
            names[f"#s{index}"] = name
            values[f":s{index}"] = _serialize(value)
            assignments.append(f"#s{index} = :s{index}")
        expression = "SET " + ", ".join(assignments)
        if remove:
            for index, name in enumerate(remove):
                names[f"#x{index}"] = name
            expression += " REMOVE " + ", ".join(f"#x{index}" for index in range(len(remove)))
        request = {
            "Key": {"pk": {"S": pk}},
            "UpdateExpression": expression,
            **condition.request(),
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            answer = self._call("UpdateItem", **request)
        except ClientError as exc:
            if not _condition_failed(exc):
                raise
            # ReturnValuesOnConditionCheckFailure puts the record in the error; botocore-stubs' response has no Item.
            blocking = cast("Mapping[str, Any] | None", exc.response.get("Item"))
            return Update(item=None, blocked_by=self._live(blocking))
        return Update(item=_from_dynamo(answer["Attributes"]))

    def touch(self, pk: str, expires_at: int, *, require: Mapping[str, Any] | None = None) -> Update:
        """Move ``expires_at`` of a live record (see ``update``)."""
        return self.update(pk, set={"expires_at": int(expires_at)}, require=require)

    def delete(self, pk: str, *, require: Mapping[str, Any] | None = None) -> Item | None:
        """Remove a record; returns what was there (expired or not), or None (also when ``require`` failed)."""
        condition = _Condition(self.now()).equal(require or {})
        try:
            answer = self._call("DeleteItem", Key={"pk": {"S": pk}}, ReturnValues="ALL_OLD", **condition.request())
        except ClientError as exc:
            if _condition_failed(exc):
                return None
            raise
        old = answer.get("Attributes")
        return _from_dynamo(old) if old else None

    def acquire(self, pk: str, ttl_seconds: int) -> str | None:
        """Take a lease (a record with a short life) for single-flight work; its owner token, or None if held."""
        owner = secrets.token_hex(16)
        taken = self.put(pk, {"owner": owner}, self.now() + ttl_seconds, only_if_absent=True)
        return owner if taken else None

    def release(self, pk: str, owner: str) -> None:
        """Give a lease back if we still hold it. Failing to is logged, never raised: the lease expires by itself."""
        try:
            self.delete(pk, require={"owner": owner})
        except (StoreUnavailable, ClientError) as exc:
            logger.warning("could not release a lease; it expires by itself", extra={"reason": str(exc)[:200]})

    def single_flight[T](
        self,
        lock_pk: str,
        *,
        lease_seconds: int,
        wait_seconds: float,
        work: Callable[[], T],
        done: Callable[[], T | None],
        busy: Callable[[], ServiceError],
    ) -> T:
        """Run ``work`` under a lease, once at a time per ``lock_pk``; others poll ``done`` until it has a result.

        Polling backs off exponentially with jitter and stops after ``wait_seconds`` (or what the invocation
        has left), raising ``busy()``. A holder that dies leaves a lease that expires after ``lease_seconds``.
        """
        deadline = time.monotonic() + min(wait_seconds, budget.remaining())
        attempt = 0
        while True:
            owner = self.acquire(lock_pk, lease_seconds)
            if owner is not None:
                try:
                    # The previous holder may have finished between our look and the lease.
                    found = done()
                    return found if found is not None else work()
                finally:
                    self.release(lock_pk, owner)
            if attempt == 0:
                metrics.add_metric(name="LeaseWaits", unit=MetricUnit.Count, value=1)
                logger.info("waiting for a concurrent holder of the same lease to finish")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise busy()
            time.sleep(min(remaining, _backoff(attempt)))
            attempt += 1
            found = done()
            if found is not None:
                return found

    def _call(self, operation: str, **request: Any) -> Any:
        """One DynamoDB request; unavailability (after botocore's retries) becomes StoreUnavailable."""
        method = getattr(self.client, _SNAKE[operation])
        try:
            return method(TableName=self.table_name, **request)
        except ClientError as exc:
            if not _unavailable(exc):
                raise
            raise self._unavailable(operation, exc.response.get("Error", {}).get("Code", "")) from exc
        except BotoCoreError as exc:  # timeouts, connection errors
            raise self._unavailable(operation, type(exc).__name__) from exc

    @staticmethod
    def _unavailable(operation: str, reason: str) -> StoreUnavailable:
        logger.error("DynamoDB is unavailable", extra={"operation": operation, "reason": reason})
        metrics.add_metric(name="StoreUnavailable", unit=MetricUnit.Count, value=1)
        return StoreUnavailable("the token store is unavailable; try again shortly")

    def _live(self, raw: Mapping[str, Any] | None) -> Item | None:
        if not raw:
            return None
        item = _from_dynamo(raw)
        if int(item.get("expires_at", 0)) <= self.now():
            return None
        return item


_SNAKE = {"GetItem": "get_item", "PutItem": "put_item", "UpdateItem": "update_item", "DeleteItem": "delete_item"}


def _serialize(value: Any) -> Any:
    return _codec()[0].serialize(_plain_to_decimal(value))


class _Condition:
    """A ConditionExpression built from parts, with its names and values."""

    def __init__(self, now: int) -> None:
        self.parts: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.now = now

    def absent(self) -> _Condition:
        self.values[":now"] = {"N": str(self.now)}
        self.parts.append("(attribute_not_exists(pk) OR expires_at <= :now)")
        return self

    def live(self) -> _Condition:
        self.values[":now"] = {"N": str(self.now)}
        self.parts.append("attribute_exists(pk) AND expires_at > :now")
        return self

    def equal(self, required: Mapping[str, Any]) -> _Condition:
        for index, (name, value) in enumerate(required.items()):
            self.names[f"#r{index}"] = name
            self.values[f":r{index}"] = _serialize(value)
            self.parts.append(f"#r{index} = :r{index}")
        return self

    def request(self) -> dict[str, Any]:
        if not self.parts:
            return {}
        request: dict[str, Any] = {"ConditionExpression": " AND ".join(self.parts)}
        if self.names:
            request["ExpressionAttributeNames"] = self.names
        if self.values:
            request["ExpressionAttributeValues"] = self.values
        return request


def retrying[T](work: Callable[[], T], *, seconds: float) -> T:
    """``work`` again while the store is unavailable, for up to ``seconds`` (or what the invocation has left).

    For writes that must not be lost once a vendor said yes; the last StoreUnavailable is raised when time is up.
    """
    deadline = time.monotonic() + min(seconds, budget.remaining())
    attempt = 0
    while True:
        try:
            return work()
        except StoreUnavailable:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise
            time.sleep(min(remaining, _backoff(attempt)))
            attempt += 1


def _backoff(attempt: int) -> float:
    """Exponential from 50 ms up to 1 s, with jitter so that waiters do not poll in step."""
    ceiling = min(1.0, 0.05 * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


@cache
def token_store() -> TokenStore:
    """The container's store (built once, reused by warm invocations)."""
    from authhooks import settings

    return TokenStore(settings.common().table_name)
