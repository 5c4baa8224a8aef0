"""What the sandboxes remember between calls: vendor backends, counters, faults, latency, the clock."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from local.sandbox import bazaarvoice, livevox, loudvoice
from local.sandbox.core import CallCounter, FaultPlan, SandboxClock
from local.sandbox.issuer import TestIssuer


@dataclass(frozen=True)
class Credentials:
    """What the sandboxes accept: the demo secrets' values, unless a test seeds its own (secret canaries)."""

    bazaarvoice_passkey: str = bazaarvoice.PASSKEY
    loudvoice_public_key: str = loudvoice.PUBLIC_KEY
    loudvoice_private_key: str = loudvoice.PRIVATE_KEY
    livevox_access_token: str = livevox.ACCESS_TOKEN
    livevox_password: str = livevox.PASSWORD


class SandboxState:
    """Everything the sandboxes remember; counters and faults cover the AWS proxy's requests too."""

    def __init__(self, clock: SandboxClock | None = None, credentials: Credentials | None = None) -> None:
        accepted = credentials or Credentials()
        self.clock = clock or SandboxClock()
        # One lock around every backend call and control change: a sandbox needs correctness, not throughput.
        self.lock = threading.RLock()
        self.calls = CallCounter()
        self.faults = FaultPlan()
        self.latency_ms = 0
        self.bazaarvoice = bazaarvoice.BazaarvoiceBackend(self.clock, passkey=accepted.bazaarvoice_passkey)
        self.loudvoice = loudvoice.LoudVoiceBackend(
            self.clock, public_key=accepted.loudvoice_public_key, private_key=accepted.loudvoice_private_key
        )
        self.livevox = livevox.LiveVoxBackend(
            self.clock, access_token=accepted.livevox_access_token, password=accepted.livevox_password
        )
        self.issuer = TestIssuer()  # its key lives as long as the sandbox: a reset keeps minted tokens valid

    def reset(self) -> None:
        """Back to a fresh start: vendor state, counters, faults, latency, error shape, clock."""
        with self.lock:
            self.clock.reset()
            self.calls.clear()
            self.faults.clear()
            self.latency_ms = 0
            self.bazaarvoice.reset()
            self.loudvoice.reset()
            self.livevox.reset()
