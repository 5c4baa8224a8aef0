"""The landing pages' message catalogues: extract the ``_("...")`` sentences, read ``.po``, write ``.mo``.

``python -m local.catalogue`` rewrites ``landing.pot`` from the code and compiles every ``.po`` to its ``.mo``
(the format the standard library's ``gettext`` reads); run it after editing a translation and commit both.
"""

from __future__ import annotations

import ast
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "functions" / "bazaarvoice_confirm" / "bazaarvoice_confirm"
SOURCES = (PACKAGE / "landing.py",)
LOCALES = PACKAGE / "locales"
DOMAIN = "landing"
HEADER = (
    "Project-Id-Version: authhooks landing\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\n"
    "Content-Transfer-Encoding: 8bit\nLanguage: {language}\n"
)


@dataclass
class Catalogue:
    """One ``.po`` file: ``msgid -> msgstr`` (the header under ``""``), and the msgids marked fuzzy."""

    messages: dict[str, str] = field(default_factory=dict)
    fuzzy: set[str] = field(default_factory=set)


def extract(sources: tuple[Path, ...] = SOURCES) -> list[str]:
    """Every ``_("literal")`` in ``sources``, in source order (what ``xgettext -k_`` finds)."""
    found: dict[str, tuple[int, int]] = {}
    for index, source in enumerate(sources):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                message = node.args[0].value
                found[message] = min(found.get(message, (index, node.lineno)), (index, node.lineno))
    return sorted(found, key=found.__getitem__)


def _unquote(line: str, path: Path, number: int) -> str:
    text = line.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ValueError(f"{path}:{number}: expected a quoted string")
    value = ast.literal_eval(text)  # PO strings use C escapes, which Python's literals share (\n \t \" \\)
    if not isinstance(value, str):
        raise ValueError(f"{path}:{number}: not a string")
    return value


def read_po(path: Path) -> Catalogue:
    """A ``.po`` file (single messages: no plurals, no contexts, which the landing pages do not use)."""
    catalogue = Catalogue()
    msgid: str | None = None
    msgstr: str | None = None
    section = ""
    fuzzy = False

    def finish() -> None:
        nonlocal msgid, msgstr, fuzzy
        if msgid is not None:
            if msgid in catalogue.messages:
                raise ValueError(f"{path}: duplicate msgid {msgid!r}")
            catalogue.messages[msgid] = msgstr or ""
            if fuzzy:
                catalogue.fuzzy.add(msgid)
        msgid = msgstr = None
        fuzzy = False

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("#") or not line.strip():
            if msgstr is not None:
                finish()  # a comment or blank line after a msgstr starts the next entry
            fuzzy = fuzzy or (line.startswith("#,") and "fuzzy" in line)
        elif line.startswith("msgid ") and msgstr is None and msgid is None:
            msgid, section = _unquote(line[6:], path, number), "msgid"
        elif line.startswith("msgid ") and msgstr is not None:
            finish()
            msgid, section = _unquote(line[6:], path, number), "msgid"
        elif line.startswith("msgstr ") and msgid is not None and msgstr is None:
            msgstr, section = _unquote(line[7:], path, number), "msgstr"
        elif line.startswith('"') and section == "msgid" and msgid is not None and msgstr is None:
            msgid += _unquote(line, path, number)
        elif line.startswith('"') and section == "msgstr" and msgstr is not None:
            msgstr += _unquote(line, path, number)
        else:
            raise ValueError(f"{path}:{number}: cannot read {line!r}")
    finish()
    return catalogue


def write_mo(messages: dict[str, str], path: Path) -> None:
    """The GNU ``.mo`` file of ``messages`` (sorted, no hash table), as ``msgfmt`` writes it."""
    keys = sorted(messages)
    ids = [key.encode("utf-8") for key in keys]
    strs = [messages[key].encode("utf-8") for key in keys]
    count = len(keys)
    ids_table, strs_table = 7 * 4, 7 * 4 + count * 8
    data_start = strs_table + count * 8
    offsets, blob = [], b""
    for encoded in ids:
        offsets.append((len(encoded), data_start + len(blob)))
        blob += encoded + b"\0"
    for encoded in strs:
        offsets.append((len(encoded), data_start + len(blob)))
        blob += encoded + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, ids_table, strs_table, 0, 0)
    tables = b"".join(struct.pack("<2I", length, offset) for length, offset in offsets)
    path.write_bytes(header + tables + blob)


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> list[str]:
    """Every language with a catalogue."""
    return sorted(path.name for path in LOCALES.iterdir() if (path / "LC_MESSAGES" / f"{DOMAIN}.po").exists())


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_pot(messages: list[str], path: Path) -> None:
    """The template translators start a new language from."""
    lines = ['msgid ""', 'msgstr ""', _quoted(HEADER.format(language="")), ""]
    for message in messages:
        flags = "#, python-brace-format\n" if "{" in message else ""
        lines.append(f'{flags}msgid {_quoted(message)}\nmsgstr ""\n')
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> int:
    write_pot(extract(), LOCALES / f"{DOMAIN}.pot")
    for language in languages():
        catalogue = read_po(po_path(language))
        # Fuzzy entries are a translator's draft: gettext falls back to English for them, as msgfmt does.
        compiled = {key: value for key, value in catalogue.messages.items() if key not in catalogue.fuzzy and value}
        write_mo(compiled, po_path(language).with_suffix(".mo"))
        print(f"{language}: {len(compiled) - 1} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
