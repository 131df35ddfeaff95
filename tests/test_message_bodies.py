"""Message bodies: Markdown to sanitised HTML, links to other sites through the signed
/out interstitial, and that page itself."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

import pytest

from services.markdown import Renderer
from services.settings import Settings
from tests.support.forum import new_forum, open_thread
from tests.support.harness import Client
from tests.support.members import member

READ = """query($id: ID!) {
  thread(id: $id) { messages { edges { node { body bodyHtml } } } }
}"""


async def posted(gql: Client, body: str) -> dict[str, Any]:
    """Post a body as the first message of a thread; return it as a signed-out reader sees it."""
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), "Payload", body)
    response = await gql(READ, {"id": thread_id})
    (edge,) = response["data"]["thread"]["messages"]["edges"]
    return edge["node"]


def out_href(settings: Settings, url: str) -> str:
    """The /out link a message shows for an external URL, as it appears in HTML."""
    signature = Renderer(settings.public_url, settings.key).signature(url)
    return html.escape("/out?" + urlencode({"url": url, "sig": signature}))


DANGER = re.compile(
    r"<\s*(script|img|svg|iframe|object|embed|animate)|\son\w+\s*=|javascript:|vbscript:|data:",
    re.IGNORECASE,
)

# SECURITY H4: each payload, and the only HTML it may become.
PAYLOADS = [
    ("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"),
    ("<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"),
    ("[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>\n"),
    ("[x](JaVaScRiPt:alert(1))", "<p>[x](JaVaScRiPt:alert(1))</p>\n"),
    # The tab is kept percent-encoded: a relative path on this site, not a scheme.
    ("[x](jav&#x09;ascript:alert(1))", '<p><a href="jav%09ascript:alert(1)">x</a></p>\n'),
    (
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<p>[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)</p>\n",
    ),
    (
        '<a href="vbscript:msgbox(1)">x</a>',
        '<p>&lt;a href="vbscript:msgbox(1)"&gt;x&lt;/a&gt;</p>\n',
    ),
    ("<svg><animate onbegin=alert(1)>", "<p>&lt;svg&gt;&lt;animate onbegin=alert(1)&gt;</p>\n"),
    (
        '<iframe srcdoc="<script>alert(1)</script>">',
        '<p>&lt;iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"&gt;</p>\n',
    ),
]


@pytest.mark.parametrize(("body", "expected"), PAYLOADS)
async def test_markup_and_script_links_in_a_body_render_inert(
    gql: Client, body: str, expected: str
) -> None:
    message = await posted(gql, body)

    assert message == {"body": body, "bodyHtml": expected}
    live = " ".join(re.findall(r"<[^>]*>", message["bodyHtml"]))  # tags, not escaped text
    assert DANGER.findall(live) == []


async def test_the_source_text_comes_back_unchanged(gql: Client) -> None:
    body = 'A <b>"quote"</b> & an **emphasis**\n\n- item'

    message = await posted(gql, body)

    assert message == {
        "body": body,
        "bodyHtml": '<p>A &lt;b&gt;"quote"&lt;/b&gt; &amp; an <strong>emphasis</strong>'
        "</p>\n<ul>\n<li>item</li>\n</ul>\n",
    }


# ------------------------------------------------------------------ links


async def test_a_link_to_another_site_goes_through_the_signed_out_page(
    gql: Client, settings: Settings
) -> None:
    url = "https://example.com/a?b=1&c=2"

    message = await posted(gql, f"[elsewhere]({url})")

    href = out_href(settings, url)
    assert message["bodyHtml"] == (
        f'<p><a href="{href}" rel="nofollow ugc noopener" class="external">elsewhere</a></p>\n'
    )


async def test_an_autolink_to_another_site_goes_through_the_out_page(
    gql: Client, settings: Settings
) -> None:
    message = await posted(gql, "<https://example.com>")

    href = out_href(settings, "https://example.com")
    assert message["bodyHtml"] == (
        f'<p><a href="{href}" rel="nofollow ugc noopener" class="external">'
        "https://example.com</a></p>\n"
    )


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/forum/recipes", "/forum/recipes", "mailto:ada@example.org"]
)
async def test_links_to_this_site_and_mail_links_are_left_alone(gql: Client, url: str) -> None:
    message = await posted(gql, f"[here]({url})")

    assert message["bodyHtml"] == f'<p><a href="{url}">here</a></p>\n'


async def test_an_image_renders_as_a_link_and_loads_nothing(
    gql: Client, settings: Settings
) -> None:
    url = "https://tracker.example/p.png?u=victim"

    message = await posted(gql, f"![pixel]({url})")

    href = out_href(settings, url)
    assert message["bodyHtml"] == (
        f'<p>!<a href="{href}" rel="nofollow ugc noopener" class="external">pixel</a></p>\n'
    )


# ------------------------------------------------------------------ the /out page


async def test_the_out_page_says_where_a_signed_link_leads_without_redirecting(
    gql: Client, settings: Settings
) -> None:
    message = await posted(gql, "[elsewhere](https://example.com/a?b=1&c=2)")
    href = html.unescape(re.search(r'href="([^"]+)"', message["bodyHtml"])[1])  # type: ignore[index]

    response = await gql.request("GET", href)

    assert (response.status_code, response.headers["content-type"]) == (
        200,
        "text/html; charset=utf-8",
    )
    assert "location" not in response.headers
    text = response.text
    assert "<h1>You are leaving the forum</h1>" in text
    assert "our privacy policy does not apply there" in text
    assert "<p><code>https://example.com/a?b=1&amp;c=2</code></p>" in text
    assert (
        '<a href="https://example.com/a?b=1&amp;c=2" rel="nofollow ugc noopener noreferrer">'
        "Continue to example.com</a>"
    ) in text


async def test_the_out_page_escapes_the_url_it_shows(gql: Client, settings: Settings) -> None:
    url = 'https://example.com/?q="><script>alert(1)</script>'
    signature = Renderer(settings.public_url, settings.key).signature(url)

    response = await gql.request("GET", "/out", params={"url": url, "sig": signature})

    assert response.status_code == 200
    assert "<script>" not in response.text
    escaped = "https://example.com/?q=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert f"<p><code>{escaped}</code></p>" in response.text


def _bad_links(settings: Settings) -> dict[str, dict[str, str]]:
    """Query strings /out must refuse, each named for what is wrong with it."""
    renderer = Renderer(settings.public_url, settings.key)

    def signed(url: str) -> dict[str, str]:
        return {"url": url, "sig": renderer.signature(url)}

    good = signed("https://example.com/")
    return {
        "another url under a real signature": {**good, "url": "https://evil.example/"},
        "a changed signature": {**good, "sig": "0" * 32},
        "no signature": {"url": good["url"]},
        "no url": {"sig": good["sig"]},
        "a signed javascript: url": signed("javascript:alert(1)"),
        "a signed data: url": signed("data:text/html,<script>alert(1)</script>"),
        "a signed url without a host": signed("https:evil.example"),
        "a signed protocol-relative url": signed("//evil.example/"),
        "a signed url with CRLF": signed("https://example.com/\r\nSet-Cookie: x=1"),
    }


BAD_LINK_CASES = [
    "another url under a real signature",
    "a changed signature",
    "no signature",
    "no url",
    "a signed javascript: url",
    "a signed data: url",
    "a signed url without a host",
    "a signed protocol-relative url",
    "a signed url with CRLF",
]


@pytest.mark.parametrize("case", BAD_LINK_CASES)
async def test_the_out_page_refuses_a_link_it_did_not_sign_as_is(
    gql: Client, settings: Settings, case: str
) -> None:
    params = _bad_links(settings)[case]

    response = await gql.request("GET", "/out", params=params)

    assert (response.status_code, "location" in response.headers) == (400, False)
    assert "<h1>This link is not valid</h1>" in response.text
    assert "Continue to" not in response.text
