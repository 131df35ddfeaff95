"""The GraphiQL page loads only our own, integrity-checked copies of its assets."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from web.graphiql import (
    ASSET_URL_PREFIX,
    GraphiQLAssetError,
    asset_routes,
    graphiql_page,
    localize_asset_urls,
)

BREAKOUT = "{ me { id } }</script><script>alert(1)</script>"


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str, str | None]] = []
        self.inline_scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for attr in ("src", "href"):
            if values.get(attr) is not None:
                self.resources.append((tag, values[attr], values.get("integrity")))
        self._in_inline_script = tag == "script" and "src" not in values
        if self._in_inline_script:
            self.inline_scripts.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False

    def handle_data(self, data):
        if self._in_inline_script:
            self.inline_scripts[-1] += data


def parse(page: str) -> _PageParser:
    parser = _PageParser()
    parser.feed(page)
    parser.close()
    return parser


def sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def vendored_assets(page: str) -> list[tuple[str, str, str | None]]:
    return [
        resource
        for resource in parse(page).resources
        if resource[0] in ("script", "link") and resource[1].startswith(ASSET_URL_PREFIX + "/")
    ]


def editor_query(page: str) -> str:
    (script,) = parse(page).inline_scripts
    match = re.search(r"^\s*const EXAMPLE_QUERY = (.*);$", script, re.MULTILINE)
    assert match is not None
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def client():
    with TestClient(Starlette(routes=asset_routes())) as test_client:
        yield test_client


def test_every_asset_is_served_with_its_integrity_hash(client):
    assets = vendored_assets(graphiql_page("{ __typename }"))

    assert len(assets) == 7
    for _tag, url, integrity in assets:
        response = client.get(url)
        assert response.status_code == 200, url
        assert integrity is not None, url
        assert sha384(response.content) == integrity, url


def test_assets_are_served_immutable_with_script_and_style_types(client):
    for _tag, url, _integrity in vendored_assets(graphiql_page("")):
        response = client.get(url)
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
        expected = "text/css" if url.endswith(".css") else "javascript"
        assert expected in response.headers["content-type"], url


def test_unknown_asset_path_is_not_found(client):
    assert client.get(f"{ASSET_URL_PREFIX}/react@18.2.0/nope.js").status_code == 404


def test_page_loads_nothing_over_https():
    page = graphiql_page("{ __typename }")

    for tag, url, _integrity in parse(page).resources:
        assert "https://" not in url, (tag, url)
        assert not url.startswith("//"), (tag, url)


def test_page_never_mentions_unpkg():
    assert "unpkg" not in graphiql_page("{ __typename }")


def test_default_query_is_prefilled_in_the_editor():
    page = graphiql_page("query Feed { threads { title } }")

    assert editor_query(page) == "query Feed { threads { title } }"
    assert "defaultQuery: EXAMPLE_QUERY" in page


def test_default_query_is_chosen_per_call():
    assert editor_query(graphiql_page("{ a }")) == "{ a }"
    assert editor_query(graphiql_page("{ b }")) == "{ b }"


def test_script_end_tag_in_query_cannot_break_out_of_the_inline_script():
    page = graphiql_page(BREAKOUT)
    (script,) = parse(page).inline_scripts

    assert "</script" not in script.lower()
    assert "<script" not in script.lower()
    assert page.count("</script>") == graphiql_page("").count("</script>")
    assert editor_query(page) == BREAKOUT


@pytest.mark.parametrize(
    "query",
    [
        "`${alert(1)}`",
        '"; alert(1); "',
        "<!-- <script>",
        "line\u2028separator\u2029paragraph",
        "\\u003c/script> & \\",
        "# 🍓 ünïcödé",
    ],
)
def test_awkward_queries_round_trip_unchanged(query):
    assert editor_query(graphiql_page(query)) == query


@pytest.mark.parametrize(
    "resource",
    [
        '<script src="https://cdn.example.com/x.js"></script>',
        '<link rel="stylesheet" href="//cdn.example.com/x.css">',
        '<script src="http://cdn.example.com/x.js"></script>',
    ],
)
def test_third_party_asset_left_in_the_page_is_refused(resource):
    with pytest.raises(GraphiQLAssetError):
        localize_asset_urls(f"<html><head>{resource}</head></html>")


def test_unpkg_urls_are_rewritten_keeping_integrity_and_crossorigin():
    page = localize_asset_urls(
        '<script crossorigin src="https://unpkg.com/@scope/pkg@1.2.3/dist/a.js"'
        ' integrity="sha384-abc"></script>'
    )

    assert page == (
        f'<script crossorigin src="{ASSET_URL_PREFIX}/@scope/pkg@1.2.3/dist/a.js"'
        ' integrity="sha384-abc"></script>'
    )
