"""Vendor backends and shared pieces, without HTTP."""

from datetime import UTC, datetime, timedelta

import pytest

from local.sandbox import bazaarvoice, livevox, loudvoice
from local.sandbox.bazaarvoice import BazaarvoiceBackend
from local.sandbox.core import CallCounter, Fault, FaultMode, FaultPlan, SandboxClock, VendorError
from local.sandbox.livevox import IDLE_LIMIT, LiveVoxBackend
from local.sandbox.loudvoice import AuthorSpec, LoudVoiceBackend, rfc2822


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = datetime(2018, 3, 26, 17, 33, 12, 345, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _refusal(error: pytest.ExceptionInfo[VendorError]) -> tuple[int, str | None]:
    return error.value.status, error.value.code


def test_bv_exchange_once(clock: FakeClock) -> None:
    backend = BazaarvoiceBackend(clock)
    minted = backend.mint_token(email="Shopper@Example.com ", maxage=7)
    user = backend.authenticate(bazaarvoice.PASSKEY, minted.authtoken, "5.4")
    assert bytes.fromhex(user[32:]).decode() == (f"userid={minted.user_id}&hosted=VERIFIED&date=20180326&maxage=7")
    assert backend.mint_token(email="shopper@example.com").user_id == minted.user_id
    with pytest.raises(VendorError) as again:
        backend.authenticate(bazaarvoice.PASSKEY, minted.authtoken, "5.4")
    assert _refusal(again) == (400, "ERROR_BAD_REQUEST")


@pytest.mark.parametrize(
    ("passkey", "token", "version", "refusal"),
    [
        ("nope", "t", "5.4", (401, "ERROR_PARAM_INVALID_API_KEY")),
        (None, "t", "5.4", (401, "ERROR_PARAM_INVALID_API_KEY")),
        (bazaarvoice.PASSKEY, None, "5.4", (400, "ERROR_BAD_REQUEST")),
        (bazaarvoice.PASSKEY, "t", None, (400, "ERROR_BAD_REQUEST")),  # "Missing required parameter - apiversion."
    ],
)
def test_bv_refusals(
    clock: FakeClock, passkey: str | None, token: str | None, version: str | None, refusal: tuple[int, str]
) -> None:
    with pytest.raises(VendorError) as error:
        BazaarvoiceBackend(clock).authenticate(passkey, token, version)
    assert _refusal(error) == refusal


def test_bv_quota_counts_per_minute(clock: FakeClock) -> None:
    backend = BazaarvoiceBackend(clock)
    assert [backend.count_query() for _ in range(3)] == [1, 2, 3]
    clock.now += timedelta(minutes=1)
    assert backend.count_query() == 1


def test_bv_error_shape_and_reset(clock: FakeClock) -> None:
    backend = BazaarvoiceBackend(clock)
    backend.set_error_shape("problem")
    with pytest.raises(ValueError, match="shape"):
        backend.set_error_shape("html")
    token = backend.mint_token().authtoken
    backend.reset()
    assert backend.error_shape == "classic"
    with pytest.raises(VendorError):
        backend.authenticate(bazaarvoice.PASSKEY, token, "5.4")


def test_loudvoice_reference_lifecycle(clock: FakeClock) -> None:
    backend = LoudVoiceBackend(clock)
    spec = AuthorSpec(author_reference="U1", fields={"name": "Ann", "email": "ann@example.com"})
    session, created = backend.start_session(spec, expires_in=60)
    assert created and session.author.name == "Ann"
    assert session.date_expiration - session.date_creation == timedelta(seconds=60)
    assert session.date_creation.microsecond == 0
    clock.now += timedelta(seconds=10)
    again, created = backend.start_session(AuthorSpec(author_reference="U1", fields={"name": "Anne"}))
    assert not created and again.author is session.author and again.author.name == "Anne"
    assert again.author.date_last_update == clock.now.replace(microsecond=0)
    assert [s.author_session_token for s in backend.list_sessions(session.author.author_token)] == [
        again.author_session_token,
        session.author_session_token,
    ]
    clock.now += timedelta(seconds=60)
    assert backend.session(session.author_session_token) is None
    with pytest.raises(VendorError) as gone:
        backend.delete_session(session.author_session_token)
    assert gone.value.status == 404
    backend.delete_session(again.author_session_token)
    assert backend.list_sessions() == []


@pytest.mark.parametrize(
    ("spec", "status"),
    [
        (AuthorSpec(author_reference="NEW", allow_create_new=False, fields={"name": "N"}), 404),
        (AuthorSpec(author_reference="NEW"), 400),
        (AuthorSpec(author_reference="NEW", fields={"name": "N", "email": "n@"}), 400),
        (AuthorSpec(author_reference="NEW", fields={"name": "N", "website_url": "example.com"}), 400),
        (AuthorSpec(identity_token="00000000-0000-4000-8000-000000000000"), 404),
        (AuthorSpec(author_token="00000000-0000-4000-8000-000000000000"), 404),
    ],
)
def test_loudvoice_refusals(clock: FakeClock, spec: AuthorSpec, status: int) -> None:
    with pytest.raises(VendorError) as error:
        LoudVoiceBackend(clock).start_session(spec)
    assert error.value.status == status


def test_loudvoice_identity_and_author_token(clock: FakeClock) -> None:
    backend = LoudVoiceBackend(clock)
    identity = backend.mint_identity()
    first, created = backend.start_session(AuthorSpec(identity_token=identity))
    assert created and first.author.author_reference is None and first.author.name
    second, created = backend.start_session(AuthorSpec(identity_token=identity))
    assert not created and second.author is first.author
    third, created = backend.start_session(AuthorSpec(author_token=first.author.author_token))
    assert not created and third.author is first.author


def test_loudvoice_keys() -> None:
    backend = LoudVoiceBackend(FakeClock())
    backend.check_keys(loudvoice.PUBLIC_KEY, loudvoice.PRIVATE_KEY)
    with pytest.raises(VendorError) as error:
        backend.check_keys(loudvoice.PUBLIC_KEY, None)
    assert error.value.status == 401


def test_rfc2822() -> None:
    # In the site's zone with a numeric offset, as OneAll writes dates.
    assert rfc2822(datetime(2018, 3, 26, 17, 33, 12, 999, tzinfo=UTC)) == "Mon, 26 Mar 2018 19:33:12 +0200"
    assert rfc2822(None) is None


def test_livevox_sessions_slide(clock: FakeClock) -> None:
    backend = LiveVoxBackend(clock)
    login = backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "u", livevox.PASSWORD, agent=False)
    clock.now += IDLE_LIMIT - timedelta(seconds=1)
    backend.validate(livevox.ACCESS_TOKEN, login.session_id)
    clock.now += IDLE_LIMIT - timedelta(seconds=1)
    assert backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "u", livevox.PASSWORD, False) == login
    clock.now += IDLE_LIMIT
    with pytest.raises(VendorError) as expired:
        backend.validate(livevox.ACCESS_TOKEN, login.session_id)
    assert expired.value.status == 401
    with pytest.raises(VendorError) as unknown:
        backend.logout(login.session_id)
    assert unknown.value.status == 404


def test_livevox_principals(clock: FakeClock) -> None:
    backend = LiveVoxBackend(clock)
    agent = backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "Ag", livevox.PASSWORD, agent=True)
    assert backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "aG", livevox.PASSWORD, agent=True) == agent
    user = backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "Us", livevox.PASSWORD, agent=False)
    assert backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "us", livevox.PASSWORD, False) != user
    assert backend.sso_login(livevox.ACCESS_TOKEN, "SANDBOX", "sandbox-id-token:Us", False) == user
    backend.logout(user.session_id)
    assert backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "Us", livevox.PASSWORD, False).user_id == user.user_id


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("wrong", "SANDBOX", "u", livevox.PASSWORD), "LV-Access"),
        ((livevox.ACCESS_TOKEN, "OTHER", "u", livevox.PASSWORD), "client"),
        ((livevox.ACCESS_TOKEN, "SANDBOX", "u", "wrong"), "password"),
        ((livevox.ACCESS_TOKEN, "SANDBOX", "expired-u", livevox.PASSWORD), "password has expired"),
    ],
)
def test_livevox_refusals(clock: FakeClock, args: tuple[str, str, str, str], message: str) -> None:
    with pytest.raises(VendorError, match=message) as error:
        LiveVoxBackend(clock).login(*args, agent=False)
    assert error.value.status == 401


def test_fault_plan_spends_in_order() -> None:
    plan = FaultPlan()
    plan.add(Fault("livevox", "login", FaultMode.RESET, remaining=2))
    plan.add(Fault("livevox", None, FaultMode.GARBAGE))
    assert plan.take("bazaarvoice", "authenticateuser") is None
    taken = [plan.take("livevox", "login") for _ in range(3)]
    assert [fault.mode if fault else None for fault in taken] == [FaultMode.RESET, FaultMode.RESET, FaultMode.GARBAGE]
    assert plan.take("livevox", "login") is None
    assert plan.pending() == []


def test_call_counter_and_clock() -> None:
    counter = CallCounter()
    counter.record("livevox.login")
    counter.record("livevox.login")
    assert counter.snapshot() == {"livevox.login": 2}
    counter.clear()
    assert counter.snapshot() == {}
    clock = SandboxClock()
    before = clock()
    clock.advance(timedelta(hours=2))
    assert clock() - before >= timedelta(hours=2)
    clock.reset()
    assert clock() - before < timedelta(hours=1)


def test_livevox_locks_after_five_consecutive_failures(clock: FakeClock) -> None:
    backend = LiveVoxBackend(clock)
    for _ in range(livevox.LOCK_AFTER):
        with pytest.raises(VendorError):
            backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "u", "wrong", agent=False)
    assert backend.user_status("u", agent=False) == {"failed_logins": 5, "locked": True}
    with pytest.raises(VendorError, match="locked"):
        backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "u", livevox.PASSWORD, agent=False)
    backend.reset()
    assert backend.login(livevox.ACCESS_TOKEN, "SANDBOX", "u", livevox.PASSWORD, agent=False).session_id
