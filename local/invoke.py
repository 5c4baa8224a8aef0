"""`python -m local.invoke <LogicalId> <event.json>` (`make invoke`): one invocation, like `sam local invoke -e`.

The function runs in this process with its template environment, against the `make dev` stack's DynamoDB and
sandboxes when that stack is up on the configured ports, else against moto in process and a sandbox on a free
port that live for this one invocation. ``AUTHHOOKS_PARAMETER_OVERRIDES`` and ``AUTHHOOKS_SECRETS_FILE`` work as for
`make dev` (a secrets file is written into whichever Secrets Manager the invocation uses). Placeholders in the
event (``<bv_authtoken>``, ``<livevox_session_id>``, ...: ``local.placeholders``) are filled from that stack first,
or the invocation is refused with what to put there instead. The result is the only thing on stdout; logs go to
stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from local import config, overrides, placeholders, runtime, template
from local.aws import create_table, seed_secrets
from local.stack import aws_endpoints, function_timeout


def dev_stack(ports: config.Ports, host: str = "127.0.0.1") -> tuple[str, str] | None:
    """(DynamoDB URL, sandbox URL) of a `make dev` stack answering on ``ports``, or None."""
    dynamodb, sandbox = f"http://{host}:{ports.dynamodb}", f"http://{host}:{ports.sandbox}"
    try:
        with urlopen(f"{sandbox}/_sandbox/health", timeout=1) as answer:  # noqa: S310 - a fixed loopback URL
            if answer.status != 200:
                return None
        socket.create_connection((host, ports.dynamodb), timeout=1).close()
    except OSError:
        return None
    return dynamodb, sandbox


@contextmanager
def backends(ports: config.Ports, secrets: dict[str, dict] | None = None) -> Iterator[tuple[str, dict[str, str]]]:
    """The sandbox URL and the AWS endpoint variables for the invocation: the dev stack's, or temporary ones.

    ``secrets`` (logical id -> value) are written into that Secrets Manager, over what it holds.
    """
    import boto3

    running = dev_stack(ports)
    if running is not None:
        dynamodb, sandbox_url = running
        print(f"local.invoke: using the dev stack (DynamoDB {dynamodb}, sandboxes {sandbox_url})", file=sys.stderr)
        if secrets:
            client = boto3.client("secretsmanager", endpoint_url=dynamodb, region_name=config.REGION)
            for logical_id, value in secrets.items():
                client.put_secret_value(SecretId=config.secret_name(logical_id), SecretString=json.dumps(value))
            print(
                f"local.invoke: the dev stack's {', '.join(secrets)} now hold the secrets file's values",
                file=sys.stderr,
            )
        yield sandbox_url, aws_endpoints(dynamodb)
        return

    from moto import mock_aws

    from local.sandbox.server import SandboxServer

    with mock_aws(), SandboxServer(host="127.0.0.1", port=0) as sandbox:
        print(
            f"local.invoke: no dev stack on ports {ports.dynamodb}/{ports.sandbox}; using moto in process and "
            f"sandboxes on {sandbox.url}",
            file=sys.stderr,
        )
        create_table(boto3.client("dynamodb", region_name=config.REGION))
        seed_secrets(
            boto3.client("secretsmanager", region_name=config.REGION), {**config.DEMO_SECRETS, **(secrets or {})}
        )
        yield sandbox.url, {}


def lambda_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    """The error document Lambda returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


def invoke(
    fn: template.Function,
    event: dict[str, Any],
    artifact: str | None = None,
    settings: overrides.Settings | None = None,
    source: Path = Path("event"),
) -> tuple[bool, Any]:
    """Run ``fn`` once on ``event`` (read from ``source``): (True, result) or (False, Lambda's error document).

    Raises ``placeholders.Unfillable`` when the event holds a placeholder this stack cannot fill.
    """
    settings = settings or overrides.Settings()
    functions = template.functions(template.cached())
    # Fake credentials, and no endpoint left over from the shell: nothing here may reach AWS.
    os.environ.update(config.FAKE_AWS_ENV)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[name]
    context = runtime.LambdaContext(function_name=fn.logical_id, timeout_seconds=function_timeout(fn.logical_id))
    # Powertools logs and metrics print to stdout; stdout is kept for the result.
    with backends(config.Ports.from_env(), settings.secrets) as (sandbox_url, endpoints), redirect_stdout(sys.stderr):
        environments = config.function_environments(sandbox_url, settings.stack_parameters())

        def run(logical_id: str, prepared: dict[str, Any], given: runtime.LambdaContext | None = None) -> Any:
            os.environ.update({**environments[logical_id], **endpoints})
            handler = runtime.load_handler(functions[logical_id], artifact)
            return handler(
                prepared,
                given or runtime.LambdaContext(function_name=logical_id, timeout_seconds=function_timeout(logical_id)),
            )

        try:
            if placeholders.names(event):
                event, filled = placeholders.Filler(run, sandbox_url, settings.sandboxed()).fill(event, source)
                print(
                    f"local.invoke: filled {', '.join(f'<{name}>' for name in filled)} from this stack", file=sys.stderr
                )
            return True, run(fn.logical_id, event, context)
        except placeholders.Unfillable:
            raise
        except Exception as exc:
            traceback.print_exc()
            return False, lambda_error(exc, context.aws_request_id)


def main(argv: Sequence[str] | None = None) -> int:
    functions = template.functions(template.cached())
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__.splitlines()[0])
    parser.add_argument("function", metavar="LogicalId", help=f"one of: {', '.join(functions)}")
    parser.add_argument("event", type=Path, help="a payload 2.0 event (events/*.json)")
    args = parser.parse_args(argv)
    if args.function not in functions:
        parser.error(f"no function {args.function!r} in template.yaml; one of: {', '.join(functions)}")
    try:
        event = json.loads(args.event.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        parser.error(f"cannot read the event {args.event}: {exc}")
    try:
        settings = overrides.from_env()
    except overrides.OverridesError as exc:
        parser.error(str(exc))
    try:
        ok, result = invoke(functions[args.function], event, settings=settings, source=args.event)
    except placeholders.Unfillable as refused:
        print(f"local.invoke: {refused}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
