"""The landing page's language: the link's locale, Accept-Language negotiation, the default (pure logic)."""

from __future__ import annotations

import pytest
from bazaarvoice_confirm import language
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("de_DE", "de"),
        ("de-DE", "de"),
        ("de", "de"),
        ("DE_at", "de"),
        ("ja_JP", "ja"),
        ("pt_BR", "pt"),
        ("sv_SE", "sv"),
        (" fr_CA ", "fr"),
        ("zz_ZZ", None),
        ("", None),
        ("de" * 40, None),
        (None, None),
        (["de"], None),
    ],
)
def test_a_bazaarvoice_locale_names_the_language(locale: object, expected: str | None) -> None:
    assert language.from_locale(locale) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("de-AT", "de"),  # region fallback
        ("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        ("en;q=0.5, ja", "ja"),  # quality beats order
        ("nl;q=0.8, sv;q=0.8", "nl"),  # equal quality: the earlier range
        ("de;q=0, en;q=0.1", "en"),  # q=0 refuses
        ("de;q=0", None),
        ("*", "it"),  # the wildcard stands for the default first
        ("it;q=0, *", "en"),  # ... but never for a refused language
        ("zh-CN, *;q=0.1", "it"),
        ("zh-CN, ko", None),
        ("da, pl;q=0.2", "pl"),
        ("de-DE;q=0.3, de;q=0.9", "de"),
        ("en-GB;q=0.9, de;q=0, de-CH;q=1", "en"),  # de refused outright: its regional range does not revive it
        ("pt-BR;q=0.9, es;q=0.8", "pt"),
        ("sv;, en;q=0.5", "sv"),  # an empty parameter is no weight
        ("sv;q=1.000, en;q=0.999", "sv"),
        ("garbage;;;, ja;q=2, es;q=abc, pl", "pl"),  # malformed members are skipped
        ("", None),
        (None, None),
    ],
)
def test_accept_language_is_negotiated_by_quality(header: str | None, expected: str | None) -> None:
    assert language.from_accept_language(header, default="it") == expected


def test_the_link_beats_the_browser_which_beats_the_default() -> None:
    assert language.choose("ja_JP", "de", "fr") == "ja"
    assert language.choose("xx_XX", "de", "fr") == "de"
    assert language.choose(None, "zh", "fr") == "fr"
    assert language.choose(None, None, "not-a-language") == "en"


def test_every_language_we_have_is_left_to_right_and_rtl_would_be_said() -> None:
    assert {language.direction(code) for code in language.LANGUAGES} == {"ltr"}
    assert language.direction("ar") == "rtl"


@given(st.text(max_size=200), st.sampled_from(language.LANGUAGES))
def test_any_header_gives_one_of_ours_or_none(header: str, default: str) -> None:
    assert language.from_accept_language(header, default) in (*language.LANGUAGES, None)
    assert language.choose(header, header, default) in language.LANGUAGES
