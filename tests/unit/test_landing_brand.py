"""The landing brand's colour rules (pure): WCAG contrast of the accent with white button text."""

from __future__ import annotations

import pytest
from bazaarvoice_confirm import brand


@pytest.mark.parametrize(
    ("first", "second", "ratio"),
    [
        ("#ffffff", "#000000", 21.0),
        ("#000000", "#ffffff", 21.0),
        ("#777777", "#777777", 1.0),
        ("#0b5cad", "#ffffff", 6.67),
        ("#767676", "#ffffff", 4.54),
        ("#ffcc00", "#ffffff", 1.51),
    ],
)
def test_contrast_is_the_wcag_ratio(first: str, second: str, ratio: float) -> None:
    assert brand.contrast(first, second) == pytest.approx(ratio, abs=0.01)


def test_the_default_accent_and_the_test_brand_pass_with_white_text() -> None:
    assert brand.contrast(brand.DEFAULT_ACCENT, "#ffffff") >= brand.MIN_CONTRAST
    assert brand.contrast("#7a1f5c", "#ffffff") >= brand.MIN_CONTRAST


def test_the_logo_origin_is_scheme_host_and_port_only() -> None:
    logo = brand.Brand(
        site_name="s",
        accent="#000000",
        logo_url="https://cdn.example.com:8443/a/logo.png?v=2",
        support_url=None,
        privacy_url=None,
    )
    assert logo.logo_origin == "https://cdn.example.com:8443"
    assert brand.Brand("s", "#000000", None, None, None).logo_origin is None
