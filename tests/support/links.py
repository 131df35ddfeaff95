"""Links in messages in tests: the signed /out link a message shows for an external URL,
and a reply posted and read back as a signed-out reader gets it (section H)."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import urlencode

from services.markdown import Renderer
from services.settings import Settings
from tests.support.forum import new_forum, open_thread, reply
from tests.support.harness import Client
from tests.support.members import member


def external(settings: Settings, url: str, text: str) -> str:
    """The HTML of a link to another site, as a message renders it."""
    href = out_href(settings, url)
    return f'<a href="{href}" rel="nofollow ugc noopener" class="external">{text}</a>'


async def replied(gql: Client, body: str) -> dict[str, Any]:
    """Post `body` as a reply in a new thread; return the thread's messages as a
    signed-out reader gets them."""
    return await gql(READ_THREAD, {"id": await post_reply(gql, body)})


def thread_with_reply(body: str, body_html: str) -> dict[str, Any]:
    """READ_THREAD's answer: the opening post, then the reply."""
    opening = {"body": "Opening post", "bodyHtml": "<p>Opening post</p>\n"}
    edges = [{"node": opening}, {"node": {"body": body, "bodyHtml": body_html}}]
    return {"data": {"thread": {"messages": {"edges": edges}}}}


def href_in(body_html: str) -> str:
    """The (unescaped) href of the only link in some HTML."""
    (href,) = re.findall(r'href="([^"]+)"', body_html)
    return html.unescape(href)


def out_href(settings: Settings, url: str) -> str:
    """The signed /out link a message shows for an external URL, as it appears in HTML."""
    signature = Renderer(settings.public_url, settings.key).signature(url)
    return html.escape("/out?" + urlencode({"url": url, "sig": signature}))


READ_THREAD = """query($id: ID!) {
  thread(id: $id) { messages { edges { node { body bodyHtml } } } }
}"""


async def post_reply(gql: Client, body: str) -> str:
    """As ada, open a thread and post `body` in it with postMessage; return the thread ID."""
    await member(gql, "ada")
    thread_id, _ = await open_thread(gql, "ada", await new_forum(), "Payload", "Opening post")
    await reply(gql, "ada", thread_id, body)
    return thread_id
