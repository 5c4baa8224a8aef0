"""TCP relays from the Docker bridge to services on loopback, so containers reach the local stack.

The local stack listens on 127.0.0.1 only, which inside a container is the container itself; the daemon runs
without iptables, so there is no NAT to the host either. A relay listens on the bridge's gateway address (which
only this machine and its containers can reach) and copies bytes both ways to the loopback service.
"""

from __future__ import annotations

import fcntl
import json
import socket
import struct
import subprocess
import threading
import time
from contextlib import suppress
from typing import Self
from urllib.parse import urlsplit, urlunsplit

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_CHUNK = 65536


def bridge_gateway(network: str = "bridge") -> str:
    """The host's address on a Docker network (what containers on it can connect to)."""
    found = subprocess.run(  # noqa: S603 - docker from PATH
        ["docker", "network", "inspect", network],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    described = json.loads(found.stdout)[0]
    for pool in described["IPAM"]["Config"]:
        if pool.get("Gateway"):
            return pool["Gateway"]
    # Some daemons leave the gateway out of IPAM: it is the address of the bridge's interface.
    interface = described.get("Options", {}).get("com.docker.network.bridge.name", "docker0")
    return interface_address(interface)


def interface_address(interface: str) -> str:
    """The IPv4 address of a network interface (SIOCGIFADDR)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("256s", interface[:15].encode())
        return socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x8915, request)[20:24])


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    """Copy until ``source`` closes, then pass the end on (a half-close: the other direction may go on)."""
    with suppress(OSError):
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def connect_when_ready(target: tuple[str, int], wait_seconds: float) -> socket.socket:
    """A connection to ``target``, retried while it refuses (not listening yet) for up to ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return socket.create_connection(target, timeout=10)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Relay:
    """Listens on ``host`` (``port``, default a free one) and forwards every connection to ``target`` (host, port).

    ``wait_seconds``: how long a connection waits for a target that does not listen yet (0: refused at once).
    """

    def __init__(self, host: str, target: tuple[str, int], port: int = 0, wait_seconds: float = 0) -> None:
        self.target = target
        self.wait_seconds = wait_seconds
        self._server = socket.create_server((host, port))
        self.address: tuple[str, int] = self._server.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept, name=f"relay-{self.address[1]}", daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._accept()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = connect_when_ready(self.target, self.wait_seconds)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        back.start()
        _pipe(client, upstream)
        back.join()
        client.close()
        upstream.close()

    def stop(self) -> None:
        with suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()


class Relays:
    """One relay per loopback service a URL names; ``reachable(url)`` is that URL as a container must write it."""

    def __init__(self, host: str) -> None:
        self.host = host
        self._relays: dict[tuple[str, int], Relay] = {}

    def reachable(self, url: str) -> str:
        """``url`` itself when it is not on loopback, else the same URL through a relay on the bridge."""
        parts = urlsplit(url)
        if parts.hostname not in _LOOPBACK or parts.port is None:
            return url
        target = ("127.0.0.1", parts.port)
        if target not in self._relays:
            self._relays[target] = Relay(self.host, target).start()
        relay_host, relay_port = self._relays[target].address
        return urlunsplit(parts._replace(netloc=f"{relay_host}:{relay_port}"))

    def stop(self) -> None:
        for relay in self._relays.values():
            relay.stop()
        self._relays.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
