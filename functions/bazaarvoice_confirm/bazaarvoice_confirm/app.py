"""Bazaarvoice email-confirmation landing: routes only; the logic lives in confirm.py, the pages in landing.py."""

from __future__ import annotations

from typing import Any

from authhooks.api import accepts_json, form_or_json, iso_utc, lambda_entry, make_resolver
from authhooks.errors import InvalidRequest, MethodNotAllowed, NotFound, PayloadTooLarge, ServiceError
from aws_lambda_powertools.event_handler import Response

from bazaarvoice_confirm import confirm, landing

LANDING_PATH = "/bazaarvoice/confirm"


def _error_page(error: ServiceError, event: dict[str, Any]) -> Response | None:
    """Browsers on the landing route get the page for the error (with its status); JSON callers a problem."""
    if event.get("rawPath") != LANDING_PATH or accepts_json(event):
        return None
    if isinstance(error, NotFound | MethodNotAllowed | PayloadTooLarge):
        return None  # not a link's outcome: the plain problem says it best
    values = _link_or_form(event)
    authtoken, return_to = confirm.link_values(values)
    return landing.error_page(error, authtoken, return_to, _language(values, event))


def _link_or_form(event: dict[str, Any]) -> dict[str, Any]:
    """What the shopper sent (the link's query, or the form), read without failing."""
    if event.get("requestContext", {}).get("http", {}).get("method") == "GET":
        return event.get("queryStringParameters") or {}
    try:
        return form_or_json(event)
    except InvalidRequest:
        return {}


def _language(values: dict[str, Any], event: dict[str, Any]) -> str:
    """The page language: the link's (or form's) ``locale``, else the browser's ``Accept-Language``."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    return landing.language_for(values.get("locale"), headers.get("accept-language"))


app = make_resolver(error_page=_error_page)


@app.get(LANDING_PATH)
def confirm_link() -> Response | dict[str, Any]:
    """The email link: a page that confirms by POST. Never calls Bazaarvoice (mail scanners open these links)."""
    query = app.current_event.query_string_parameters or {}
    authtoken, return_to = confirm.landing_request(query)
    if accepts_json(app.current_event.raw_event):
        return {"status": "unconfirmed", "confirm_with": "POST /bazaarvoice/confirm"}
    return landing.confirm_page(authtoken, return_to, _language(query, app.current_event.raw_event))


@app.post(LANDING_PATH)
def confirm_token() -> Response | dict[str, Any]:
    """Exchange the token once (form or JSON); a repeat is answered from the store."""
    body = form_or_json(app.current_event.raw_event)
    authtoken, return_to = confirm.landing_request(body)
    confirmation = confirm.confirm(authtoken)
    if accepts_json(app.current_event.raw_event):
        return {
            "status": "confirmed",
            "bv_user_id": confirmation.bv_user_id,
            "user_token": confirmation.user_token,
            "expires_at": iso_utc(confirmation.expires_at),
            "already_confirmed": confirmation.already_confirmed,
        }
    return landing.confirmed_page(confirmation, return_to, _language(body, app.current_event.raw_event))


@app.get("/bazaarvoice/users/<bv_user_id>")
def stored_user(bv_user_id: str) -> dict[str, Any]:
    """The latest user token kept for a shopper, for the site backend (IAM)."""
    record = confirm.stored_user(bv_user_id)
    return {
        "bv_user_id": record["bv_user_id"],
        "user_token": record["user_token"],
        "confirmed_at": iso_utc(record["confirmed_at"]),
        "expires_at": iso_utc(record["expires_at"]),
    }


lambda_handler = lambda_entry(app, secret_parameters=("bv_authtoken",))
