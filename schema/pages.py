"""Small pages that emailed links open when no separate frontend serves them.

They hold no data: a script on the page sends the link's token to /graphql, so a
mail scanner that merely fetches the link confirms nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

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


async def confirm_email_page(_: Request) -> HTMLResponse:
    """The page behind the link in a confirmation email."""
    return HTMLResponse(_CONFIRM_PAGE)


def page_routes() -> list[Route]:
    """Routes for the pages above."""
    return [Route("/confirm-email", confirm_email_page, methods=["GET"])]
