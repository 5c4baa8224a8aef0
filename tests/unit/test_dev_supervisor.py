"""`make dev`'s foreground process returns only once every process of the stack's group has exited."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from local.__main__ import wait_for_group
from tests.e2e.test_dev_stack import alive

ROOT = Path(__file__).resolve().parents[2]


def test_the_supervisor_waits_for_what_the_stack_leaves_running(tmp_path: Path) -> None:
    # A stack that exits while one of its children is still finishing (as multiprocessing's resource tracker does).
    pid_file = tmp_path / "child.pid"
    stack = textwrap.dedent(
        f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        """
    )
    supervisor = (
        f"import sys; from local.__main__ import supervise; sys.exit(supervise([sys.executable, '-c', {stack!r}]))"
    )

    done = subprocess.run([sys.executable, "-c", supervisor], cwd=ROOT, timeout=30, check=False)

    assert done.returncode == 0
    assert not alive(int(pid_file.read_text())), "the supervisor returned before its stack's last process exited"


def test_a_process_that_will_not_exit_is_killed() -> None:
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], process_group=0)
    try:
        wait_for_group(stuck.pid, seconds=0.5)

        assert stuck.wait(timeout=5) < 0  # ended by a signal, not by itself
    finally:
        if stuck.poll() is None:
            stuck.kill()
