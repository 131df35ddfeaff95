"""Message bodies: CommonMark to safe HTML, with links to other sites sent via /out.

markdown-it-py renders (raw HTML off, images shown as links so no remote pixel
loads in a reader's browser); nh3 (the Ammonia sanitiser) then keeps only an
allow-list of tags, attributes and URL schemes. A link to another host is
rewritten to our interstitial `/out?url=...&sig=...`, signed so the page cannot
serve as an open redirect.
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from services.tokens import sign

TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "rel", "class", "title"}, "ol": {"start"}, "code": {"class"}}
SCHEMES = {"http", "https", "mailto"}
EXTERNAL_REL = "nofollow ugc noopener"
OUT_PATH = "/out"
DEFAULT_PORTS = {"http": 80, "https": 443}
# What a browser drops before parsing a link: tabs and newlines anywhere, and C0
# controls and spaces at either end (the URL standard's own clean-up).
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_C0_OR_SPACE = "".join(chr(code) for code in range(0x21))
# Two slashes or backslashes in any mix: the browser reads a host after them.
_HOST_FOLLOWS = re.compile(r"[/\\]{2}")


def origin(parts: SplitResult) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an absolute URL, or None when it has no readable host."""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is no number, or out of range
        return None
    return (scheme, host, port) if host else None


class Renderer:
    """Renders message bodies for one site (its public URL and signing key)."""

    def __init__(self, public_url: str, key: bytes) -> None:
        self.origin = origin(urlsplit(public_url))
        self.key = key
        self._md = MarkdownIt("commonmark", {"html": False}).disable("image")
        self._md.renderer.rules["link_open"] = self._link_open

    def render(self, body: str) -> str:
        """Safe HTML for a Markdown body."""
        html = self._md.render(body)
        return nh3.clean(
            html,
            tags=TAGS,
            attributes=ATTRIBUTES,
            url_schemes=SCHEMES,
            link_rel=None,  # set per link above: ours stay plain, others get EXTERNAL_REL
            strip_comments=True,
        )

    def is_external(self, url: str) -> bool:
        """Does the link leave this site? Only relative links (a path, `?query`, `#part`),
        mailto and absolute URLs of exactly this site's origin (scheme, host and port)
        stay; `//host`, `///host` and `/\\host` are other sites to a browser."""
        text = _TAB_OR_NEWLINE.sub("", url).strip(_C0_OR_SPACE)
        if _HOST_FOLLOWS.match(text):
            return True
        parts = urlsplit(text)
        if parts.scheme.lower() == "mailto":
            return False
        if not parts.scheme and not parts.netloc:
            return False  # a path, query or fragment on this site
        return self.origin is None or origin(parts) != self.origin

    def out_link(self, url: str) -> str:
        """The signed interstitial link for an external URL."""
        return f"{OUT_PATH}?{urlencode({'url': url, 'sig': self.signature(url)})}"

    def signature(self, url: str) -> str:
        """The signature that lets /out show this URL."""
        return sign(self.key, "out:" + url)[:32]

    def verify(self, url: str, signature: str) -> bool:
        """Was this URL signed by us?"""
        return hmac.compare_digest(self.signature(url), signature)

    def _link_open(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        if self.is_external(href):
            token.attrSet("href", self.out_link(href))
            token.attrSet("rel", EXTERNAL_REL)
            token.attrSet("class", "external")
        return self._md.renderer.renderToken(tokens, idx, options, env)
