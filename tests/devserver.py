"""`python -m local` (what `make dev` runs) as a subprocess on free ports, for the tests that start it whole."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from local import template

START_SECONDS = 60
READY = "authhooks local stack ("  # the first line of the banner (local/__main__.py)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_make_dev(log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str, str]:
    """Start it with ``env`` added, in a session of its own (as a terminal's foreground job, so Ctrl-C reaches its
    whole process group); return the process, the API's URL and the sandboxes' URL once it printed its banner."""
    api, dynamodb, sandbox = free_ports(3)
    full_env = {
        **os.environ,
        "AUTHHOOKS_API_PORT": str(api),
        "AUTHHOOKS_DYNAMODB_PORT": str(dynamodb),
        "AUTHHOOKS_SANDBOX_PORT": str(sandbox),
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=template.ROOT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_SECONDS
    try:
        while True:
            assert process.poll() is None, f"python -m local exited early:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"the API did not come up within {START_SECONDS} s:\n{log.read_text()}"
            # The banner is printed once every part has started. A port merely accepting is not enough: another
            # process may have taken a port between free_ports() and the stack's bind.
            if READY in log.read_text(errors="replace"):
                socket.create_connection(("127.0.0.1", api), timeout=1).close()
                break
            time.sleep(0.1)
    except BaseException:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        raise
    return process, f"http://127.0.0.1:{api}", f"http://127.0.0.1:{sandbox}"
