"""Bazaarvoice email-confirmation landing: routes only; the logic lives in confirm.py, the pages in landing.py."""

from __future__ import annotations

from typing import Any

from authhooks.api import accepts_json, form_or_json, lambda_entry, make_resolver
from authhooks.errors import InternalError, ServiceError
from authhooks.telemetry import logger, redactor
from aws_lambda_powertools.event_handler import Response

from bazaarvoice_confirm import confirm, landing

app = make_resolver()


@app.get("/bazaarvoice/confirm")
def confirm_link() -> Response | dict[str, Any]:
    """The email link: a page that confirms by POST. Never calls Bazaarvoice (mail scanners open these links)."""
    query = app.current_event.query_string_parameters or {}
    redactor.add_request_secrets(query.get("bv_authtoken"))
    language = _language(query)
    try:
        authtoken, return_to = confirm.landing_request(query)
    except ServiceError as error:
        return _failed(error, None, None, language)
    if accepts_json(app.current_event.raw_event):
        return {"status": "unconfirmed", "confirm_with": "POST /bazaarvoice/confirm"}
    return landing.confirm_page(authtoken, return_to, language)


@app.post("/bazaarvoice/confirm")
def confirm_token() -> Response | dict[str, Any]:
    """Exchange the token once (form or JSON); a repeat is answered from the store."""
    authtoken = return_to = None
    language = _language({})
    try:
        body = form_or_json(app.current_event.raw_event)
        language = _language(body)
        redactor.add_request_secrets(body.get("bv_authtoken"))
        authtoken, return_to = confirm.landing_request(body)
        confirmation = confirm.confirm(authtoken)
    except Exception as error:  # every failure becomes a page (or, for JSON callers, a problem)
        return _failed(error, authtoken, return_to, language)
    if accepts_json(app.current_event.raw_event):
        return confirmation.as_json()
    return landing.confirmed_page(confirmation, return_to, language)


@app.get("/bazaarvoice/users/<bv_user_id>")
def stored_user(bv_user_id: str) -> dict[str, Any]:
    """The latest user token kept for a shopper, for the site backend (IAM)."""
    return confirm.stored_user(bv_user_id)


def _language(values: dict[str, Any]) -> str:
    """The page language: the link's (or form's) ``locale``, else the browser's ``Accept-Language``."""
    return landing.language_for(values.get("locale"), app.current_event.headers.get("accept-language"))


def _failed(error: Exception, authtoken: str | None, return_to: str | None, language: str) -> Response:
    """JSON callers get the resolver's problem+json; browsers get the page for the error, with its status."""
    if accepts_json(app.current_event.raw_event):
        raise error
    if not isinstance(error, ServiceError):
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        error = InternalError()
    elif error.status >= 500:
        logger.warning("answered with a server-side error", extra={"code": error.code, "detail": error.detail})
    return landing.error_page(error, authtoken, return_to, language)


lambda_handler = lambda_entry(app)
