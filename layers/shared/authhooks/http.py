"""One pooled ``requests.Session`` per vendor, and the base every vendor client is built on.

The base owns the call, timeouts, bounded urllib3 retries, transport-error mapping, JSON decoding,
``Retry-After`` parsing, the per-call metrics and the cached-client factory, once; a vendor module
only knows its wire format and what its refusals mean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from authhooks import __version__, budget
from authhooks.errors import ServiceError, VendorRejected, VendorTimeout, VendorUnavailable
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
    session.headers["User-Agent"] = f"authhooks/{__version__}"
    return session


@dataclass
class VendorResponse:
    status: int
    headers: requests.structures.CaseInsensitiveDict[str]
    body: Any  # decoded JSON; None for an empty body or one that is not JSON
    json_ok: bool = True  # False when a body was sent but is not JSON

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


MAX_RETRY_AFTER = 3600
SUCCESS = range(200, 300)


def parse_retry_after(value: str | None, now: datetime | None = None) -> int | None:
    """Seconds from a Retry-After header (a delay or an HTTP date), clamped to 1..3600; None when absent or unreadable.

    A date in the past, like "0", means "now": never tell a caller to retry at once.
    """
    from email.utils import parsedate_to_datetime

    text = (value or "").strip()
    if not text:
        return None
    if text.isdigit():
        seconds = int(text)
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        seconds = int((moment - (now or datetime.now(UTC))).total_seconds())
    return max(1, min(MAX_RETRY_AFTER, seconds))


def retry_after(response: VendorResponse) -> int | None:
    """The vendor's ``Retry-After`` in seconds (see ``parse_retry_after``)."""
    return parse_retry_after(response.header("Retry-After"))


class VendorClient:
    """Base of the vendor clients: the call, timeouts, retries, transport errors and metrics, once.

    A vendor implements its wire format and ``refusal``: what an answer it did not accept means for our caller.
    """

    vendor: str = "vendor"

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy = CONNECT_ONLY,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.session = session or vendor_session(retry)

    def refusal(self, operation: str, response: VendorResponse) -> ServiceError:
        """The taxonomy error for an answer ``call`` did not accept; the body may be None (not JSON)."""
        raise NotImplementedError

    def call(
        self, operation: str, method: str, path: str, *, accept: Collection[int] = SUCCESS, **kwargs: Any
    ) -> VendorResponse:
        """Send one request; an answer outside ``accept`` raises the vendor's ``refusal`` (status first).

        Transport failures become vendor_unavailable / vendor_timeout. Timeouts never exceed what the
        invocation has left.
        """
        import requests

        url = f"{self.base_url}{path}"
        started = time.perf_counter()
        timeout = (budget.cap(self.connect_timeout), budget.cap(self.read_timeout))
        try:
            response = self.session.request(method, url, timeout=timeout, **kwargs)
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
        logger.info(
            "vendor call",
            extra={
                "vendor": self.vendor,
                "operation": operation,
                "status": response.status_code,
                "latency_ms": round(elapsed_ms, 1),
            },
        )
        answer = _decoded(response)
        if answer.status not in accept:
            # The status decides first: a non-JSON error body means what the same status means with JSON.
            error = self.refusal(operation, answer)
            self.count_error(operation, str(answer.status))
            raise error
        if answer.ok:
            self._json_only(operation, answer)  # a success must be JSON (or empty): anything else is garbage
        return answer

    def _json_only(self, operation: str, response: VendorResponse) -> None:
        """A success whose body is not JSON (or empty) is garbage: a 502, counted and logged."""
        if response.json_ok:
            return
        self.count_error(operation, "garbage")
        logger.error(
            "vendor answered with a body that is not JSON",
            extra={
                "vendor": self.vendor,
                "operation": operation,
                "status": response.status,
                "content_type": response.header("Content-Type"),
            },
        )
        raise VendorRejected(f"{self.vendor} answered with something that is not JSON")

    def _failed(self, operation: str, reason: str, started: float) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        self.count_error(operation, reason)
        logger.warning(
            "vendor call failed",
            extra={"vendor": self.vendor, "operation": operation, "reason": reason, "latency_ms": round(elapsed_ms, 1)},
        )

    def count_error(self, operation: str, code: str) -> None:
        """One VendorErrors data point: vendor, operation, and ``code`` = the HTTP status of a refused answer,
        or what went wrong instead (timeout, connect_timeout, connection_error, retries_exhausted, garbage,
        bad_answer)."""
        with single_metric(name="VendorErrors", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="vendor", value=self.vendor)
            metric.add_dimension(name="operation", value=operation)
            metric.add_dimension(name="code", value=str(code)[:64])


def misconfigured(vendor: str, operation: str, detail: str, **context: Any) -> VendorRejected:
    """The vendor refused our own key, plan, host or parameters: an error log and a metric for the operator, a 502."""
    logger.error(
        f"{vendor} refused this service's credentials or configuration",
        extra={"vendor": vendor, "operation": operation, **context},
    )
    with single_metric(name="VendorConfigurationErrors", unit=MetricUnit.Count, value=1) as metric:
        metric.add_dimension(name="vendor", value=vendor)
    return VendorRejected(detail)


def _decoded(response: requests.Response) -> VendorResponse:
    if not response.content:
        return VendorResponse(response.status_code, response.headers, None)
    try:
        return VendorResponse(response.status_code, response.headers, response.json())
    except ValueError:
        return VendorResponse(response.status_code, response.headers, None, json_ok=False)


def cached_client[Client: VendorClient](cls: type[Client], *config: Hashable) -> Client:
    """The container's client of ``cls`` for these settings: one pooled session, rebuilt only when they change."""
    # The cache is keyed by the class: what it holds for ``cls`` was built by ``cls``. (Passed as a callable: mypy
    # does not count a class object as Hashable, which lru_cache asks of every argument.)
    factory: Callable[..., VendorClient] = cls
    return cast("Client", _cached(factory, config))


@cache
def _cached(cls: Callable[..., VendorClient], config: tuple[Hashable, ...]) -> VendorClient:
    return cls(*config)
