"""Small pages that emailed links open when no separate frontend serves them.

They hold no data: a script on the page sends the link's token to /graphql, so a
mail scanner that merely fetches the link confirms nothing.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from models.notifications import NotificationKind
from resolvers import newsletters, notification_mail
from services.addresses import AddressVault
from services.markdown import Renderer
from services.settings import Settings
from web.middleware import CLIENT_IP

_CONFIRM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Confirm your email address</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}
button{font:inherit;padding:.5rem 1rem}</style></head>
<body><h1>Confirm your email address</h1>
<p id="status">Press the button to confirm the address this link was sent to.</p>
<button id="confirm" type="button">Confirm my address</button>
<script>
const status = document.getElementById("status");
const button = document.getElementById("confirm");
const token = new URLSearchParams(location.search).get("token") || "";
const query = "mutation($t:String!){confirmEmail(input:{token:$t})" +
  "{user{username}userErrors{message}}}";
button.addEventListener("click", async () => {
  button.disabled = true;
  const response = await fetch("/graphql", {method: "POST", credentials: "same-origin",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({query, variables: {t: token}})});
  const result = (await response.json()).data?.confirmEmail;
  status.textContent = result && result.user
    ? "Thank you, " + result.user.username + ": your address is confirmed. You can sign in now."
    : (result?.userErrors?.[0]?.message || "Something went wrong; please try again later.");
});
</script></body></html>
"""


_OUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>You are leaving the forum</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto;padding:0 1rem}}
code{{word-break:break-all}}</style></head>
<body><h1>You are leaving the forum</h1>
<p>This link goes to another website:</p>
<p><code>{url}</code></p>
<p>That site is not ours: our privacy policy does not apply there, and what it
collects about you is up to its owners.</p>
<p><a href="{href}" rel="nofollow ugc noopener noreferrer">Continue to {host}</a>
&nbsp;or&nbsp; <a href="/">stay here</a>.</p>
</body></html>
"""

_BAD_LINK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not valid</title></head>
<body><h1>This link is not valid</h1>
<p>It was not made by this forum, or it has been changed. Nothing was opened.</p>
</body></html>
"""


def out_page_route(renderer: Renderer) -> Route:
    """The interstitial every external link in a message goes through."""

    async def out_page(request: Request) -> HTMLResponse:
        url = request.query_params.get("url", "")
        signature = request.query_params.get("sig", "")
        parts = urlsplit(url)
        valid = (
            renderer.verify(url, signature)
            and parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and not any(ch in url for ch in "\r\n\x00")
        )
        if not valid:
            return HTMLResponse(_BAD_LINK_PAGE, status_code=400)
        page = _OUT_PAGE.format(
            url=html.escape(url),
            href=html.escape(url, quote=True),
            host=html.escape(parts.hostname or ""),
        )
        return HTMLResponse(page)

    return Route("/out", out_page, methods=["GET"])


_UNSUBSCRIBE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Unsubscribe</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto">
<h1>{title}</h1><p>{text}</p>{form}</body></html>
"""
_UNSUBSCRIBE_FORM = '<form method="post"><button type="submit">Unsubscribe</button></form>'


def unsubscribe_route(settings: Settings, vault: AddressVault) -> Route:
    """One-click unsubscribe (RFC 8058): GET shows a button, POST unsubscribes; no sign-in."""

    async def unsubscribe_page(request: Request) -> HTMLResponse:
        user_id = request.query_params.get("u", "")
        signature = request.query_params.get("sig", "")
        valid = (
            user_id.isascii()
            and user_id.isdigit()
            and len(user_id) < 19
            and newsletters.unsubscribe_link_ok(settings, int(user_id), signature)
        )
        if not valid:
            page = _UNSUBSCRIBE_PAGE.format(
                title="This link is not valid", text="It was not made by this forum.", form=""
            )
            return HTMLResponse(page, status_code=400)
        if request.method == "GET":
            text = "Press the button to stop receiving our newsletters."
            page = _UNSUBSCRIBE_PAGE.format(title="Unsubscribe", text=text, form=_UNSUBSCRIBE_FORM)
            return HTMLResponse(page)
        client = vault.columns(
            request.scope.get(CLIENT_IP, ""), request.headers.get("user-agent", "")
        )
        await newsletters.unsubscribe(client, int(user_id))
        text = "You will get no more newsletters. You can opt in again in your account."
        return HTMLResponse(_UNSUBSCRIBE_PAGE.format(title="Unsubscribed", text=text, form=""))

    return Route("/unsubscribe", unsubscribe_page, methods=["GET", "POST"])


def notification_unsubscribe_route(settings: Settings) -> Route:
    """One-click unsubscribe from one kind of notification mail (RFC 8058): GET shows a
    button, POST unsubscribes; no sign-in."""

    async def unsubscribe_page(request: Request) -> HTMLResponse:
        user_id = request.query_params.get("u", "")
        kind = _kind(request.query_params.get("k", ""))
        signature = request.query_params.get("sig", "")
        valid = (
            kind is not None
            and user_id.isascii()
            and user_id.isdigit()
            and len(user_id) < 19
            and notification_mail.unsubscribe_link_ok(settings, int(user_id), kind, signature)
        )
        if not valid or kind is None:
            page = _UNSUBSCRIBE_PAGE.format(
                title="This link is not valid", text="It was not made by this forum.", form=""
            )
            return HTMLResponse(page, status_code=400)
        if request.method == "GET":
            text = "Press the button to stop these notification mails."
            page = _UNSUBSCRIBE_PAGE.format(title="Unsubscribe", text=text, form=_UNSUBSCRIBE_FORM)
            return HTMLResponse(page)
        await notification_mail.unsubscribe(int(user_id), kind)
        text = "You will get no more mails of this kind. You can turn them on in your settings."
        return HTMLResponse(_UNSUBSCRIBE_PAGE.format(title="Unsubscribed", text=text, form=""))

    return Route(notification_mail.UNSUBSCRIBE_PATH, unsubscribe_page, methods=["GET", "POST"])


def _kind(value: str) -> NotificationKind | None:
    try:
        return NotificationKind(value)
    except ValueError:
        return None


_RESET_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Choose a new password</title></head>
<body style="font:16px/1.5 system-ui,sans-serif;max-width:34rem;margin:4rem auto">
<h1>Choose a new password</h1>
<p><label>New password (at least 10 characters)<br>
<input id="password" type="password" autocomplete="new-password" minlength="10"></label></p>
<button id="reset" type="button">Set password</button>
<p id="status"></p>
<script>
const token = new URLSearchParams(location.search).get("token") || "";
const query = "mutation($t:String!,$p:String!){resetPassword(input:{token:$t,newPassword:$p})" +
  "{userErrors{message}}}";
document.getElementById("reset").addEventListener("click", async () => {
  const password = document.getElementById("password").value;
  const response = await fetch("/graphql", {method: "POST", credentials: "same-origin",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({query, variables: {t: token, p: password}})});
  const errors = (await response.json()).data?.resetPassword?.userErrors;
  document.getElementById("status").textContent = errors && errors.length === 0
    ? "Your password is set. Sign in with it now." : (errors?.[0]?.message || "Please try again.");
});
</script></body></html>
"""


async def reset_password_page(_: Request) -> HTMLResponse:
    """The page behind the link in a password-reset email."""
    return HTMLResponse(_RESET_PAGE)


async def confirm_email_page(_: Request) -> HTMLResponse:
    """The page behind the link in a confirmation email."""
    return HTMLResponse(_CONFIRM_PAGE)


def page_routes() -> list[Route]:
    """Routes for the pages above."""
    return [
        Route("/confirm-email", confirm_email_page, methods=["GET"]),
        Route("/reset-password", reset_password_page, methods=["GET"]),
    ]
