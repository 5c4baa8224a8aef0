"""The Lambda Python version: stated once (the template's Globals Runtime); the build, venv and images follow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from local import images, template

TPL = template.cached()
VERSION = TPL["Globals"]["Function"]["Runtime"].removeprefix("python")
# What the Makefile's lookup and recipes run, linked into a directory of their own: PATH then holds no Python.
TOOLS = ("make", "sed", "head", "ls", "sort", "grep", "id", "rm", "touch")


def test_every_place_naming_the_runtime_agrees_with_the_template() -> None:
    runtime = f"python{VERSION}"
    layer = TPL["Resources"]["SharedLayer"]
    assert layer["Metadata"]["BuildMethod"] == runtime
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    for fn in template.functions(TPL).values():
        assert "Runtime" not in TPL["Resources"][fn.logical_id]["Properties"], "the runtime belongs in Globals"
    pyproject = tomllib.loads((template.ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["requires-python"] == f"=={VERSION}.*"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + VERSION.replace(".", "")
    assert images.python_version() == VERSION
    assert images._SUITES[VERSION], f"no Debian suite named for python{VERSION}: the container images need one"
    assert f"exec /usr/bin/python{VERSION} " in images.bootstrap()
    assert _make("--eval", "show: ; @echo $(PYTHON_VERSION)", "show").stdout.strip() == VERSION
    assert f"{sys.version_info.major}.{sys.version_info.minor}" == VERSION, "the venv runs another Python"


def test_the_layer_leaves_boto3_to_the_runtime() -> None:
    layer = (template.ROOT / "layers" / "shared" / "requirements.txt").read_text(encoding="utf-8")
    pinned = {line.split("==")[0].strip().lower() for line in layer.splitlines() if "==" in line}
    assert pinned.isdisjoint({"boto3", "botocore", "s3transfer"}), "README: the layer uses the runtime's boto3"


@pytest.mark.parametrize("root", ["PYENV_ROOT", "~/.pyenv"])  # pyenv's root as set, or its default
def test_make_finds_the_newest_working_pyenv_python_when_path_has_none(tmp_path: Path, root: str) -> None:
    pyenv_root = tmp_path / "pyenv" if root == "PYENV_ROOT" else tmp_path / ".pyenv"
    versions = pyenv_root / "versions"
    for patch in ("9", "10"):
        _link(_base_python(), versions / f"{VERSION}.{patch}" / "bin" / f"python{VERSION}")
    shims = tmp_path / "shims"
    shims.mkdir()
    # Like pyenv's shim of a version that is installed but not selected: on PATH, and it fails.
    (shims / f"python{VERSION}").write_text("#!/bin/sh\necho 'pyenv: command not found' >&2\nexit 127\n")
    (shims / f"python{VERSION}").chmod(0o755)
    env = {"PATH": f"{shims}:{_tools(tmp_path)}", "HOME": str(tmp_path)}
    if root == "PYENV_ROOT":
        env["PYENV_ROOT"] = str(pyenv_root)

    shown = _make("--eval", 'show: ; @echo "$(PYTHON)"; echo "$$PATH"', "show", env=env).stdout.split()

    chosen = versions / f"{VERSION}.10" / "bin"  # 3.x.10 is newer than 3.x.9 (not a text sort)
    assert shown[0] == str(chosen / f"python{VERSION}")
    assert shown[1].split(":")[0] == str(chosen), "sam build finds python3.X first in the chosen directory"


def test_make_stops_with_what_to_install_when_no_python_is_found(tmp_path: Path) -> None:
    work = _copy_project(tmp_path)
    env = {"PATH": _tools(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}

    done = _make("install", cwd=work, env=env, check=False)

    assert done.returncode != 0
    assert f"needs Python {VERSION}" in done.stderr
    assert f"pyenv install {VERSION}" in done.stderr and f"make PYTHON=/path/to/python{VERSION}" in done.stderr
    assert not (work / ".venv").exists()


def test_a_venv_of_another_python_is_made_again(tmp_path: Path) -> None:
    work = _copy_project(tmp_path)
    env = {"PATH": _tools(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    _link(_base_python(), tmp_path / "pyenv" / "versions" / f"{VERSION}.0" / "bin" / f"python{VERSION}")
    venv_bin = work / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python3.11").touch()
    (venv_bin / ".installed").touch()
    os.utime(work / "requirements-dev.txt", (1, 1))

    stale = _make("-n", "install", cwd=work, env=env).stdout

    assert "rm -rf .venv" in stale and f"python{VERSION} -m venv .venv" in stale and "pip install" in stale
    (venv_bin / f"python{VERSION}").touch()
    os.utime(venv_bin / f"python{VERSION}", (2, 2))
    assert "venv" not in _make("-n", "install", cwd=work, env=env).stdout, "a venv of the right Python is kept"


def _make(
    *args: str, cwd: Path = template.ROOT, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **(env or {})}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=check,
    )


def _base_python() -> Path:
    """This venv's base interpreter (a real python3.X, outside any venv)."""
    return Path(sys.base_prefix) / "bin" / f"python{VERSION}"


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _tools(tmp_path: Path) -> str:
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in TOOLS:
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed")
        if not (tools / name).exists():
            (tools / name).symlink_to(found)
    return str(tools)


def _copy_project(tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    for name in ("Makefile", "template.yaml", "requirements-dev.txt"):
        shutil.copy(template.ROOT / name, work / name)
    return work
