"""One pooled ``requests.Session`` per vendor, and the base every vendor client is built on.

The base owns timeouts, bounded urllib3 retries, transport-error mapping, JSON decoding and the
per-call metrics, once; a vendor module only knows its wire format.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from authhooks.errors import VendorRejected, VendorTimeout, VendorUnavailable
from authhooks.telemetry import logger, metrics, redactor

if TYPE_CHECKING:
    import requests
    from urllib3.util.retry import Retry

# requests and urllib3 are imported on first use: a cache hit never calls a vendor, so its cold
# start should not pay for them.


class _RedactedRetryLines(logging.Filter):
    """urllib3 logs the request path when it retries, and paths carry tokens: blank the known secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redactor.scrub(record.getMessage()), None
        return True


for _name in ("urllib3.connectionpool", "urllib3.util.retry"):
    logging.getLogger(_name).addFilter(_RedactedRetryLines())


def _read_timed_out(exc: requests.exceptions.RequestException) -> bool:
    # Read timeouts that used up their retries reach us as a ConnectionError around MaxRetryError.
    from urllib3.exceptions import ReadTimeoutError

    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    return isinstance(reason, ReadTimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """How often a vendor call may be repeated, and on what."""

    connect: int = 2
    read: int = 0
    status: int = 0
    methods: Collection[str] = ()
    status_forcelist: Collection[int] = (500, 502, 504)
    backoff_factor: float = 0.1

    def to_urllib3(self) -> Retry:
        from urllib3.util.retry import Retry

        return Retry(
            total=self.connect + self.read + self.status,
            connect=self.connect,
            read=self.read,
            status=self.status,
            other=0,
            # urllib3 reads an empty collection as "any verb"; a name no request uses means "none".
            allowed_methods=frozenset(self.methods) or frozenset({"NO-METHOD"}),
            status_forcelist=frozenset(self.status_forcelist),
            backoff_factor=self.backoff_factor,
            backoff_max=2.0,
            raise_on_status=False,
            # A vendor's Retry-After is for our caller to honour, not for us to sleep through.
            respect_retry_after_header=False,
        )


# Only failures to connect: the request never reached the vendor, so repeating it is always safe.
CONNECT_ONLY = RetryPolicy()


def vendor_session(policy: RetryPolicy, pool_size: int = 10) -> requests.Session:
    """A session with connection pooling and the given retry policy on http and https."""
    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(max_retries=policy.to_urllib3(), pool_connections=2, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "authhooks/1.0"
    return session


@dataclass
class VendorResponse:
    status: int
    headers: requests.structures.CaseInsensitiveDict
    body: Any  # decoded JSON, or None for an empty body

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class VendorClient:
    """Base of the vendor clients: one session, timeouts from settings, errors mapped once."""

    vendor: str = "vendor"

    def __init__(self, base_url: str, *, connect_timeout: float, read_timeout: float,
                 retry: RetryPolicy = CONNECT_ONLY, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or vendor_session(retry)

    def call(self, operation: str, method: str, path: str, **kwargs: Any) -> VendorResponse:
        """Send one request; transport failures become vendor_* errors, the body is decoded JSON."""
        import requests

        url = f"{self.base_url}{path}"
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.exceptions.ConnectTimeout as exc:
            self._failed(operation, "connect_timeout", started)
            raise VendorUnavailable(f"{self.vendor} could not be reached") from exc
        except (requests.exceptions.ReadTimeout, requests.exceptions.Timeout) as exc:
            self._failed(operation, "timeout", started)
            raise VendorTimeout(f"{self.vendor} did not answer in time") from exc
        except requests.exceptions.RetryError as exc:
            self._failed(operation, "retries_exhausted", started)
            raise VendorUnavailable(f"{self.vendor} kept failing") from exc
        except requests.exceptions.RequestException as exc:
            if _read_timed_out(exc):
                self._failed(operation, "timeout", started)
                raise VendorTimeout(f"{self.vendor} did not answer in time") from exc
            # Connection refused or reset: nothing usable came back.
            self._failed(operation, "connection_error", started)
            raise VendorUnavailable(f"{self.vendor} connection failed") from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        metrics.add_metric(name="VendorCalls", unit=MetricUnit.Count, value=1)
        metrics.add_metric(name="VendorLatency", unit=MetricUnit.Milliseconds, value=elapsed_ms)
        logger.info("vendor call", extra={"vendor": self.vendor, "operation": operation,
                                          "status": response.status_code, "latency_ms": round(elapsed_ms, 1)})
        return VendorResponse(response.status_code, response.headers, self._decode(operation, response))

    def _decode(self, operation: str, response: requests.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            self.count_error(operation, "garbage")
            logger.error("vendor answered with a body that is not JSON",
                         extra={"vendor": self.vendor, "operation": operation, "status": response.status_code,
                                "content_type": response.headers.get("Content-Type")})
            if response.status_code >= 500:
                raise VendorUnavailable(f"{self.vendor} failed") from exc
            raise VendorRejected(f"{self.vendor} answered with something that is not JSON") from exc

    def _failed(self, operation: str, reason: str, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.count_error(operation, reason)
        logger.warning("vendor call failed", extra={"vendor": self.vendor, "operation": operation,
                                                    "reason": reason, "latency_ms": round(elapsed_ms, 1)})

    def count_error(self, operation: str, code: str) -> None:
        """One VendorErrors data point with the vendor, operation and error code as dimensions."""
        with single_metric(name="VendorErrors", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="vendor", value=self.vendor)
            metric.add_dimension(name="operation", value=operation)
            metric.add_dimension(name="code", value=str(code)[:64])
