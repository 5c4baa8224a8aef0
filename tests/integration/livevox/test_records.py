"""The LiveVox records under races: a logout that lands between a handout's read and its writes wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authhooks.store import Keys, TokenStore, token_store

from tests.integration.livevox.conftest import SESSIONS, credentials, records


class LogoutBeforePointerWrite(TokenStore):
    """The real store; just before its first write to a by-id pointer, a concurrent logout forgets the session
    (deletes the pointer, then the session record), as DELETE /livevox/sessions/{id} does."""

    raced = False

    def put(self, pk: str, attributes: Mapping[str, Any], expires_at: int, **kwargs: Any) -> bool:
        self._race(pk)
        return super().put(pk, attributes, expires_at, **kwargs)

    def update(self, pk: str, **kwargs: Any) -> Any:
        self._race(pk)
        return super().update(pk, **kwargs)

    def _race(self, pk: str) -> None:
        if self.raced or not pk.startswith("lvx#id#"):
            return
        type(self).raced = True
        pointer = super().delete(pk)
        assert pointer is not None, "the race needs a pointer to delete"
        super().delete(pointer["session_pk"])


def test_a_pointer_renewal_never_brings_back_a_session_a_logout_deleted(api: Any, aws: Any) -> None:
    login = api.post(SESSIONS, json=credentials()).json()
    [session] = records(aws, "session")
    # The pointer is due for renewal (as after a week of use): the next confirmed use renews it.
    aws.dynamodb.update_item(
        TableName=_table(),
        Key={"pk": {"S": session["pk"]}},
        UpdateExpression="SET pointer_expires_at = :p",
        ExpressionAttributeValues={":p": {"N": str(int(api.clock.now))}},
    )
    api.clock.advance(3600)  # past the revalidation age, so LiveVox confirms the session and the pointer is renewed
    LogoutBeforePointerWrite.raced = False
    store = token_store()
    store.__class__ = LogoutBeforePointerWrite
    try:
        reply = api.post(SESSIONS, json=credentials())
    finally:
        store.__class__ = TokenStore
    assert LogoutBeforePointerWrite.raced, "the handout never wrote the pointer: the race did not happen"
    assert reply.status == 200
    # The logout's deletes stand: neither the record nor its pointer came back.
    assert [item for item in records(aws, "session") if item.get("session_id") == login["session_id"]] == []
    assert records(aws, "id") == []
    assert token_store().get(Keys.lvx_session_id(login["session_id"])) is None


def _table() -> str:
    from authhooks import settings

    return settings.common().table_name
