"""Strawberry's GraphiQL page, served entirely from our own origin.

Strawberry's template pulls React, GraphiQL and friends from unpkg.com. We
vendor byte-identical copies (see ``scripts/vendor-graphiql``) so the IDE works
offline and no visitor's browser ever talks to a third-party host, while the
template's sha384 ``integrity=`` checks stay in force.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope
from strawberry.http.ides import get_graphql_ide_html

__all__ = [
    "ASSET_DIR",
    "ASSET_URL_PREFIX",
    "GraphiQLAssetError",
    "asset_routes",
    "graphiql_page",
    "localize_asset_urls",
]

ASSET_DIR: Path = Path(__file__).resolve().parent / "static" / "graphiql"
ASSET_URL_PREFIX = "/graphiql-assets"

# Every asset path embeds "<pkg>@<version>", so a URL's bytes never change.
_CACHE_CONTROL = "public, max-age=31536000, immutable"

_UNPKG_URL = re.compile(r"https://unpkg\.com/(?P<path>(?:@[\w.-]+/)?[\w.-]+@[\w.-]+/[^\s\"'<>]+)")
# Strawberry's template seeds the editor from this template literal; we swap
# its value for the caller's query so the rest of the page logic (``?q=``
# sharing, URL updates) keeps working unchanged.
_EXAMPLE_QUERY = re.compile(r"const EXAMPLE_QUERY = `[^`]*`;")
_QUERY_HEAD = "const EXAMPLE_QUERY = "
_QUERY_TAIL = ";"
_GRAPHIQL_PROPS = "React.createElement(GraphiQL, {"
# ``query`` wins over ``defaultQuery`` for the first tab, but GraphiQL uses
# ``defaultQuery`` for every tab the user opens later, so pass it as well.
_DEFAULT_QUERY_PROP = _GRAPHIQL_PROPS + "\n          defaultQuery: EXAMPLE_QUERY,"


class GraphiQLAssetError(RuntimeError):
    """The GraphiQL page would load something we do not serve ourselves."""


class _ImmutableStaticFiles(StaticFiles):
    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = _CACHE_CONTROL
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


class _ResourceCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        # (tag, url, integrity) for every src=/href= in the document.
        self.resources: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for attr in ("src", "href"):
            url = values.get(attr)
            if url is not None:
                self.resources.append((tag, url.strip(), values.get("integrity")))


def _resources(page: str) -> list[tuple[str, str, str | None]]:
    collector = _ResourceCollector()
    collector.feed(page)
    collector.close()
    return collector.resources


def localize_asset_urls(ide_html: str) -> str:
    """Point every unpkg.com URL in ``ide_html`` at ``ASSET_URL_PREFIX``.

    Attributes such as ``integrity`` and ``crossorigin`` are left untouched.
    Raises ``GraphiQLAssetError`` if the result would still make the browser
    fetch anything from another origin.
    """
    page = _UNPKG_URL.sub(lambda m: f"{ASSET_URL_PREFIX}/{m['path']}", ide_html)
    for _tag, url, _integrity in _resources(page):
        parts = urlsplit(url)
        # data: URIs (the favicon) never leave the page; anything else with a
        # scheme or a host, including protocol-relative "//host", would.
        if parts.netloc or (parts.scheme and parts.scheme != "data"):
            raise GraphiQLAssetError(f"GraphiQL page still references {url!r}")
    # Belt and braces for URLs built in inline scripts, which the parser can't see.
    if "https://" in page or "unpkg" in page:
        raise GraphiQLAssetError("GraphiQL page still mentions a third-party URL")
    return page


def _sri_sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def _check_vendored_assets(page: str) -> None:
    # A missing or stale file would only surface as a blank page in the
    # browser (SRI failure); fail on the server where someone will see it.
    for tag, url, integrity in _resources(page):
        if not url.startswith(ASSET_URL_PREFIX + "/"):
            continue
        if not integrity:
            raise GraphiQLAssetError(f"<{tag}> for {url} has no integrity attribute")
        path = ASSET_DIR / url.removeprefix(ASSET_URL_PREFIX + "/")
        if not path.is_file():
            raise GraphiQLAssetError(f"{path} is missing; run scripts/vendor-graphiql")
        if _sri_sha384(path.read_bytes()) != integrity:
            raise GraphiQLAssetError(
                f"{path} does not match {integrity}; run scripts/vendor-graphiql"
            )


@cache
def _page_parts() -> tuple[str, str]:
    # The template and assets are static: rewrite and verify once, then only
    # splice the per-request query literal between the two halves.
    page = localize_asset_urls(get_graphql_ide_html("graphiql"))
    _check_vendored_assets(page)
    slots = list(_EXAMPLE_QUERY.finditer(page))
    if len(slots) != 1 or page.count(_GRAPHIQL_PROPS) != 1:
        raise GraphiQLAssetError(
            "Strawberry's GraphiQL template changed shape; update web/graphiql.py"
        )
    page = page.replace(_GRAPHIQL_PROPS, _DEFAULT_QUERY_PROP)
    head, _, tail = page.partition(slots[0].group())
    return head + _QUERY_HEAD, _QUERY_TAIL + tail


def _js_string_literal(value: str) -> str:
    # JSON is valid JS. ensure_ascii also escapes U+2028/U+2029; escaping < > &
    # means "</script>" or "<!--" in the query cannot end or alter the script
    # element the literal lives in.
    return (
        json.dumps(value, ensure_ascii=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def graphiql_page(default_query: str) -> str:
    """Return Strawberry's GraphiQL HTML with its editor prefilled with ``default_query``.

    All scripts and stylesheets are loaded from ``ASSET_URL_PREFIX`` (mount
    ``asset_routes()`` alongside) with their original integrity hashes. A
    ``?q=`` parameter in the page URL still takes precedence, as upstream.
    Raises ``GraphiQLAssetError`` if the page would load anything from another
    origin or a vendored asset is missing or does not match its hash.
    """
    head, tail = _page_parts()
    return head + _js_string_literal(default_query) + tail


def asset_routes() -> list[BaseRoute]:
    """Return the route serving the vendored GraphiQL assets under ``ASSET_URL_PREFIX``.

    Responses carry a one-year immutable ``Cache-Control`` since every path
    is versioned.
    """
    return [
        Mount(
            ASSET_URL_PREFIX,
            app=_ImmutableStaticFiles(directory=ASSET_DIR),
            name="graphiql-assets",
        )
    ]
