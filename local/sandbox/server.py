"""The sandbox HTTP server: one port, the three vendors under path prefixes, `/_sandbox/*` controls.

The parts: `state` (what the sandboxes remember), `controls` (the `/_sandbox` routes), `dispatch` (routing,
counters, latency, faults), `aws_proxy` (the AWS side); this module serves them over HTTP.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import Self

from werkzeug.wrappers import Request as HttpRequest
from werkzeug.wrappers import Response as HttpResponse

from local import serving
from local.sandbox import aws_proxy, bazaarvoice, livevox, loudvoice
from local.sandbox.core import Response, VendorError, render_plain_error
from local.sandbox.dispatch import Dispatcher
from local.sandbox.state import Credentials, SandboxState

__all__ = ["Credentials", "SandboxServer", "SandboxState", "main"]

MAX_BODY_BYTES = 1024 * 1024
DEFAULT_PORT = 3100


def _refusal(status: int, code: str, detail: str) -> HttpResponse:
    return _http(render_plain_error(VendorError(status, detail, code=code)))


def _http(response: Response) -> HttpResponse:
    return HttpResponse(response.body, response.status, headers=list(response.headers.items()))


class SandboxServer:
    """The three vendor sandboxes on one loopback port; `port=0` picks a free one."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state: SandboxState | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self.state = state or SandboxState(credentials=credentials)
        self._host = host
        self._http = serving.HttpServer(
            self._answer, host=host, port=port, name="authhooks-sandbox", max_body=MAX_BODY_BYTES, refuse=_refusal
        )
        self._dispatcher = Dispatcher(self.state, self._http.stopping)
        self.aws: aws_proxy.AwsProxy | None = None

    @property
    def url(self) -> str:
        """`http://<host>:<port>`."""
        return self._http.url

    def _answer(self, request: HttpRequest) -> HttpResponse:
        headers = {key.lower(): value for key, value in request.headers.items()}
        target = request.environ.get("RAW_URI") or request.full_path
        outcome = self._dispatcher.dispatch(request.method, target, headers, request.get_data())
        if isinstance(outcome, Response):
            return _http(outcome)
        raise serving.DropConnection(reset=outcome.reset, hold=outcome.seconds)

    def start_aws_proxy(self, upstream: str, port: int = 0) -> str:
        """Put the AWS fault proxy (sharing this sandbox's counters and faults) in front of moto's server at
        `upstream`; returns the proxy's URL, the endpoint the functions' boto3 should use. Idempotent."""
        if self.aws is None:
            self.aws = aws_proxy.AwsProxy(
                upstream, self.state.calls, self.state.faults, host=self._host, port=port
            ).start()
        elif self.aws.upstream != upstream:
            raise ValueError(f"the AWS proxy already forwards to {self.aws.upstream}")
        return self.aws.url

    def start(self) -> Self:
        """Serve in a daemon thread."""
        self._http.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._http.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop serving and release the port (idempotent); calls held by a timeout fault are let go."""
        self._http.stop()
        if self.aws is not None:
            self.aws.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


_BANNER = """\
Vendor sandboxes on {url}
  Bazaarvoice  {url}/bazaarvoice   PassKey {bv_passkey}; auth tokens: POST {url}/_sandbox/bazaarvoice/tokens
  LoudVoice    {url}/loudvoice     subdomain sandbox, public key {lv_public}, private key {lv_private}
  LiveVox      {url}/livevox       LV-Access {lvx_access}, client {lvx_client}, password {lvx_password},
                                   SSO id token {lvx_sso}<user name>
  Controls     {url}/_sandbox/calls, /faults, /latency, /reset, /health
Ctrl-C stops."""


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m local.sandbox [--host H] [--port N] [--verbose]`."""
    parser = argparse.ArgumentParser(prog="python -m local.sandbox", description="Local vendor sandboxes.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("AUTHHOOKS_SANDBOX_PORT") or DEFAULT_PORT))
    parser.add_argument("--verbose", action="store_true", help="log one line per call (operation names only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")

    server = SandboxServer(args.host, args.port)
    print(
        _BANNER.format(
            url=server.url,
            bv_passkey=bazaarvoice.PASSKEY,
            lv_public=loudvoice.PUBLIC_KEY,
            lv_private=loudvoice.PRIVATE_KEY,
            lvx_access=livevox.ACCESS_TOKEN,
            lvx_client=livevox.CLIENT_NAME,
            lvx_password=livevox.PASSWORD,
            lvx_sso=livevox.SSO_TOKEN_PREFIX,
        ),
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("sandboxes stopped", flush=True)
    return 0
