"""Retry policies: what may be repeated is decided here, once."""

from __future__ import annotations

from authhooks.http import CONNECT_ONLY, RetryPolicy


def test_connect_only_never_repeats_a_request_that_may_have_reached_the_vendor() -> None:
    retry = CONNECT_ONLY.to_urllib3()
    assert retry.connect == 2
    assert retry.read == 0 and retry.status == 0 and retry.other == 0
    for method in ("GET", "POST", "PUT", "DELETE"):
        assert not retry._is_method_retryable(method), "an empty method list must mean no verb, not every verb"


def test_a_policy_repeats_only_its_methods_and_statuses() -> None:
    retry = RetryPolicy(connect=1, read=1, status=1, methods=("PUT", "DELETE"), status_forcelist=(503,)).to_urllib3()
    assert retry._is_method_retryable("PUT") and not retry._is_method_retryable("POST")
    assert retry.is_retry("PUT", 503) and not retry.is_retry("PUT", 500) and not retry.is_retry("POST", 503)
    assert retry.respect_retry_after_header is False
