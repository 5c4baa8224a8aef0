#!/usr/bin/env python3
"""A userland proxy for ``dockerd --userland-proxy-path``: a published port that holds each connection until the
container's port listens.

Without iptables, dockerd publishes ports through a userland proxy, and Docker's own accepts a connection before
the container listens and then drops it. SAM CLI connects to its emulator (aws-lambda-rie) right after starting a
container, so a slow start (arm64 under qemu, a busy machine) lost the invocation. This one waits instead, as a
connection through iptables' NAT would be refused and retried. It speaks docker-proxy's interface: its arguments,
and ``0\\n`` (ready) or ``1\\n<error>`` on file descriptor 3.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from local.relay import Relay

WAIT_SECONDS = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("-proto", "-host-ip", "-container-ip"):
        parser.add_argument(name)
    for name in ("-host-port", "-container-port"):
        parser.add_argument(name, type=int)
    args, _ = parser.parse_known_args()
    with os.fdopen(3, "w") as status:
        try:
            if args.proto != "tcp":
                raise OSError(f"this proxy serves tcp only, not {args.proto}")
            relay = Relay(
                args.host_ip, (args.container_ip, args.container_port), port=args.host_port, wait_seconds=WAIT_SECONDS
            )
        except OSError as exc:
            status.write(f"1\n{exc}")
            return 1
        status.write("0\n")
    relay.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
