"""Message bodies: CommonMark to safe HTML, with links to other sites sent via /out.

markdown-it-py renders (raw HTML off, images shown as links so no remote pixel
loads in a reader's browser); nh3 (the Ammonia sanitiser) then keeps only an
allow-list of tags, attributes and URL schemes. A link to another host is
rewritten to our interstitial `/out?url=...&sig=...`, signed so the page cannot
serve as an open redirect. `@username` becomes a link to that member's profile page
when the caller says the name exists (outside code and links; other names stay text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import SplitResult, parse_qs, urlencode, urlsplit

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token

from services.tokens import sign, signed_by_any

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
# @name: a username (3-30 of A-Z a-z 0-9 _ . -) not ending in . or - (so "@ada." at the
# end of a sentence names ada), not preceded by a word character (so no email address).
MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.-]{1,28}[A-Za-z0-9_])")
MEMBERS_PATH = "/members/"
SIGNATURE_DIGITS = 32
# An /out link as nh3 writes it into stored HTML (its query escaped, in double quotes).
_OUT_HREF = re.compile(r'href="/out\?([^"]*)"')


_MENTION_LINK = re.compile(r'<a href="[^"]*/members/([A-Za-z0-9_.-]+)" class="mention">')


def mentioned_in(body_html: str) -> set[str]:
    """The usernames a rendered body links as mentions (not names in code or links)."""
    return set(_MENTION_LINK.findall(body_html))


def mention_candidates(body: str) -> list[str]:
    """The names a body may mention, lower-cased, in order of first appearance."""
    return list(dict.fromkeys(match.lower() for match in MENTION.findall(body)))


def origin(parts: SplitResult) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of an absolute URL, or None when it has no readable host."""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is no number, or out of range
        return None
    return (scheme, host, port) if host else None


class Renderer:
    """Renders message bodies for one site (its public URL and signing key; links signed
    under older keys still verify while a key rotation runs)."""

    def __init__(self, public_url: str, key: bytes, older: Sequence[bytes] = ()) -> None:
        self.origin = origin(urlsplit(public_url))
        self.public_url = public_url.rstrip("/")
        self.key = key
        self.keys = (key, *older)
        self._md = MarkdownIt("commonmark", {"html": False}).disable("image")
        self._md.renderer.rules["link_open"] = self._link_open
        self._md.core.ruler.after("inline", "mentions", _link_mentions)

    def render(self, body: str, members: dict[str, str] | None = None) -> str:
        """Safe HTML for a Markdown body; `members` maps the lower-cased names it may link
        as mentions to the members' usernames."""
        env = {"members": members or {}, "profile": self.public_url + MEMBERS_PATH}
        html = self._md.render(body, env)
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
        return sign(self.key, "out:" + url)[:SIGNATURE_DIGITS]

    def verify(self, url: str, signature: str) -> bool:
        """Was this URL signed by us (under any of our keys)?"""
        return signed_by_any(self.keys, "out:" + url, signature, SIGNATURE_DIGITS)

    def resign(self, body_html: str) -> str:
        """Stored HTML with every /out link signed under the current key (a link that
        verifies under none of our keys is left as it is)."""

        def resigned(match: re.Match[str]) -> str:
            query = parse_qs(html.unescape(match.group(1)))
            url, signature = query.get("url", [""])[0], query.get("sig", [""])[0]
            if not self.verify(url, signature):
                return match.group(0)
            return f'href="{html.escape(self.out_link(url), quote=True)}"'

        return _OUT_HREF.sub(resigned, body_html)

    def _link_open(self, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        href = str(token.attrGet("href") or "")
        if self.is_external(href):
            token.attrSet("href", self.out_link(href))
            token.attrSet("rel", EXTERNAL_REL)
            token.attrSet("class", "external")
        return self._md.renderer.renderToken(tokens, idx, options, env)


def _link_mentions(state: Any) -> None:
    """Core rule: split text tokens at @names the env lists into profile links (never
    inside a link; code spans are no text tokens, so they stay as written)."""
    members: dict[str, str] = state.env.get("members") or {}
    if not members:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, depth = [], 0
        for token in block.children:
            depth += {"link_open": 1, "link_close": -1}.get(token.type, 0)
            if token.type == "text" and depth == 0 and "@" in token.content:
                children += _split(token, members, state.env["profile"])
            else:
                children.append(token)
        block.children = children


def _split(token: Token, members: dict[str, str], profile: str) -> list[Token]:
    parts: list[Token] = []
    text, start = token.content, 0
    for match in MENTION.finditer(text):
        username = members.get(match.group(1).lower())
        if username is None:
            continue
        if match.start() > start:
            parts.append(_text(text[start : match.start()]))
        link = Token("link_open", "a", 1, attrs={"href": profile + username, "class": "mention"})
        parts += [link, _text(match.group(0)), Token("link_close", "a", -1)]
        start = match.end()
    if start < len(text):
        parts.append(_text(text[start:]))
    return parts


def _text(content: str) -> Token:
    return Token("text", "", 0, content=content)
