"""Bazaarvoice email-confirmation landing: routes only; the logic lives in confirm.py."""

from authhooks.api import lambda_entry, make_resolver, not_implemented

app = make_resolver()
not_implemented(app, [
    ("GET", "/bazaarvoice/confirm"),
    ("POST", "/bazaarvoice/confirm"),
    ("GET", "/bazaarvoice/users/<bv_user_id>"),
])
lambda_handler = lambda_entry(app)
