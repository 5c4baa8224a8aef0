"""The files of a maintained project say what they should: hooks that run, a blame list of real commits."""

from __future__ import annotations

import re
import shlex

import yaml

from local import template

ROOT = template.ROOT


def test_every_pre_commit_hook_runs_a_tool_of_the_venv() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert {repo["repo"] for repo in config["repos"]} == {"local"}, "nothing to download: the network is closed"
    assert {"ruff-check", "ruff-format", "mypy"} <= {hook["id"] for hook in hooks}
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        tool = shlex.split(hook["entry"])[0]
        assert tool.startswith(".venv/bin/") and (ROOT / tool).exists(), f"{hook['id']}: {tool} is not installed"


def test_the_mypy_hook_checks_what_make_typecheck_checks() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    [hook] = [h for repo in config["repos"] for h in repo["hooks"] if h["id"] == "mypy"]
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    packages = next(line for line in makefile.splitlines() if line.startswith("MYPY_PACKAGES :="))
    assert shlex.split(hook["entry"])[1:] == shlex.split(packages.split(":=", 1)[1])


def test_the_blame_ignore_list_names_full_commit_ids() -> None:
    """Full ids only: git's blame.ignoreRevsFile refuses abbreviations. (A clone may be shallow, so whether each
    commit only reformats is checked where it is added, not here.)"""
    revisions = [
        line.strip()
        for line in (ROOT / ".git-blame-ignore-revs").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert revisions and all(re.fullmatch(r"[0-9a-f]{40}", revision) for revision in revisions), revisions
