"""`python -m local` (`make dev`): the whole service on loopback until Ctrl-C, with a banner saying how to use it.

The stack runs in a child process with its own process group: a terminal's Ctrl-C goes to the whole foreground
group, and would hit every function worker mid-request; here it reaches only this process, which asks the stack
to stop cleanly (SIGTERM), waits for it and exits with its code.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from local import config, overrides

if TYPE_CHECKING:
    from local.stack import Stack

_LOG = logging.getLogger("local")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


_GROUP_EXIT_SECONDS = 10.0  # for the stack's last processes (workers, moto, multiprocessing's tracker) to exit


def _group_members(pgid: int) -> set[int]:
    """The processes of group ``pgid`` that have not exited (a zombie has: only its parent's bookkeeping is left)."""
    proc = Path("/proc")
    if not proc.is_dir():  # no /proc (macOS): whether any process of the group is left at all
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return set()
        except PermissionError:
            pass
        return {pgid}
    members = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.add(int(entry.name))
    return members


def wait_for_group(pgid: int, seconds: float = _GROUP_EXIT_SECONDS) -> None:
    """Return once no process of group ``pgid`` is left; after ``seconds``, kill what is (and say so).

    The stack's children exit after it does (multiprocessing's resource tracker only when its pipe closes), so
    `make dev` waits for them rather than leave them behind for a moment or for good.
    """
    deadline = time.monotonic() + seconds
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left := _group_members(pgid):
        _LOG.warning("%d process(es) of the local stack did not exit within %g s: killing them", len(left), seconds)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)


def supervise(command: Sequence[str] | None = None) -> int:
    """Start ``python -m local --serve`` in a new process group, forward stop signals to it, return its exit code
    once every process of that group has exited."""
    requested: list[int] = []
    child: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        requested.append(signum)
        if child and child[0].poll() is None:
            child[0].terminate()

    for signum in _STOP_SIGNALS:
        signal.signal(signum, forward)
    child.append(subprocess.Popen(list(command or [sys.executable, "-m", "local", "--serve"]), process_group=0))  # noqa: S603  # ours, or a test's
    if requested:
        child[0].terminate()
    code = child[0].wait()
    wait_for_group(child[0].pid)
    # Stopped by the signal we forwarded before it could install its handler: still a requested, clean stop.
    return 0 if requested and code == -signal.SIGTERM else code


def serve() -> int:
    """Run the stack in this process until SIGTERM/SIGINT, or until the supervisor goes away."""
    from local.stack import Stack

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()
    for signum in _STOP_SIGNALS:
        signal.signal(signum, lambda *_: stop.set())
    supervisor = os.getppid()
    try:
        settings = overrides.from_env()
    except overrides.OverridesError as exc:
        _LOG.error("%s", exc)
        return 2
    try:
        stack = Stack(parameter_overrides=settings.stack_parameters(), secrets=settings.stack_secrets()).start()
    except OSError as exc:
        _LOG.error("cannot start the local stack: %s (is `make dev` already running?)", exc)
        return 1
    except ValueError as exc:  # a parameter the local stack cannot honour (e.g. JwtIssuer without JwtAudience)
        _LOG.error("cannot start the local stack: %s", exc)
        return 2
    try:
        print(banner(stack, settings), flush=True)
        while not stop.wait(0.5) and os.getppid() == supervisor:
            pass
    finally:
        stack.stop()
    print("local stack stopped", flush=True)
    return 0


def banner(stack: Stack, settings: overrides.Settings | None = None) -> str:
    """The start-up text: addresses, where each vendor's calls go, the sandbox demo credentials of docs/api.md,
    requests to try. Secrets from a secrets file never appear here: only the file's name.
    """
    from local.sandbox import bazaarvoice, livevox, loudvoice

    api, sandbox, dynamodb = stack.api_url, stack.sandbox_url, stack.dynamodb_url
    assert stack.api is not None
    issuers = sorted({check.config.issuer for check in stack.api.authorizers.values()})
    # JWT mode: the server routes below need a bearer token (the sandbox's test issuer mints one).
    bearer = ' -H "Authorization: Bearer $TOKEN"' if issuers else ""
    jwt_lines = (
        [
            "  # JWT mode: a bearer token from the sandbox's test issuer (JwtIssuer must name it)",
            f"  TOKEN=$(curl -s -X POST {sandbox}/_sandbox/issuer/tokens | python3 -c "
            "'import json, sys; print(json.load(sys.stdin)[\"token\"])')",
        ]
        if issuers
        else []
    )
    subdomain = stack.environments["LoudVoiceSessionFunction"]["LOUDVOICE_SUBDOMAIN"]
    demo = config.DEMO_SECRETS["LiveVoxSecret"]["accounts"]["demo"]
    author = {"author": {"author_reference": "USER-1", "name": "John Doe", "email": "john@example.com"}}
    credentials = [
        ("Bazaarvoice", "PassKey", bazaarvoice.PASSKEY),
        ("Bazaarvoice", "auth tokens", f"POST {sandbox}/_sandbox/bazaarvoice/tokens (single-use)"),
        (
            "LoudVoice",
            "subdomain / public key / private key",
            f"{subdomain} / {loudvoice.PUBLIC_KEY} / {loudvoice.PRIVATE_KEY}",
        ),
        (
            "LoudVoice",
            "identity and author tokens",
            f"UUIDs the sandbox issued (POST {sandbox}/_sandbox/loudvoice/identities)",
        ),
        ("LiveVox", "LV-Access token", livevox.ACCESS_TOKEN),
        ("LiveVox", "client code", livevox.CLIENT_NAME),
        ("LiveVox", "users", f"any user name, password {livevox.PASSWORD} ('expired…' names: password expired)"),
        ("LiveVox", "SSO id token", f"{livevox.SSO_TOKEN_PREFIX}<user name>"),
        (
            "LiveVox",
            "named account",
            f"demo -> client {demo['client_name']}, user {demo['user_name']}, password {demo['password']}",
        ),
    ]
    settings = settings or overrides.Settings()
    sandboxed = settings.sandboxed()
    lines = [
        f"authhooks local stack ({stack.artifact} artifact)",
        "",
        f"  API          {api}   routed from template.yaml; "
        + (
            f"server routes take a bearer JWT from {', '.join(issuers)}"
            if issuers
            else "IAM routes accept unsigned requests"
        ),
        f"  DynamoDB     {dynamodb}   moto: table {config.TABLE_NAME}, secrets {config.STACK_NAME}/<vendor>",
        f"  Sandboxes    {sandbox}   /bazaarvoice /loudvoice /livevox; controls under /_sandbox",
        "",
        "Vendors",
        *(f"  {vendor:<12} {where}" for vendor, where in settings.vendors().items()),
        "",
        "Sandbox demo credentials",
        *(
            f"  {vendor:<12} {what:<37} {value}"
            for vendor, what, value in credentials
            if vendor in sandboxed and overrides.VENDORS[vendor][0] not in settings.secrets
        ),
        "",
        "Try it",
        "  # Bazaarvoice: mint a single-use token, then open the landing page with it in a browser",
        f"  curl -s -X POST {sandbox}/_sandbox/bazaarvoice/tokens",
        f"  {api}/bazaarvoice/confirm?bv_authtoken=<token>",
        *jwt_lines,
        "  # LoudVoice: start an author session",
        f"  curl -s -X PUT {api}/loudvoice/sessions -H 'Content-Type: application/json' -d '{json.dumps(author)}'"
        + bearer,
        "  # LiveVox: log in with the named demo account",
        f"  curl -s -X POST {api}/livevox/sessions -H 'Content-Type: application/json' -d '{{\"account\": \"demo\"}}'"
        + bearer,
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve", action="store_true", help="run the stack in this process (what the foreground process starts)"
    )
    args = parser.parse_args(argv)
    return serve() if args.serve else supervise()


if __name__ == "__main__":
    sys.exit(main())
