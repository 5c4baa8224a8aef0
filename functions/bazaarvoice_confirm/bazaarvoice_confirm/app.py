"""Bazaarvoice email-confirmation landing: routes only; the logic lives in confirm.py, the pages in landing.py."""

from __future__ import annotations

from typing import Any

from authhooks.api import accepts_json, form_or_json, iso_utc, lambda_entry, make_resolver
from authhooks.errors import InvalidRequest, MethodNotAllowed, NotFound, PayloadTooLarge, ServiceError
from aws_lambda_powertools.event_handler import Response

from bazaarvoice_confirm import confirm, landing

LANDING_PATH = "/bazaarvoice/confirm"
USER_ROUTE = "/bazaarvoice/users/{bv_user_id}"  # as template.yaml names it (the event's routeKey)
USER_PATH = "/bazaarvoice/users/<bv_user_id>"


def _error_page(error: ServiceError, event: dict[str, Any]) -> Response[str] | None:
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
def confirm_link() -> Response[str] | dict[str, Any]:
    """The email link: a page that confirms by POST. Never calls Bazaarvoice (mail scanners open these links)."""
    query = app.current_event.query_string_parameters or {}
    authtoken, return_to = confirm.landing_request(query)
    if accepts_json(app.current_event.raw_event):
        return {"status": "unconfirmed", "confirm_with": "POST /bazaarvoice/confirm"}
    return landing.confirm_page(authtoken, return_to, _language(query, app.current_event.raw_event))


@app.post(LANDING_PATH)
def confirm_token() -> Response[str] | dict[str, Any]:
    """Exchange the token once (form or JSON); a repeat is answered from the store, without the user token."""
    event = app.current_event.raw_event
    sent = form_or_json(event)
    authtoken, return_to = confirm.landing_request(sent)
    confirmation = confirm.confirm(authtoken)
    if accepts_json(event):
        body: dict[str, Any] = {
            "status": "confirmed",
            "bv_user_id": confirmation.bv_user_id,
            "expires_at": iso_utc(confirmation.expires_at),
            "already_confirmed": confirmation.already_confirmed,
        }
        if confirmation.user_token is not None:
            body["user_token"] = confirmation.user_token
        return body
    return landing.confirmed_page(confirmation, return_to, _language(sent, event))


@app.get(USER_PATH)
def stored_user(bv_user_id: str) -> dict[str, Any]:
    """The latest user token kept for a shopper, for the site backend (SigV4 or JWT)."""
    record = confirm.stored_user(_server_user_id("GET"))
    return {
        "bv_user_id": record["bv_user_id"],
        "user_token": record["user_token"],
        "confirmed_at": iso_utc(record["confirmed_at"]),
        "expires_at": iso_utc(record["expires_at"]),
    }


@app.delete(USER_PATH)
def erase_user(bv_user_id: str) -> Response[str]:
    """Forget a shopper (their user record and every confirmation), for the site backend; 204 either way."""
    confirm.erase_user(_server_user_id("DELETE"))
    return Response(status_code=204, body="")


def _server_user_id(method: str) -> str:
    """The user id of a request API Gateway routed to the authorized user route; anything else is no route at all.

    The function is reached by public routes too, and routes on ``rawPath``, which API Gateway delivers decoded
    (``users%2F<id>`` arrives as ``users/<id>``): only the route key and the authorizer's context (``iam`` for
    SigV4, ``jwt`` with JwtIssuer set) say who may ask.
    """
    event = app.current_event.raw_event
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    if event.get("routeKey") != f"{method} {USER_ROUTE}" or not (authorizer.get("iam") or authorizer.get("jwt")):
        raise NotFound(f"no route for {method} here")
    return str((event.get("pathParameters") or {}).get("bv_user_id", ""))


lambda_handler = lambda_entry(app, secret_parameters=("bv_authtoken",))
