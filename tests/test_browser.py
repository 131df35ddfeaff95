"""A real browser opens GraphiQL from this server with no internet, runs a thread page
and a live subscription, and never contacts another host."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from demo import seed
from services.markdown import Renderer
from services.settings import Settings
from tests.support.harness import LOOPBACK_IPS, TEST_IP, assert_no_ip
from web.app import create_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium is not installed (apt-get install chromium); .ci/run installs it",
    ),
]
THREAD_ID = "VGhyZWFkOjE"  # Thread:1 of the demo data
THREAD_PAGE = (
    'query { thread(id: "' + THREAD_ID + '") { title messages(first: 10) '
    "{ edges { node { body author { username } } } } } }"
)
SUBSCRIPTION = (
    'subscription { threadMessageAdded(threadId: "'
    + THREAD_ID
    + '") { body author { username } } }'
)


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[str]:
    """The demo forum served by uvicorn on a free loopback port."""
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", proxy_headers=False,
        access_log=False, ws="websockets",
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # bounded: uvicorn starts in well under 10 s
        if server.started:
            break
        await asyncio.sleep(0.02)
    await seed(Renderer(settings.public_url, settings.key))
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def run_in_graphiql(page, query: str) -> None:
    """Replace the editor's text with `query` and press Run."""
    editor = page.locator(".graphiql-query-editor .CodeMirror").first
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.press("Delete")
    await page.keyboard.insert_text(query)
    await page.wait_for_timeout(600)  # GraphiQL re-parses the editor after a debounce
    await page.locator(".graphiql-execute-button").click()


async def test_graphiql_runs_a_thread_page_and_a_live_subscription_offline(
    site: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = await browser.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.on("websocket", lambda socket: requested.append(socket.url))
        await page.goto(f"{site}/graphql", wait_until="networkidle")
        await page.locator(".graphiql-query-editor").first.wait_for(timeout=15_000)

        await run_in_graphiql(page, THREAD_PAGE)
        result = page.locator(".result-window")
        await result.get_by_text("Starting my journey this week").wait_for(timeout=10_000)

        await run_in_graphiql(page, SUBSCRIPTION)
        await page.wait_for_timeout(1000)  # the subscription is open before anyone posts
        await post_as_bob(site)
        await result.get_by_text("Posted while you watched").wait_for(timeout=10_000)

        await page.screenshot(path=str(tmp_path / "graphiql.png"), full_page=True)
        html = await page.content()
        await browser.close()

    origin = site.removeprefix("http://")
    foreign = [
        url for url in requested
        if not url.startswith((f"http://{origin}/", f"ws://{origin}/", "data:"))
    ]  # fmt: skip
    assert foreign == []
    assert_no_ip(html.replace(origin, "this-server"), {TEST_IP, *LOOPBACK_IPS})


async def post_as_bob(site: str) -> None:
    """Another client signs in as a demo member and replies in the thread."""
    async with httpx.AsyncClient(base_url=site) as client:
        login = await client.post(
            "/graphql",
            json={"query": 'mutation { login(input: {login: "bob", password: "forum-demo-2026"}) '
                  "{ userErrors { code } } }"},
        )  # fmt: skip
        assert login.json() == {"data": {"login": {"userErrors": []}}}
        posted = await client.post(
            "/graphql",
            json={
                "query": "mutation($t: ID!) { postMessage(input: {threadId: $t, "
                'body: "Posted while you watched"}) { userErrors { code } } }',
                "variables": {"t": THREAD_ID},
            },
        )
        assert posted.json() == {"data": {"postMessage": {"userErrors": []}}}
