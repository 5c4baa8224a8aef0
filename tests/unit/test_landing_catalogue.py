"""The landing pages' message catalogues: every language has every message, placeholders survive, .mo matches .po."""

from __future__ import annotations

import gettext
import string
from pathlib import Path

import pytest
from bazaarvoice_confirm import landing, language

from local import catalogue

MESSAGES = catalogue.extract()


def placeholders(text: str) -> list[str]:
    return sorted(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


def test_there_is_one_catalogue_per_language_the_page_offers_and_the_template_is_current(tmp_path: Path) -> None:
    assert catalogue.languages() == sorted(language.LANGUAGES)
    assert len(MESSAGES) >= 30  # every sentence of every page state, found in landing.py
    fresh = tmp_path / "landing.pot"
    catalogue.write_pot(MESSAGES, fresh)
    assert (catalogue.LOCALES / "landing.pot").read_text(encoding="utf-8") == fresh.read_text(encoding="utf-8"), (
        "landing.pot is stale: run `python -m local.catalogue`"
    )


@pytest.mark.parametrize("code", language.LANGUAGES)
def test_every_message_is_translated_once_with_its_placeholders(code: str) -> None:
    po = catalogue.read_po(catalogue.po_path(code))
    translations = {key: value for key, value in po.messages.items() if key}
    assert sorted(translations) == sorted(MESSAGES), "messages missing from or left over in the catalogue"
    assert po.fuzzy == set(), "fuzzy (draft) entries"
    assert f"Language: {code}\n" in po.messages[""]
    for message, translated in translations.items():
        assert translated.strip(), f"untranslated: {message!r}"
        assert placeholders(translated) == placeholders(message), f"placeholders changed in {translated!r}"
        assert "<" not in translated and ">" not in translated, "markup belongs in the templates"
        if code == "en":
            assert translated == message
        else:
            assert translated != message, f"left in English: {message!r}"


@pytest.mark.parametrize("code", language.LANGUAGES)
def test_the_compiled_mo_is_exactly_the_po(code: str) -> None:
    po = catalogue.read_po(catalogue.po_path(code))
    with catalogue.po_path(code).with_suffix(".mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    assert mo._catalog == po.messages  # type: ignore[attr-defined]
    assert landing.Text(code)("Continue to {site}", site="<Shop & Co>") == (
        mo.gettext("Continue to {site}").format(site="&lt;Shop &amp; Co&gt;")
    )


def test_the_reader_reads_what_translators_write(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        '# a comment\nmsgid ""\nmsgstr "Language: xx\\n"\n\n#, fuzzy, python-brace-format\nmsgid "A {site}"\n'
        'msgstr "B "\n"{site} \\"C\\""\n\nmsgid "D"\nmsgstr ""\n',
        encoding="utf-8",
    )
    read = catalogue.read_po(po)
    assert read.messages == {"": "Language: xx\n", "A {site}": 'B {site} "C"', "D": ""}
    assert read.fuzzy == {"A {site}"}
    po.write_text('msgid "A"\nmsgid "B"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="cannot read"):
        catalogue.read_po(po)
