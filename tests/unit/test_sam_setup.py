"""local.sam and local.relay without Docker: the template copy SAM runs, the env-vars file, the relays."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from local import images, sam, template
from local.overrides import Settings
from local.relay import Relays
from local.sandbox.server import SandboxServer


def test_template_copy_declares_the_endpoints_and_the_architecture(tmp_path: Path) -> None:
    shutil.copy(template.TEMPLATE, tmp_path / "template.yaml")

    path = sam.local_template("x86_64", build_dir=tmp_path)

    copy = json.loads(path.read_text(encoding="utf-8"))
    function_globals = copy["Globals"]["Function"]
    assert path.parent == tmp_path  # beside the built template: its CodeUri paths still hold
    assert function_globals["Architectures"] == ["x86_64"]
    assert {"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} <= set(
        function_globals["Environment"]["Variables"]
    )
    assert copy["Resources"]["SharedLayer"]["Metadata"]["BuildArchitecture"] == "x86_64"
    original = template.load(template.TEMPLATE)
    for logical_id, resource in original["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert copy["Resources"][logical_id]["Properties"]["Handler"] == resource["Properties"]["Handler"]
    native = template.cached()["Globals"]["Function"]["Timeout"]
    for architecture in images.ARCHITECTURES:
        copied = json.loads(sam.local_template(architecture, build_dir=tmp_path).read_text(encoding="utf-8"))
        expected = sam.EMULATED_TIMEOUT if images.emulated(architecture) else native
        assert copied["Globals"]["Function"]["Timeout"] == expected, architecture
    assert sam.template_architecture(json.loads(sam.local_template(build_dir=tmp_path).read_text())) == "arm64"


def test_env_vars_are_the_stack_environments_with_called_urls_relayed() -> None:
    with SandboxServer(host="127.0.0.1", port=0) as sandbox, Relays("127.0.0.1") as relays:
        variables = sam.env_vars(
            sandbox.url,
            "http://127.0.0.1:9",
            relays,
            Settings(parameters={"LiveVoxApiUrl": "https://api.na4.livevox.com"}),
        )
        livevox = variables["LiveVoxLoginFunction"]
        bazaarvoice = variables["BazaarvoiceConfirmFunction"]
        assert livevox["LIVEVOX_API_URL"] == "https://api.na4.livevox.com"  # not loopback: as given
        assert urlsplit(livevox["AWS_ENDPOINT_URL_DYNAMODB"]).port not in (None, 9)  # moto, through a relay
        assert bazaarvoice["BAZAARVOICE_ALLOWED_RETURN_URLS"].startswith("http://127.0.0.1:3000")  # an origin list
        relayed = bazaarvoice["BAZAARVOICE_API_URL"]
        assert urlsplit(relayed).port != urlsplit(sandbox.url).port and relayed.endswith("/bazaarvoice")
        # The relay reaches the sandbox: the health check answers through it.
        base = relayed.rsplit("/bazaarvoice", 1)[0]
        assert requests.get(f"{base}/_sandbox/health", timeout=5).status_code == 200
        assert set(variables) == set(template.functions(template.cached()))


def test_a_relay_carries_both_directions_and_half_closes() -> None:
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def echo_upper() -> None:
        conn, _ = server.accept()
        with conn:
            data = b""
            while chunk := conn.recv(4096):
                data += chunk
            received.append(data)
            conn.sendall(data.upper())

    threading.Thread(target=echo_upper, daemon=True).start()
    with Relays("127.0.0.1") as relays:
        url = relays.reachable(f"http://localhost:{server.getsockname()[1]}/x")
        with socket.create_connection(("127.0.0.1", urlsplit(url).port), timeout=5) as client:
            client.sendall(b"hello relay" * 1000)
            client.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := client.recv(4096):
                answer += chunk
    server.close()
    assert received == [b"hello relay" * 1000]
    assert answer == b"HELLO RELAY" * 1000


def test_docker_proxy_holds_a_connection_until_the_container_listens(tmp_path: Path) -> None:
    """dockerd's side of the interface (arguments, ``0\\n`` on fd 3), and a target that starts listening late."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        host_port = probe.getsockname()[1]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        container_port = probe.getsockname()[1]
    status_read, status_write = os.pipe()
    # As dockerd starts it: the readiness pipe on file descriptor 3.
    proxy = subprocess.Popen(
        [
            "/bin/bash",
            "-c",
            f'exec "$@" 3>&{status_write}',
            "bash",
            str(template.ROOT / "local" / "docker_proxy.py"),
            "-proto",
            "tcp",
            "-host-ip",
            "127.0.0.1",
            "-host-port",
            str(host_port),
            "-container-ip",
            "127.0.0.1",
            "-container-port",
            str(container_port),
        ],
        pass_fds=(status_write,),
    )
    os.close(status_write)
    try:
        assert os.read(status_read, 2) == b"0\n"
        client = socket.create_connection(("127.0.0.1", host_port), timeout=10)
        time.sleep(0.5)  # the "container" is not listening yet: the proxy must hold the connection, not drop it
        late = socket.create_server(("127.0.0.1", container_port))
        client.sendall(b"ping")
        client.shutdown(socket.SHUT_WR)
        conn, _ = late.accept()
        with conn:
            assert conn.recv(16) == b"ping"
            conn.sendall(b"pong")
        assert client.recv(16) == b"pong"
        client.close()
        late.close()
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        os.close(status_read)
