"""The landing request: bv_authtoken validation and the return_to allow-list (pure logic, no I/O)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
from authhooks.errors import InvalidRequest
from hypothesis import given
from hypothesis import strategies as st

ALLOWED = "https://shop.example.com, http://127.0.0.1:3000/"


@pytest.fixture(scope="module")
def confirm() -> ModuleType:
    """The function's logic module, from the same code directory Lambda would load."""
    from bazaarvoice_confirm import confirm

    return confirm


@pytest.fixture(autouse=True)
def allow_list() -> Iterator[None]:
    from authhooks import settings

    from local import config

    with pytest.MonkeyPatch.context() as patch:
        # The function's environment as the template builds it, with this test's allow-list.
        overrides = {"BazaarvoiceAllowedReturnUrls": ALLOWED}
        for name, value in config.function_environments("http://127.0.0.1:9", overrides)[
            "BazaarvoiceConfirmFunction"
        ].items():
            patch.setenv(name, value)
        settings.reset()
        yield
    settings.reset()


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com",
        "https://shop.example.com/a?b=c#d",
        "https://Shop.Example.COM:443/",
        "http://127.0.0.1:3000/x",
    ],
)
def test_allowed(confirm: ModuleType, url: str) -> None:
    assert confirm.allowed_return_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "/relative",
        "//shop.example.com/",
        "https:shop.example.com",
        "https:/shop.example.com",
        "http://shop.example.com",
        "https://shop.example.com:444",
        "https://u@shop.example.com",
        "https://shop.example.com\\@evil.example",
        "https://shop.example.com.",
        "https://[::1]/",
        "https://shop.example.com:99999/",
        "https://shop.example.com:-1/",
        "http://127.0.0.1:3001/",
        "http://localhost:3000/",
        "https://shop.example.com/" + "a" * 2100,
        "https://shop.example.com/\x00",
        "https://shop.example.com/é",
        "https://shop.example.com[",
        "https://[shop.example.com/",
        "https://]/",
    ],
)
def test_refused(confirm: ModuleType, url: str | None) -> None:
    assert confirm.allowed_return_url(url) is None


@given(st.text(max_size=120))
def test_only_allow_listed_origins_ever_come_back(confirm: ModuleType, text: str) -> None:
    for candidate in (text, "https://shop.example.com" + text, "http://127.0.0.1:3000" + text):
        honoured = confirm.allowed_return_url(candidate)
        assert honoured is None or honoured == candidate
        if honoured is not None:
            assert honoured.lower().startswith(("https://shop.example.com", "http://127.0.0.1:3000"))
            assert "@" not in honoured.split("/")[2] and "\\" not in honoured


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({}, ["bv_authtoken"]),
        ({"bv_authtoken": ""}, ["bv_authtoken"]),
        ({"bv_authtoken": " \t"}, ["bv_authtoken"]),
        ({"bv_authtoken": "x" * 513}, ["bv_authtoken"]),
        ({"bv_authtoken": 7, "return_to": 8}, ["bv_authtoken", "return_to"]),
        ({"bv_authtoken": ["a"]}, ["bv_authtoken"]),
    ],
)
def test_bad_requests_name_every_field(confirm: ModuleType, values: dict, fields: list[str]) -> None:
    with pytest.raises(InvalidRequest) as raised:
        confirm.landing_request(values)
    assert [e.field for e in raised.value.errors] == fields


def test_a_good_request(confirm: ModuleType) -> None:
    assert confirm.landing_request({"bv_authtoken": " tok ", "return_to": "https://evil.example"}) == ("tok", None)
    assert confirm.landing_request({"bv_authtoken": "t" * 512, "return_to": None}) == ("t" * 512, None)
