"""The lock: direct dependencies in the .in files, every package pinned in the compiled files, one version each."""

from __future__ import annotations

import re
from pathlib import Path

from local import template

ROOT = template.ROOT
DEV_IN, DEV_LOCK = ROOT / "requirements-dev.in", ROOT / "requirements-dev.txt"
LAYER_IN, LAYER_LOCK = ROOT / "layers/shared/requirements.in", ROOT / "layers/shared/requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    """PEP 503: case, dots, dashes and underscores do not tell packages apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line.strip())
        if match:
            found[_canonical(match.group(1))] = match.group(2)
    return found


def direct(path: Path) -> set[str]:
    """The package names an .in file asks for (its -r includes followed)."""
    names: set[str] = set()
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= direct(path.parent / line[3:].strip())
        elif line and not line.startswith("-"):
            match = _NAME.match(line)
            assert match, f"{path.name}: cannot read {raw!r}"
            names.add(_canonical(match.group(1)))
    return names


def test_every_line_of_the_locks_that_names_a_package_pins_it_exactly() -> None:
    for lock in (DEV_LOCK, LAYER_LOCK):
        for raw in lock.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith(("#", "-")):
                assert _PIN.match(line), f"{lock.name}: {raw!r} is not pinned with =="


def test_each_direct_dependency_is_pinned_in_its_lock() -> None:
    for source, lock in ((DEV_IN, DEV_LOCK), (LAYER_IN, LAYER_LOCK)):
        missing = direct(source) - set(pins(lock))
        assert not missing, f"{source.name} asks for {sorted(missing)}, which {lock.name} does not pin: run make lock"


def test_the_dev_lock_includes_the_layers_direct_dependencies() -> None:
    assert "-r layers/shared/requirements.in" in DEV_IN.read_text().splitlines()
    assert direct(LAYER_IN) <= direct(DEV_IN)


def test_the_layer_pins_what_the_dev_lock_pins() -> None:
    """The tests run against the layer's versions: the layer's lock is compiled within the dev lock's."""
    layer, dev = pins(LAYER_LOCK), pins(DEV_LOCK)
    assert layer, "the layer's lock pins its dependencies"
    differ = {name: (version, dev.get(name)) for name, version in layer.items() if dev.get(name) != version}
    assert not differ, f"layer vs dev lock (run make lock): {differ}"


def test_the_reader_sees_a_drifted_pin() -> None:
    """pins() and the comparison above are not vacuous: a changed version is a difference."""
    layer = pins(LAYER_LOCK)
    name, version = next(iter(layer.items()))
    drifted = {**pins(DEV_LOCK), name: version + ".post99"}
    assert any(drifted.get(n) != v for n, v in layer.items())
