"""The landing pages: ``string.Template`` files under templates/, every value HTML-escaped unless already markup.

Every sentence a shopper reads goes through ``_`` (gettext, one catalogue per language under locales/).
"""

from __future__ import annotations

import base64
import gettext
import hashlib
import html
import string
from functools import cache
from pathlib import Path

from authhooks import settings
from authhooks.errors import (
    InvalidRequest,
    ServiceError,
    TokenInvalid,
    VendorRateLimited,
    VendorRejected,
    VendorTimeout,
    VendorUnavailable,
)
from aws_lambda_powertools.event_handler import Response

from bazaarvoice_confirm import language as languages
from bazaarvoice_confirm.brand import Brand, brand
from bazaarvoice_confirm.confirm import Confirmation

TEMPLATES = Path(__file__).resolve().parent / "templates"
LOCALES = Path(__file__).resolve().parent / "locales"
DOMAIN = "landing"
HTML_TYPE = "text/html; charset=utf-8"


class Markup(str):
    """HTML that is safe to place in a page as it is (a rendered template)."""


@cache
def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: str) -> Markup:
    """A template with every value escaped, except values that are already ``Markup``."""
    safe = {
        key: value if isinstance(value, Markup) else html.escape(value, quote=True) for key, value in values.items()
    }
    return Markup(_template(name).substitute(safe))


@cache
def _catalogue(language: str) -> gettext.GNUTranslations:
    # No fallback: a language without its catalogue is a packaging bug, and the tests say so.
    return gettext.translation(DOMAIN, localedir=LOCALES, languages=[language])


class Text:
    """The sentences of one page in one language: ``_("Continue to {site}", site=...)`` is escaped markup."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._catalogue = _catalogue(language)

    def __call__(self, message: str, **values: str) -> Markup:
        translated = html.escape(self._catalogue.gettext(message), quote=True)
        return Markup(translated.format(**{key: html.escape(value, quote=True) for key, value in values.items()}))


def language_for(locale: object, accept_language: str | None) -> str:
    """The page language for a request: its ``locale`` field, else ``Accept-Language``, else the deployment's."""
    return languages.choose(locale, accept_language, settings.bazaarvoice().default_language)


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


# The page's only style and script are inline and allowed by hash: no 'unsafe-inline', nothing loaded but the logo.
_SCRIPT = Markup((TEMPLATES / "autosubmit.js").read_text(encoding="utf-8"))
_NOTHING = Markup("")


@cache
def _style(accent: str) -> Markup:
    return Markup(_template("page.css").substitute(accent=accent))


@cache
def content_security_policy(brand: Brand) -> str:
    """The policy of every page: our hashed style and script, and images only from the logo's origin."""
    images = " ".join(filter(None, ["data:", brand.logo_origin]))
    return (
        f"default-src 'none'; script-src {_source_hash(_SCRIPT)}; style-src {_source_hash(_style(brand.accent))}; "
        f"img-src {images}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


def _page(
    _: Text,
    status: int,
    title: Markup,
    content: Markup,
    *,
    tone: str,
    auto_submit: bool = False,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    shop = brand()
    masthead = (
        render("logo.html", logo_url=shop.logo_url, site_name=shop.site_name)
        if shop.logo_url
        else render("site_name.html", site_name=shop.site_name)
    )
    link_parts: list[Markup] = []
    if shop.support_url:
        link_parts.append(
            render(
                "support.html",
                support_url=shop.support_url,
                need_help=_("Need help?"),
                contact=_("Contact {site} support", site=shop.site_name),
            )
        )
    if shop.privacy_url:
        link_parts.append(render("privacy.html", privacy_url=shop.privacy_url, privacy=_("Privacy policy")))
    links = Markup("".join(link_parts))
    body = render(
        "layout.html",
        lang=_.language,
        dir=languages.direction(_.language),
        title=title,
        site_name=shop.site_name,
        style=_style(shop.accent),
        masthead=masthead,
        tone=tone,
        content=content,
        footer=render("footer.html", links=links) if links else _NOTHING,
        script=Markup(f"<script>{_SCRIPT}</script>\n") if auto_submit else _NOTHING,
    )
    # A plain str: the Lambda runtime (and the local worker pool) serializes the result.
    return Response(
        status_code=status,
        content_type=HTML_TYPE,
        body=str(body),
        # The language follows Accept-Language when the link names none: a shared cache must key on it.
        headers={
            "Content-Security-Policy": content_security_policy(shop),
            "Content-Language": _.language,
            "Vary": "Accept-Language",
            **(headers or {}),
        },
    )


def _fields(_: Text, return_to: str | None) -> Markup:
    """The hidden fields every form posts besides the token: the honoured ``return_to`` and the page language."""
    return_to_field = render("return_to_field.html", return_to=return_to) if return_to else _NOTHING
    return render("fields.html", return_to_field=return_to_field, locale=_.language)


def _notice(heading: Markup, *paragraphs: Markup, note: Markup = _NOTHING, action: Markup = _NOTHING) -> Markup:
    text = Markup("".join(render("paragraph.html", text=paragraph) for paragraph in paragraphs))
    return render(
        "notice.html",
        heading=heading,
        paragraphs=text,
        action=action,
        note=render("note.html", text=note) if note else _NOTHING,
    )


def confirm_page(authtoken: str, return_to: str | None, language: str) -> Response[str]:
    """The page the email link opens: a form that confirms by POST (by script in ``auto`` mode)."""
    _ = Text(language)
    site = brand().site_name
    auto = settings.bazaarvoice().confirm_mode == "auto"
    label = _("Confirm my email address")
    if auto:
        lead = _("We are confirming the email address you gave with your review on {site}.", site=site)
        button = render("confirm_noscript.html", press=_("Press the button to finish."), label=label)
        status = render("status.html", confirming=_("Confirming your email address…"))
    else:
        lead = _("Press the button to confirm the email address you gave with your review on {site}.", site=site)
        button, status = render("confirm_button.html", label=label), _NOTHING
    heading = _("Confirm your email address")
    content = render(
        "confirm.html",
        heading=heading,
        lead=lead,
        bv_authtoken=authtoken,
        fields=_fields(_, return_to),
        button=button,
        status=status,
        reassurance=_("This page only confirms your email address. It never asks for a password or payment details."),
    )
    return _page(_, 200, heading, content, tone="pending", auto_submit=auto)


def confirmed_page(confirmation: Confirmation, return_to: str | None, language: str) -> Response[str]:
    """Success, first time or again; with a link (never a timed redirect) back to an allow-listed ``return_to``."""
    _ = Text(language)
    action = (
        render("return_link.html", return_to=return_to, label=_("Continue to {site}", site=brand().site_name))
        if return_to
        else _NOTHING
    )
    close = _("You can close this page.")
    if confirmation.already_confirmed:
        content = _notice(
            _("Your email address is already confirmed"),
            _("You confirmed it earlier with this link, so there is nothing more to do."),
            note=close,
            action=action,
        )
        return _page(_, 200, _("Already confirmed"), content, tone="ok")
    content = _notice(
        _("Your email address is confirmed"),
        _(
            "Thank you! What you submitted will now go through our usual review, "
            "and you will not need to confirm your address again for a while."
        ),
        note=close,
        action=action,
    )
    return _page(_, 200, _("Email address confirmed"), content, tone="ok")


def error_page(error: ServiceError, authtoken: str | None, return_to: str | None, language: str) -> Response[str]:
    """The page for a failure, with the error's status and headers (``Retry-After``)."""
    _ = Text(language)
    headers = error.response_headers()
    if isinstance(error, InvalidRequest):
        content = _notice(
            _("This link is incomplete"),
            _("The confirmation link seems to have been cut short, so we cannot tell which address to confirm."),
            _(
                "Please open the link from the email again. If your email program breaks it across "
                "lines, copy the whole address into your browser."
            ),
        )
        return _page(_, error.status, _("Incomplete link"), content, tone="problem", headers=headers)
    if isinstance(error, TokenInvalid):
        content = _notice(
            _("This link has expired or was already used"),
            _("Confirmation links work only once, and only for a limited time."),
            _(
                "If you still need to confirm your email address, submit your review again "
                "and we will send you a new link."
            ),
        )
        return _page(_, error.status, _("Link expired"), content, tone="problem", headers=headers)
    retry = (
        render("retry.html", bv_authtoken=authtoken, fields=_fields(_, return_to), label=_("Try again"))
        if authtoken
        else _NOTHING
    )
    if isinstance(error, VendorRateLimited):
        content = _notice(
            _("Too many confirmations at once"),
            _("A lot of people are confirming right now. Nothing is lost: your link still works."),
            _("Please wait about a minute, then try again."),
            action=retry,
        )
        return _page(_, error.status, _("Please try again shortly"), content, tone="problem", headers=headers)
    content = _notice(
        _("We could not confirm your email address just now"),
        _cause(_, error),
        _("Nothing is lost: your link still works. Please try again in a moment."),
        action=retry,
    )
    return _page(_, error.status, _("Please try again"), content, tone="problem", headers=headers)


def _cause(_: Text, error: ServiceError) -> Markup:
    """What went wrong, in the shopper's terms."""
    if isinstance(error, VendorTimeout):
        return _("Our review partner took too long to answer, so your address is not confirmed yet.")
    if isinstance(error, VendorUnavailable):
        return _("Our review partner cannot be reached at the moment, so your address is not confirmed yet.")
    if isinstance(error, VendorRejected):
        return _("Our review partner did not answer as expected, so your address is not confirmed yet.")
    return _("Something went wrong on our side, so your address is not confirmed yet.")
