"""The AWS side and the vendor sandboxes a benchmark runs against: moto's HTTP server and the sandboxes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local import aws as provision
from local import config


@dataclass
class Backends:
    moto_url: str
    sandbox_url: str
    sandbox: Any

    def function_env(self, logical_id: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
        env = config.function_environments(self.sandbox_url, overrides)[logical_id]
        return {
            **env,
            **config.FAKE_AWS_ENV,
            "AWS_ENDPOINT_URL_DYNAMODB": self.moto_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.moto_url,
        }


@contextmanager
def backends() -> Iterator[Backends]:
    """moto's server (table from the template, secrets seeded) and the sandboxes, on ephemeral loopback ports."""
    import boto3
    from moto.server import ThreadedMotoServer

    from local.moto_atomic import make_dynamodb_atomic
    from local.sandbox.server import SandboxServer

    make_dynamodb_atomic()

    os.environ.update(config.FAKE_AWS_ENV)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    sandbox = SandboxServer(host="127.0.0.1", port=0).start()
    try:
        provision.create_table(boto3.client("dynamodb", endpoint_url=moto_url, region_name=config.REGION))
        provision.seed_secrets(boto3.client("secretsmanager", endpoint_url=moto_url, region_name=config.REGION))
        yield Backends(moto_url, sandbox.url, sandbox)
    finally:
        sandbox.stop()
        moto.stop()
