"""Make moto's DynamoDB honour what real DynamoDB guarantees: a conditional write is atomic.

moto checks a ConditionExpression and then writes, with no lock between; two threads (or two requests
to its threaded server) can both pass the check. Real DynamoDB serialises writes to one item, and our
single-flight lease and conditional puts depend on that, so every item operation here takes one lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_OPERATIONS = ("put_item", "get_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def make_dynamodb_atomic() -> None:
    """Wrap moto's DynamoDB item operations in one lock (idempotent; call before serving requests)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_authhooks_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _lock:
                return __original(self, *args, **kwargs)

        locked._authhooks_atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
