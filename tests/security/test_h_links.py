"""SECURITY.md rows H7/H8, extended by issue 14: which links leave the site.

A browser reads a host after any two slashes or backslashes at the start of a link
(`///evil.example` is https://evil.example), and an absolute URL is this site only at
PUBLIC_URL's exact origin: the same host on another port or scheme is another site.
Every such link must go through the signed /out interstitial with an external `rel`;
the test settings' PUBLIC_URL is http://localhost:8000.
"""

from __future__ import annotations

import pytest

from services.markdown import Renderer
from services.settings import Settings
from tests.support.documents import PUBLIC
from tests.support.harness import Client
from tests.support.links import external, href_in, replied, thread_with_reply

SITE = Renderer(PUBLIC, b"any key: is_external does not sign")

OTHER_SITES = [
    "///evil.example/x",
    "////evil.example",
    "///evil.example:8000/x",
    "http://localhost:9999/admin",  # this host, another port
    "https://localhost:8000/admin",  # this host and port, another scheme
    "http://localhost/admin",  # this host on the scheme's default port
    "http://localhost:8000@evil.example/",  # a user name that looks like this site
]


@pytest.mark.parametrize("link", OTHER_SITES)
async def test_H7_a_link_a_browser_reads_as_another_site_goes_through_out(
    gql: Client, settings: Settings, link: str
) -> None:
    response = await replied(gql, f"[a]({link})")

    assert response == thread_with_reply(
        f"[a]({link})", f"<p>{external(settings, link, 'a')}</p>\n"
    )


@pytest.mark.parametrize("link", ["///evil.example/x", "http://localhost:9999/admin"])
async def test_H7_out_shows_such_a_link_without_redirecting(gql: Client, link: str) -> None:
    response = await replied(gql, f"[a]({link})")
    body_html = response["data"]["thread"]["messages"]["edges"][1]["node"]["bodyHtml"]

    page = await gql.request("GET", href_in(body_html))

    # /out shows http(s) URLs with a host and refuses the rest; it never redirects.
    status = 200 if link.startswith("http") else 400
    assert (page.status_code, "location" in page.headers) == (status, False)


@pytest.mark.parametrize(
    "link",
    [
        "http://localhost:8000/threads/1",
        "HTTP://LOCALHOST:8000/threads/1",  # scheme and host ignore case
        "/threads/1",
        "a/b",
        "#x",
        "?q=1",
    ],
)
async def test_H7_a_link_to_this_sites_exact_origin_or_a_relative_path_stays(
    gql: Client, link: str
) -> None:
    response = await replied(gql, f"[a]({link})")

    assert response == thread_with_reply(f"[a]({link})", f'<p><a href="{link}">a</a></p>\n')


async def test_H7_a_mailto_link_stays_as_it_is(gql: Client) -> None:
    response = await replied(gql, "[write](mailto:help@example.org)")

    body_html = '<p><a href="mailto:help@example.org">write</a></p>\n'
    assert response == thread_with_reply("[write](mailto:help@example.org)", body_html)


# Markdown percent-encodes backslashes and control characters in a link before the
# renderer sees it, so these forms reach is_external only from other callers; the
# rule must hold for them all the same.
RAW_OTHER_SITES = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "\\\\\\evil.example",
    " //evil.example",  # browsers trim spaces and C0 controls at both ends
    "\x00//evil.example",
    "\x1f\\\\evil.example",
    "/\t/evil.example",  # and drop tabs and newlines anywhere
    "/\n\\evil.example",
    "\r//evil.example",
    "https:evil.example",
    "http://localhost:9999/admin",
    "http://localhost:8000:x/",  # a port that is no number
]


@pytest.mark.parametrize("link", RAW_OTHER_SITES)
def test_H7_two_slashes_or_backslashes_in_any_mix_lead_to_another_site(link: str) -> None:
    assert SITE.is_external(link) is True


@pytest.mark.parametrize(
    "link",
    [
        "/threads/1",
        " /threads/1 ",
        "/%5Cevil.example",  # an encoded backslash is part of a path
        "a/b",
        "#x",
        "?q",
        "mailto:help@example.org",
        "http://localhost:8000/threads/1",
        "http://localhost:8000",
    ],
)
def test_H7_relative_links_mailto_and_this_origin_stay_on_the_site(link: str) -> None:
    assert SITE.is_external(link) is False


def test_H7_a_site_on_a_default_port_matches_links_with_or_without_it() -> None:
    renderer = Renderer("https://forum.example", b"k" * 32)

    seen = {
        link: renderer.is_external(link)
        for link in (
            "https://forum.example/a",
            "https://forum.example:443/a",
            "https://FORUM.example/a",
            "http://forum.example/a",
            "https://forum.example:8443/a",
        )
    }

    assert seen == {
        "https://forum.example/a": False,
        "https://forum.example:443/a": False,
        "https://FORUM.example/a": False,
        "http://forum.example/a": True,
        "https://forum.example:8443/a": True,
    }
