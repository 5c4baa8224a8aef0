"""`python -m local.sam invoke|api` (`make sam-invoke`, `make sam-api`): the real SAM CLI in containers, against
the local stack's DynamoDB, Secrets Manager and sandboxes.

It runs on the `sam build` output (.aws-sam/build). SAM passes a function only the variables its template declares,
so a copy of the built template (beside it, same code) also declares the two ``AWS_ENDPOINT_URL_*`` variables, and
can set another architecture. The env-vars file holds the very environments the local stack gives its functions
(``config.function_environments``, the same parameter overrides), with loopback URLs rewritten to relays on the
Docker bridge. Images: ``--invoke-image`` the ones `make images` builds, never pulled (``--skip-pull-image``);
``AUTHHOOKS_INVOKE_IMAGE=public`` leaves SAM's own public images (on a machine that has them). An event's
placeholders (``local.placeholders``) are filled from the same stack as for `make invoke` (by `make invoke` itself).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import config, images, overrides, placeholders, template
from local.relay import Relays, bridge_gateway
from local.stack import Stack, aws_endpoints

BUILD_DIR = template.ROOT / ".aws-sam" / "build"
SAM = Path(sys.executable).parent / "sam"
_ENDPOINT_VARIABLES = tuple(aws_endpoints(""))
# Variables that name a service to call (relayed when on loopback); other URLs (allowed origins) stay as they are.
_CALLED = re.compile(r"AWS_ENDPOINT_URL_\w+|\w+_API_URL")


def template_architecture(tpl: dict[str, Any]) -> str:
    return tpl.get("Globals", {}).get("Function", {}).get("Architectures", ["x86_64"])[0]


# An emulated architecture (qemu) runs several times slower: its functions get this long, not the template's timeout.
EMULATED_TIMEOUT = 120


def local_template(architecture: str | None = None, build_dir: Path = BUILD_DIR) -> Path:
    """The built template, as JSON beside it, declaring the endpoint variables and set to ``architecture``.

    When this machine runs ``architecture`` under emulation, the functions' timeout is ``EMULATED_TIMEOUT``.
    """
    built = build_dir / "template.yaml"
    if not built.exists():
        raise SystemExit(f"no {built.relative_to(template.ROOT)}: run `make build` (sam build) first")
    tpl = template.load(built)
    function_globals = tpl.setdefault("Globals", {}).setdefault("Function", {})
    architecture = architecture or template_architecture(tpl)
    function_globals["Architectures"] = [architecture]
    if images.emulated(architecture):
        function_globals["Timeout"] = max(int(function_globals.get("Timeout", 3)), EMULATED_TIMEOUT)
        for resource in tpl["Resources"].values():
            if resource["Type"] == "AWS::Serverless::Function":
                resource["Properties"].pop("Timeout", None)
    variables = function_globals.setdefault("Environment", {}).setdefault("Variables", {})
    variables.update(dict.fromkeys(_ENDPOINT_VARIABLES, ""))
    for resource in tpl["Resources"].values():
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            resource["Properties"]["CompatibleArchitectures"] = [architecture]
            resource.setdefault("Metadata", {})["BuildArchitecture"] = architecture
    path = build_dir / f"template-local-{architecture}.json"
    path.write_text(json.dumps(tpl, indent=1), encoding="utf-8")
    return path


def env_vars(
    sandbox_url: str, dynamodb_url: str, relays: Relays, settings: overrides.Settings | None = None
) -> dict[str, dict[str, str]]:
    """SAM's env-vars file: each function's local-stack environment, its service URLs reachable from a container."""
    settings = settings or overrides.Settings()
    environments = config.function_environments(sandbox_url, settings.stack_parameters())
    return {
        logical_id: {
            name: relays.reachable(value) if _CALLED.fullmatch(name) else value
            for name, value in {**env, **aws_endpoints(dynamodb_url)}.items()
        }
        for logical_id, env in environments.items()
    }


def invoke_image(architecture: str) -> list[str]:
    """``--invoke-image`` for our locally built image, unless AUTHHOOKS_INVOKE_IMAGE=public asks for SAM's."""
    chosen = os.environ.get("AUTHHOOKS_INVOKE_IMAGE", "")
    if chosen == "public":
        return []
    return ["--invoke-image", chosen or images.image_name(architecture)]


def sam_environment() -> dict[str, str]:
    """SAM CLI's own environment: the fake credentials it hands the containers, no telemetry, no real endpoints."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_ENDPOINT_URL") and name != "AWS_PROFILE"
    }
    return {**env, **config.FAKE_AWS_ENV, "SAM_CLI_TELEMETRY": "0"}


@dataclass
class Setup:
    """What a SAM command needs: the template copy, the env-vars file and the architecture."""

    template: Path
    env_vars: Path
    architecture: str

    def common(self) -> list[str]:
        return [
            "--template",
            str(self.template),
            "--env-vars",
            str(self.env_vars),
            "--skip-pull-image",
            "--region",
            config.REGION,
            *invoke_image(self.architecture),
        ]

    def invoke_command(self, function: str, event: Path) -> list[str]:
        return [str(SAM), "local", "invoke", function, "--event", str(event), *self.common()]

    def api_command(self, port: int, host: str = "127.0.0.1") -> list[str]:
        # Warm containers: one per function, reused like a warm Lambda (and SAM builds the layer image once).
        # --disable-authorizer: SAM CLI emulates Lambda authorizers only, and cannot resolve the routes'
        # `AuthorizerId: !If [UseJwt, ..., !Ref AWS::NoValue]` (its resolver fails on NoValue inside Fn::If).
        return [
            str(SAM),
            "local",
            "start-api",
            "--host",
            host,
            "--port",
            str(port),
            "--warm-containers",
            "LAZY",
            "--disable-authorizer",
            *self.common(),
        ]


@contextmanager
def prepared(
    sandbox_url: str,
    dynamodb_url: str,
    architecture: str | None = None,
    settings: overrides.Settings | None = None,
    build_dir: Path = BUILD_DIR,
) -> Iterator[Setup]:
    """The template copy, and the env-vars file with relays up for as long as the block runs."""
    path = local_template(architecture, build_dir)
    arch = template_architecture(json.loads(path.read_text(encoding="utf-8")))
    images.enable_emulation(arch)
    with Relays(bridge_gateway()) as relays:
        variables = build_dir / f"env-vars-{arch}.json"
        variables.write_text(
            json.dumps(env_vars(sandbox_url, dynamodb_url, relays, settings), indent=1), encoding="utf-8"
        )
        variables.chmod(0o600)  # it may hold no secret, but it says where they are
        yield Setup(path, variables, arch)


def filled_event(event: Path, sandbox_url: str, dynamodb_url: str, build_dir: Path = BUILD_DIR) -> Path:
    """``event`` as SAM is given it: its placeholders filled from the stack at these URLs, in a copy beside the build.

    Each value comes from `python -m local.invoke` against that stack (what `make invoke` does with the file), so SAM
    and `make invoke` fill alike; ``placeholders.Unfillable`` says what to do when a placeholder cannot be filled.
    """
    loaded = json.loads(event.read_text(encoding="utf-8"))
    if not placeholders.names(loaded):
        return event
    env = {
        **os.environ,
        "AUTHHOOKS_SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1],
        "AUTHHOOKS_DYNAMODB_PORT": dynamodb_url.rsplit(":", 1)[1],
    }

    def run(logical_id: str, prepared: dict[str, Any]) -> Any:
        starter = build_dir / f"event-start-{logical_id}.json"
        starter.write_text(json.dumps(prepared), encoding="utf-8")
        starter.chmod(0o600)
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "local.invoke", logical_id, str(starter)],
            cwd=template.ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return json.loads(done.stdout) if done.stdout.strip() else {"error": done.stderr[-500:]}

    settings = overrides.from_env()
    filled, _ = placeholders.Filler(run, sandbox_url, settings.sandboxed()).fill(loaded, event)
    copy = build_dir / f"event-{event.stem}.json"
    copy.write_text(json.dumps(filled, indent=1), encoding="utf-8")
    copy.chmod(0o600)  # it holds a live token or session id
    return copy


@contextmanager
def backends(settings: overrides.Settings) -> Iterator[tuple[str, str]]:
    """(sandbox URL, DynamoDB URL): the running `make dev` stack's, else a stack of our own for this command."""
    from local.invoke import dev_stack

    running = dev_stack(config.Ports.from_env())
    if running is not None:
        dynamodb, sandbox = running
        print(f"local.sam: using the dev stack (DynamoDB {dynamodb}, sandboxes {sandbox})", file=sys.stderr)
        yield sandbox, dynamodb
        return
    print("local.sam: no dev stack running; starting one on free ports for this command", file=sys.stderr)
    with Stack(
        api_port=0,
        dynamodb_port=0,
        sandbox_port=0,
        parameter_overrides=settings.stack_parameters(),
        secrets=settings.stack_secrets(),
    ) as stack:
        yield stack.sandbox_url, stack.dynamodb_url


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.sam", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--architecture",
        choices=images.ARCHITECTURES,
        help="run the functions as this architecture (default: the template's)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    invoke = commands.add_parser("invoke", help="sam local invoke LogicalId --event FILE")
    invoke.add_argument("function", metavar="LogicalId")
    invoke.add_argument("event", type=Path)
    api = commands.add_parser("api", help="sam local start-api until Ctrl-C")
    api.add_argument("--port", type=int, default=int(os.environ.get("AUTHHOOKS_SAM_API_PORT", "3001")))
    args = parser.parse_args(argv)
    try:
        settings = overrides.from_env()
    except overrides.OverridesError as exc:
        parser.error(str(exc))
    with (
        backends(settings) as (sandbox_url, dynamodb_url),
        prepared(sandbox_url, dynamodb_url, args.architecture, settings) as setup,
    ):
        if args.command == "invoke":
            try:
                command = setup.invoke_command(args.function, filled_event(args.event, sandbox_url, dynamodb_url))
            except placeholders.Unfillable as refused:
                print(f"local.sam: {refused}", file=sys.stderr)
                return 2
        else:
            command = setup.api_command(args.port)
        print("+", " ".join(command), file=sys.stderr, flush=True)
        process = subprocess.Popen(command, env=sam_environment())  # noqa: S603
        try:
            return process.wait()
        except KeyboardInterrupt:
            # Ctrl-C reached SAM too (same process group); give it time to remove its containers, then insist.
            try:
                return process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.terminate()
                process.wait()
                return 130


if __name__ == "__main__":
    sys.exit(main())
