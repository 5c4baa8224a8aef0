"""The log formatter blanks every known secret, whatever path it takes into a log line."""

from __future__ import annotations

import json
import logging

from authhooks.telemetry import RedactingFormatter, Redactor


def render(redactor: Redactor, message: str, **extra: object) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return RedactingFormatter(redactor).format(record)


def test_deployment_and_request_secrets_are_blanked() -> None:
    redactor = Redactor()
    redactor.add_deployment_secrets({"passkey": "canary-passkey-1", "nested": {"key": ["canary-key-2"]}})
    redactor.add_request_secrets("canary-password-3")
    line = render(redactor, "calling with canary-passkey-1", detail="pw=canary-password-3 k=canary-key-2")
    assert "canary-" not in line
    assert json.loads(line)["message"] == "calling with ***"


def test_request_secrets_are_forgotten_after_the_invocation() -> None:
    redactor = Redactor()
    redactor.add_request_secrets("canary-password-3")
    redactor.end_request()
    assert "canary-password-3" in render(redactor, "canary-password-3")


def test_json_escaped_forms_are_blanked_too() -> None:
    redactor = Redactor()
    redactor.add_deployment_secrets(['sec"ret\\value'])
    line = render(redactor, 'value is sec"ret\\value')
    assert "ret" not in line


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = Redactor()
    redactor.add_deployment_secrets({"flag": "true", "empty": ""})
    assert "true" in render(redactor, "true")


def test_exceptions_are_scrubbed() -> None:
    redactor = Redactor()
    redactor.add_deployment_secrets(["canary-in-exception"])
    try:
        raise ValueError("failed with canary-in-exception")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    assert "canary-in-exception" not in RedactingFormatter(redactor).format(record)


def test_one_threads_end_of_request_does_not_forget_another_threads_secrets() -> None:
    import threading

    redactor = Redactor()
    redactor.add_request_secrets("canary-thread-main")
    other = threading.Thread(target=redactor.end_request)
    other.start()
    other.join()
    assert "canary-thread-main" not in render(redactor, "canary-thread-main")
