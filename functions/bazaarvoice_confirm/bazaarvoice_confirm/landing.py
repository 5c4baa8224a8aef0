"""The landing pages: ``string.Template`` files under templates/, every value HTML-escaped unless already markup."""

from __future__ import annotations

import base64
import hashlib
import html
import string
from functools import cache
from pathlib import Path

from authhooks import settings
from authhooks.errors import InvalidRequest, ServiceError, TokenInvalid, VendorRateLimited
from aws_lambda_powertools.event_handler import Response

from bazaarvoice_confirm.confirm import Confirmation

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTML_TYPE = "text/html; charset=utf-8"
REDIRECT_SECONDS = 5


class Markup(str):
    """HTML that is safe to place in a page as it is (a rendered template)."""


@cache
def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: str) -> Markup:
    """A template with every value escaped, except values that are already ``Markup``."""
    safe = {key: value if isinstance(value, Markup) else html.escape(value, quote=True)
            for key, value in values.items()}
    return Markup(_template(name).substitute(safe))


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# The page's only style and script are inline and allowed by hash: no 'unsafe-inline', nothing loaded.
_STYLE = Markup((TEMPLATES / "page.css").read_text(encoding="utf-8"))
_SCRIPT = Markup((TEMPLATES / "autosubmit.js").read_text(encoding="utf-8"))
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; script-src {_source_hash(_SCRIPT)}; style-src {_source_hash(_STYLE)}; "
    "img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_NOTHING = Markup("")


def _page(status: int, title: str, content: Markup, *, tone: str, refresh: Markup = _NOTHING,
          auto_submit: bool = False, headers: dict[str, str] | None = None) -> Response:
    config = settings.bazaarvoice()
    support = (render("support.html", support_url=config.support_url, site_name=config.site_name)
               if config.support_url.startswith(("https://", "http://")) else _NOTHING)
    body = render("layout.html", title=title, site_name=config.site_name, style=_STYLE, content=content,
                  tone=tone, refresh=refresh, support=support,
                  script=Markup(f"<script>{_SCRIPT}</script>\n") if auto_submit else _NOTHING)
    # A plain str: the Lambda runtime (and the local worker pool) serializes the result.
    return Response(status_code=status, content_type=HTML_TYPE, body=str(body),
                    headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY, **(headers or {})})


def _return_field(return_to: str | None) -> Markup:
    return render("return_field.html", return_to=return_to) if return_to else _NOTHING


def confirm_page(authtoken: str, return_to: str | None) -> Response:
    """The page the email link opens: a form that confirms by POST (by script in ``auto`` mode)."""
    auto = settings.bazaarvoice().confirm_mode == "auto"
    lead = ("We are confirming the email address you gave with your review." if auto
            else "Press the button to confirm the email address you gave with your review.")
    button = render("confirm_noscript.html") if auto else render("confirm_button.html")
    content = render("confirm.html", lead=lead, bv_authtoken=authtoken, return_field=_return_field(return_to),
                     button=button)
    return _page(200, "Confirm your email address", content, tone="pending", auto_submit=auto)


def confirmed_page(confirmation: Confirmation, return_to: str | None) -> Response:
    """Success, first time or again; with a way back to an allow-listed ``return_to`` (a redirect in auto mode)."""
    config = settings.bazaarvoice()
    auto = config.confirm_mode == "auto"
    return_link = refresh = _NOTHING
    if return_to:
        note = render("redirect_note.html") if auto else _NOTHING
        return_link = render("return_link.html", return_to=return_to, site_name=config.site_name, redirect_note=note)
        if auto:
            refresh = render("refresh.html", seconds=str(REDIRECT_SECONDS), return_to=return_to)
    if confirmation.already_confirmed:
        title, name = "Already confirmed", "already_confirmed.html"
    else:
        title, name = "Email address confirmed", "success.html"
    return _page(200, title, render(name, return_link=return_link), tone="ok", refresh=refresh)


def error_page(error: ServiceError, authtoken: str | None, return_to: str | None) -> Response:
    """The page for a failure, with the error's status and headers (``Retry-After``)."""
    headers = error.response_headers()
    if isinstance(error, InvalidRequest):
        return _page(error.status, "Incomplete link", render("link_incomplete.html"), tone="problem", headers=headers)
    if isinstance(error, TokenInvalid):
        return _page(error.status, "Link expired", render("link_expired.html"), tone="problem", headers=headers)
    retry = (render("retry.html", bv_authtoken=authtoken, return_field=_return_field(return_to))
             if authtoken else _NOTHING)
    if isinstance(error, VendorRateLimited):
        return _page(error.status, "Please try again shortly", render("rate_limited.html", retry=retry),
                     tone="problem", headers=headers)
    return _page(error.status, "Please try again", render("unavailable.html", retry=retry), tone="problem",
                 headers=headers)
