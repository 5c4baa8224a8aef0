"""TokenStore against moto, in process and over moto's HTTP server: expiry, touch, races, leases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from local import config
from tests.conftest import Clock


@pytest.fixture(params=["in_process", "http_server"])
def backend(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("aws" if request.param == "in_process" else "aws_server")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(backend: Any, clock: Clock) -> Any:
    from authhooks.store import TokenStore

    return TokenStore(config.TABLE_NAME, client=boto3.client("dynamodb", region_name=config.REGION), clock=clock)


def test_get_returns_a_live_record_and_hides_an_expired_one(store: Any, backend: Any, clock: Clock) -> None:
    store.put("t#1", {"value": "a", "count": 3, "ratio": 0.5, "flag": True, "nested": {"n": 1}}, clock.now + 60)
    item = store.get("t#1")
    assert item == {
        "pk": "t#1",
        "value": "a",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "nested": {"n": 1},
        "expires_at": int(clock.now + 60),
    }

    clock.advance(60)
    assert store.get("t#1") is None, "expires_at <= now must read as absent"
    assert len(backend.items()) == 1, "DynamoDB still holds it (TTL deletes lazily); only our read hides it"


def test_get_of_a_missing_key_is_none(store: Any) -> None:
    assert store.get("t#missing") is None


def test_put_only_if_absent_refuses_a_live_record_but_replaces_an_expired_one(store: Any, clock: Clock) -> None:
    assert store.put("t#2", {"v": 1}, clock.now + 10, only_if_absent=True) is True
    assert store.put("t#2", {"v": 2}, clock.now + 10, only_if_absent=True) is False
    assert store.get("t#2")["v"] == 1
    clock.advance(11)
    assert store.put("t#2", {"v": 3}, clock.now + 10, only_if_absent=True) is True
    assert store.get("t#2")["v"] == 3


def test_touch_slides_expiry_and_returns_the_new_item(store: Any, clock: Clock) -> None:
    store.put("t#3", {"v": "x"}, clock.now + 100)
    touched = store.touch("t#3", int(clock.now) + 500)
    assert touched.item is not None
    assert touched.item["expires_at"] == int(clock.now) + 500
    assert touched.item["v"] == "x"
    assert store.get("t#3")["expires_at"] == int(clock.now) + 500


def test_touch_refuses_an_expired_item(store: Any, clock: Clock) -> None:
    store.put("t#4", {"v": "x"}, clock.now + 10)
    clock.advance(10)
    touched = store.touch("t#4", int(clock.now) + 500)
    assert touched.item is None and touched.blocked_by is None
    assert store.get("t#4") is None, "an expired item must not be revived"


def test_touch_of_a_missing_item_creates_nothing(store: Any, backend: Any, clock: Clock) -> None:
    touched = store.touch("t#none", int(clock.now) + 500)
    assert touched.item is None and touched.blocked_by is None
    assert backend.items() == []


def test_touch_with_a_failed_requirement_reports_the_live_item(store: Any, clock: Clock) -> None:
    store.put("t#5", {"mac": "right"}, clock.now + 100)
    wrong = store.touch("t#5", int(clock.now) + 500, require={"mac": "wrong"})
    assert wrong.item is None
    assert wrong.blocked_by is not None and wrong.blocked_by["mac"] == "right"
    assert store.get("t#5")["expires_at"] == int(clock.now + 100), "a failed touch must not slide"
    right = store.touch("t#5", int(clock.now) + 500, require={"mac": "right"})
    assert right.item is not None and right.item["expires_at"] == int(clock.now) + 500


def test_delete_returns_what_was_there(store: Any, clock: Clock) -> None:
    store.put("t#6", {"v": 1}, clock.now + 100)
    assert store.delete("t#6")["v"] == 1
    assert store.delete("t#6") is None
    assert store.get("t#6") is None


def test_two_threads_racing_a_conditional_put_exactly_one_wins(store: Any, clock: Clock) -> None:
    for round_number in range(10):
        barrier = threading.Barrier(2)

        def race(value: int, key: str = f"t#race{round_number}", gate: threading.Barrier = barrier) -> bool:
            gate.wait()
            return store.put(key, {"winner": value}, clock.now + 60, only_if_absent=True)

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(race, [1, 2]))
        assert sorted(results) == [False, True]
        assert store.get(f"t#race{round_number}")["winner"] == results.index(True) + 1


def test_lease_is_exclusive_under_16_threads(store: Any, clock: Clock) -> None:
    barrier = threading.Barrier(16)

    def take(_: int) -> str | None:
        barrier.wait()
        return store.acquire("t#lock", ttl_seconds=30)

    with ThreadPoolExecutor(max_workers=16) as pool:
        owners = list(pool.map(take, range(16)))
    held = [owner for owner in owners if owner]
    assert len(held) == 1

    # Only the holder can release it; then the next one can take it.
    store.release("t#lock", "somebody-else")
    assert store.acquire("t#lock", ttl_seconds=30) is None
    store.release("t#lock", held[0])
    assert store.acquire("t#lock", ttl_seconds=30) is not None


def test_an_expired_lease_can_be_taken_over(store: Any, clock: Clock) -> None:
    first = store.acquire("t#lease", ttl_seconds=5)
    assert first and store.acquire("t#lease", ttl_seconds=5) is None
    clock.advance(5)
    second = store.acquire("t#lease", ttl_seconds=5)
    assert second and second != first
    store.release("t#lease", first)  # the dead holder's late release must not free the new lease
    assert store.acquire("t#lease", ttl_seconds=5) is None
