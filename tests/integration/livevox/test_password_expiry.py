"""A cached session is never handed out past the password expiry LiveVox announced at login (found by the audit).

LiveVox ends every session of a user at once when the password expires; a cache that kept sliding the session
would hand out a dead session id, and a negative day count, for as long as callers kept using it.
"""

from __future__ import annotations

from typing import Any

from tests.conftest import sandbox_calls
from tests.integration.livevox.conftest import SESSIONS, credentials

STEP_SECONDS = 90 * 60  # inside the 2-hour inactivity window: every reuse is a cache hit while the password holds


def test_past_the_announced_count_the_cache_asks_livevox_again(api: Any, sandbox_url: str) -> None:
    first = api.post(SESSIONS, json=credentials("expiring-erin")).json()
    assert first["days_until_password_expires"] == 3 and first["cached"] is False
    answers = []
    for _ in range(4 * 24 * 3600 // STEP_SECONDS):  # four days of steady use
        api.clock.advance(STEP_SECONDS)
        reply = api.post(SESSIONS, json=credentials("expiring-erin"))
        assert reply.status == 200, reply.text
        answers.append(reply.json())

    cached_days = [a["days_until_password_expires"] for a in answers if a["cached"]]
    assert min(cached_days) >= 1, "a cached answer never says the password expires today or has expired"
    assert sorted(set(cached_days)) == [1, 2, 3]
    relogins = [a for a in answers if not a["cached"]]
    assert relogins and all(a["days_until_password_expires"] == 3 for a in relogins)  # the sandbox's fresh count
    assert sandbox_calls(sandbox_url)["livevox.login"] == 1 + len(relogins)


def test_a_password_far_from_expiry_keeps_the_session_cached_for_days(api: Any, sandbox_url: str) -> None:
    api.post(SESSIONS, json=credentials("patient-pat"))  # 12 days
    for _ in range(3 * 24 * 3600 // STEP_SECONDS):
        api.clock.advance(STEP_SECONDS)
        assert api.post(SESSIONS, json=credentials("patient-pat")).json()["cached"] is True
    assert sandbox_calls(sandbox_url)["livevox.login"] == 1
