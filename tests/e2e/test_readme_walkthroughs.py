"""The README's walk-throughs, replayed from the README itself against a fresh `make dev` on free ports.

Every ```console block of the README's "Walk-throughs" section is a transcript: a line starting with ``$ `` is a
command (a line ending in ``\\`` continues it), the lines up to the next command are what it prints. The commands run
in bash, in README order, with `127.0.0.1:3000` and `127.0.0.1:3100` replaced by this stack's API and sandbox ports.

What varies from run to run is normalised only where the README says so:
- ``<name>`` is a value (a token, an id): the first output that shows it binds it, it must differ from every value
  bound before (so ``<new_session_id>`` really is new), and later commands and outputs use exactly that value;
- ``...`` is a value that varies and is not reused (a time, a request id).
An output that is JSON is compared as JSON values (spacing and key order aside, every key present); any other output
is compared line by line, trailing spaces aside.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local import template
from tests.devserver import start_make_dev

README = template.ROOT / "README.md"
SECTION = "### Walk-throughs"
NAME = re.compile(r"<([a-z][a-z0-9_]*)>")
ANY = "..."
COMMAND_SECONDS = 60


@dataclass(frozen=True)
class Step:
    """One command of a walk-through and the output the README promises for it."""

    block: int
    command: str
    expected: str


def walkthroughs(readme: str) -> list[list[Step]]:
    """The console blocks of the walk-throughs section, each as its steps."""
    start = readme.index(SECTION) + len(SECTION)
    end = re.search(r"^##", readme[start:], flags=re.MULTILINE)  # the next heading, of any level
    section = readme[start : start + end.start() if end else len(readme)]
    blocks = re.findall(r"^```console\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)
    parsed = []
    for number, block in enumerate(blocks, 1):
        steps: list[Step] = []
        lines = block.splitlines()
        index = 0
        assert lines and lines[0].startswith("$ "), f"walk-through {number} does not start with a `$ ` command"
        while index < len(lines):
            command = [lines[index].removeprefix("$ ")]
            while command[-1].endswith("\\"):
                index += 1
                command.append(lines[index])
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            steps.append(Step(number, "\n".join(command), "\n".join(output)))
        parsed.append(steps)
    return parsed


class Bindings:
    """The ``<name>`` values seen so far, shared by every walk-through (later ones use earlier values)."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def fill(self, command: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            assert name in self.values, f"<{name}> is used in a command before an output showed it"
            return self.values[name]

        return NAME.sub(value, command)

    def bind(self, name: str, observed: Any) -> None:
        text = observed if isinstance(observed, str) else json.dumps(observed)
        if name in self.values:
            assert text == self.values[name], f"<{name}> was {self.values[name]!r}, now {text!r}"
            return
        others = {other for other, seen in self.values.items() if seen == text}
        assert not others, f"<{name}> is {text!r}, as <{others.pop()}> is: the README promises a new value"
        self.values[name] = text

    def match_json(self, expected: Any, observed: Any, where: str = "$") -> None:
        if isinstance(expected, str) and expected == ANY:
            return
        if isinstance(expected, str) and NAME.fullmatch(expected):
            self.bind(NAME.fullmatch(expected).group(1), observed)
            return
        if isinstance(expected, dict):
            assert isinstance(observed, dict) and set(observed) == set(expected), (
                f"{where}: keys {sorted(observed) if isinstance(observed, dict) else observed!r}, "
                f"promised {sorted(expected)}"
            )
            for key, value in expected.items():
                self.match_json(value, observed[key], f"{where}.{key}")
            return
        if isinstance(expected, list):
            assert isinstance(observed, list) and len(observed) == len(expected), f"{where}: {observed!r}"
            for position, (want, got) in enumerate(zip(expected, observed, strict=True)):
                self.match_json(want, got, f"{where}[{position}]")
            return
        # 10 and 10.0 are one JSON number; true and 1 are not one value.
        numbers = (
            not isinstance(expected, bool)
            and not isinstance(observed, bool)
            and all(isinstance(value, float | int) for value in (expected, observed))
        )
        assert observed == expected and (numbers or type(observed) is type(expected)), (
            f"{where}: observed {observed!r}, promised {expected!r}"
        )

    def match_text(self, expected: str, observed: str) -> None:
        pattern, names = [], []
        for piece in re.split(r"(<[a-z][a-z0-9_]*>|\.\.\.)", expected.strip()):
            if piece == ANY:
                pattern.append(".*?")
            elif NAME.fullmatch(piece):
                name = NAME.fullmatch(piece).group(1)
                if name in self.values:
                    pattern.append(re.escape(self.values[name]))
                else:
                    names.append(name)
                    pattern.append(f"(?P<{name}>\\S+?)")
            else:
                pattern.append(re.escape(piece))
        found = re.fullmatch("".join(pattern), observed, flags=re.DOTALL)
        assert found, f"observed {observed!r}, promised {expected.strip()!r}"
        for name in names:
            self.bind(name, found.group(name))


def _normalised_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def compare(bindings: Bindings, expected: str, observed: str) -> None:
    """Observed against promised, by the rules of the module docstring."""
    try:
        promised = json.loads(expected)
    except ValueError:
        promised = None
    if isinstance(promised, dict | list):
        try:
            got = json.loads(observed)
        except ValueError:
            pytest.fail(f"promised JSON, observed {observed!r}")
        bindings.match_json(promised, got)
    else:
        bindings.match_text(_normalised_lines(expected), _normalised_lines(observed))


@pytest.fixture(scope="module")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A fresh `make dev` (python -m local) on free ports: (API URL, sandbox URL)."""
    log = tmp_path_factory.mktemp("walkthroughs") / "make-dev.log"
    process, api_url, sandbox_url = start_make_dev(log)
    yield api_url, sandbox_url
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_readme_has_walkthroughs_in_the_transcript_convention() -> None:
    found = walkthroughs(README.read_text(encoding="utf-8"))
    assert len(found) >= 5, "the Bazaarvoice, LoudVoice, LiveVox (2) and vendor-fault walk-throughs"
    for steps in found:
        assert all(step.expected.strip() for step in steps), "every command promises an output"
        assert all("127.0.0.1:3000" in step.command or "127.0.0.1:3100" in step.command for step in steps)


def test_the_comparison_fails_on_drift() -> None:
    """The rules themselves: a different value, a reused value promised as new, a missing key each fail."""
    bindings = Bindings()
    compare(
        bindings,
        '{"session_id": "<session_id>", "cached": false, "at": "..."}',
        '{"session_id": "a-1", "cached": false, "at": "2026-11-24T00:00:00Z"}',
    )
    compare(bindings, '"livevox.login": 1', '"livevox.login": 1')
    for expected, observed in [
        ('{"session_id": "<session_id>"}', '{"session_id": "b-2"}'),
        ('{"session_id": "<new_session_id>"}', '{"session_id": "a-1"}'),
        ('{"session_id": "<session_id>", "cached": true}', '{"session_id": "a-1"}'),
        ('{"cached": true}', '{"cached": 1}'),
        ('"livevox.login": 1', '"livevox.login": 2'),
        ("401 401 429", "401 401 401"),
    ]:
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            compare(bindings, expected, observed)


@pytest.mark.devstack
def test_every_walkthrough_prints_what_the_readme_promises(dev_stack: tuple[str, str]) -> None:
    api_url, sandbox_url = dev_stack
    bindings = Bindings()
    ran = 0
    for steps in walkthroughs(README.read_text(encoding="utf-8")):
        for step in steps:
            command = (
                bindings.fill(step.command)
                .replace("http://127.0.0.1:3000", api_url)
                .replace("http://127.0.0.1:3100", sandbox_url)
            )
            done = subprocess.run(
                ["bash", "-c", command], capture_output=True, text=True, timeout=COMMAND_SECONDS, check=False
            )
            assert done.returncode == 0, f"walk-through {step.block}: `{step.command}` failed: {done.stderr}"
            try:
                compare(bindings, step.expected, done.stdout)
            except AssertionError as drift:
                raise AssertionError(f"walk-through {step.block}, `{step.command}`: {drift}") from None
            ran += 1
    assert ran >= 20
    assert {"bv_authtoken", "bv_user_id", "session_token", "session_id", "new_session_id"} <= set(bindings.values)


def test_the_readme_names_no_port_but_the_documented_ones() -> None:
    """The substitution above only knows 3000 and 3100: a walk-through on another port would run against nothing."""
    for steps in walkthroughs(README.read_text(encoding="utf-8")):
        for step in steps:
            ports = set(re.findall(r"127\.0\.0\.1:(\d+)", step.command))
            assert ports <= {"3000", "3100"}, step.command
