"""The plan executor answers exactly as graphql-core does: every query document the test
suite sends (recorded in tests/plans/suite_documents.jsonl), the benchmark's pages, a few
hand-written ones (fragments, @include/@skip, aliases, errors) and GENERATED documents
from hypothesis-graphql run through both executors for each kind of viewer over one
seeded database, and the JSON must be byte-identical, errors included.

The documents run in-process through the schema (the HTTP layer around them is the same
code for both executors), each with a fresh Context as the view builds one.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
import hypothesis.strategies as st
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given
from hypothesis import seed as hypothesis_seed
from hypothesis import settings as hypothesis_settings
from hypothesis_graphql import queries as generated_queries

from bench import queries as bench
from models.accounts import User
from models.base import Role
from resolvers.common import Call
from resolvers.sessions import session_for_token
from schema import build_schema
from schema.context import Context, Loaders
from schema.plans import STATS, encode
from services.addresses import AddressVault
from services.broker import broker_for
from services.markdown import Renderer
from services.ratelimits import RateLimits
from services.settings import Settings
from tests.support.forum import gid, new_forum, open_thread, reply, send, start_conversation
from tests.support.harness import TEST_IP, Server, drop_database, fresh_database_url
from tests.support.harness import test_settings as settings_for
from tests.support.members import follow, set_audiences, set_profile
from tests.support.privacy import cast

pytestmark = pytest.mark.asyncio(loop_scope="module")

GENERATED = 2000  # generated documents, each run for every viewer kind on both executors
CHUNKS = 4  # the generated documents in parts, which pytest-xdist's workers share
SUITE_DOCUMENTS = Path(__file__).parent / "plans" / "suite_documents.jsonl"
VIEWERS = ("anonymous", "unconfirmed", "member", "follower", "owner", "moderator")

HANDWRITTEN = [
    (
        """query Page($id: ID!, $withProfile: Boolean!, $bare: Boolean = false) {
          thread(id: $id) {
            ...Head
            messages(first: 5) {
              edges { node { ...Body author @skip(if: $bare) { ...Who } } }
              pageInfo { hasNextPage endCursor }
            }
          }
        }
        fragment Head on Thread { id title createdAt locked pinned __typename }
        fragment Body on Message { id bodyHtml body deleted hidden createdAt editedAt }
        fragment Who on User {
          id username role lastSeenAt age email dateOfBirth viewerIsFollowing
          profile @include(if: $withProfile) { bio location website dietPlan
            weightJourney { startKg currentKg goalKg } }
          profile { bio }
        }""",
        [{"withProfile": True}, {"withProfile": False}, {"withProfile": True, "bare": True}],
    ),
    (
        """{ viewer { username email age followers(first: 3) { totalCount edges { cursor
             node { username } } } following { edges { node { username profile { bio } } } }
             viewerCanMessage viewerHasBlocked suspended suspendedUntil newsletter } }""",
        [{}],
    ),
    (
        """{ a: user(username: "ada") { username b: age email }
           b: user(username: "nobody") { id }
           forums { slug threads(first: 2) { totalCount
             edges { node { title author { username } } } } } }""",
        [{}],
    ),
    (
        """{ conversations(first: 3) { totalCount edges { node { id title unreadCount
             participants { username age } messages(last: 2) { edges { node { body author {
             username } } } } } } } }""",
        [{}],
    ),
    ("""{ thread(id: "not an id") { title } }""", [{}]),
    ("""{ thread(id: "VGhyZWFkOjk5OTk") { title } forum(slug: "general") { title } }""", [{}]),
    (
        """query Q($n: Int!) { forums { threads(first: $n) { edges { node { id } } } } }""",
        [{"n": -1}, {"n": 2}],
    ),
    ("""{ viewer { privacySettings { bio } username } }""", [{}]),  # not planned: falls back
]


@dataclass
class World:
    """The seeded database, its settings for each executor, and each viewer's session."""

    on: Settings
    off: Settings
    schema: Any
    vault: AddressVault
    renderer: Renderer
    broker: Any
    viewers: dict[str, Any]
    ids: list[str]
    names: list[str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """One database for the module: the privacy cast, posts, conversations and blocks."""
    tmp_path = tmp_path_factory.mktemp("plans")
    url = await fresh_database_url(tmp_path)
    settings = settings_for(tmp_path, url)
    async with Server(settings) as gql:
        ada = await cast(gql)
        users = {u.username: u for u in await User.all()}
        await set_audiences(
            ada, age="EVERYONE", email="FOLLOWING", location="MEMBERS", bio="EVERYONE",
            last_seen="FOLLOWING", who_can_message="MEMBERS",
        )  # fmt: skip
        await set_audiences(users["friend"], bio="ONLY_ME", age="FOLLOWING")
        await set_profile(users["stranger"], bio="stranger's bio", location="Leeds")
        await set_profile(users["friend"], bio="friend's bio", diet_plan="keto")
        await follow(users["stranger"], ada)
        forum = await new_forum()
        await new_forum("news", "News", 1)
        names = ["ada", "friend", "fan", "stranger", "mod"]
        threads = []
        for index in range(3):
            thread, _ = await open_thread(gql, names[index], forum, f"Thread {index}")
            threads.append(thread)
            for number in range(6):
                author = names[(index + number) % len(names)]
                await reply(gql, author, thread, f"Reply *{number}* [link](https://nhs.uk/)")
        # a blocked author: stranger blocks fan, so fan's messages read empty to stranger
        await gql(
            "mutation($i: BlockMemberInput!) { blockMember(input: $i) { userErrors { code } } }",
            {"i": {"userId": gid("User", users["fan"].id)}},
            as_member="stranger",
        )
        conversation, _ = await start_conversation(gql, "ada", [users["friend"], users["stranger"]])
        await send(gql, "friend", conversation, "Hello *ada*")
        await start_conversation(gql, "friend", [users["fan"]], "Second")
        viewers: dict[str, Any] = {"anonymous": None}
        for kind, name in [
            ("unconfirmed", "newbie"), ("member", "stranger"), ("follower", "friend"),
            ("owner", "ada"), ("moderator", "mod"),
        ]:  # fmt: skip
            viewers[kind] = await session_for_token(gql.cookies[name], settings.session_days)
        assert users["mod"].role is Role.MODERATOR
        ids = [
            *threads, conversation, gid("Forum", forum.id),
            *(gid("User", u.id) for u in users.values()),
            gid("Message", 1), gid("Message", 3), "VGhyZWFkOjk5OTk", "bm9wZQ",
        ]  # fmt: skip
        yield World(
            on=settings.model_copy(update={"plan_executor": "on"}),
            off=settings.model_copy(update={"plan_executor": "off"}),
            schema=build_schema(introspection=True),
            vault=AddressVault(settings.address_key),
            renderer=Renderer(settings.public_url, settings.key),
            broker=broker_for(settings.db_url),
            viewers=viewers,
            ids=ids,
            names=[*users, "general", "news", "nobody"],
        )
    await drop_database(url)


class Incoming:
    """The request a Context reads: no headers, no cookies (the viewer comes resolved)."""

    headers: dict[str, str] = {}
    cookies: dict[str, str] = {}


async def answer(
    world: World, settings: Settings, viewer: str, query: str, variables: dict[str, Any] | None
) -> bytes:
    """The JSON the view would send for the document, with one executor."""
    call = Call(
        settings=settings, vault=world.vault, limits=RateLimits(enabled=False),
        renderer=world.renderer, broker=world.broker, ip=TEST_IP,
    )  # fmt: skip
    found = world.viewers[viewer]
    if found is not None:
        call.session, call.viewer = found.session, found.user
    context = Context(
        call=call, request=Incoming(), request_id="differential",
        loaders=Loaders.for_viewer(call.viewer),
    )  # fmt: skip
    result = await world.schema.execute(query, variable_values=variables, context_value=context)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        body["extensions"] = result.extensions
    return encode(body)


def is_query(text: str) -> bool:
    """Documents whose operations are all queries (others would write twice)."""
    try:
        document = graphql.parse(text)
    except graphql.GraphQLError:
        return True  # both executors answer the same parse error
    return all(
        definition.operation is graphql.OperationType.QUERY
        for definition in document.definitions
        if isinstance(definition, graphql.OperationDefinitionNode)
    )


@dataclass
class Compared:
    """What a batch of documents showed: the differences, and how many answers a plan
    gave (the rest fell back to graphql-core on both sides, so they cannot differ)."""

    differences: list[dict[str, Any]]
    planned: int
    answers: int


async def compare(world: World, documents: list[tuple[str, dict[str, Any] | None]]) -> Compared:
    """Run every document for every viewer on both executors. A document that graphql-core
    itself answers differently twice in a row (it writes something it reads, e.g. a staff
    read's audit entry) is not a difference of the executors."""
    found = []
    planned = 0
    for query, variables in documents:
        for viewer in VIEWERS:
            before = STATS.planned
            on = await answer(world, world.on, viewer, query, variables)
            if STATS.planned == before:
                continue  # graphql-core answered: the other side would run the same code
            planned += 1
            core = await answer(world, world.off, viewer, query, variables)
            if on == core:
                continue
            again = await answer(world, world.off, viewer, query, variables)
            if again != core:
                continue
            found.append({"viewer": viewer, "query": query, "variables": variables,
                          "plan": on.decode(), "graphql-core": core.decode()})  # fmt: skip
    return Compared(found, planned, len(documents) * len(VIEWERS))


def suite_documents() -> list[tuple[str, dict[str, Any] | None]]:
    """The query documents the test suite sends, as recorded (see tests/plans/README.md)."""
    documents = []
    for line in SUITE_DOCUMENTS.read_text().splitlines():
        body = json.loads(line)
        if is_query(body["query"]):
            documents.append((body["query"], body.get("variables")))
    return documents


async def test_every_query_the_suite_sends_answers_the_same_on_both_executors(
    world: World,
) -> None:
    documents = suite_documents()
    assert len(documents) > 200

    compared = await compare(world, documents)

    assert compared.differences == []
    assert compared.planned > compared.answers / 4  # the plans did run


async def test_the_bench_pages_and_handwritten_documents_answer_the_same(world: World) -> None:
    thread = world.ids[0]
    documents: list[tuple[str, dict[str, Any] | None]] = [
        (bench.THREAD_PAGE, {"id": thread, "first": 50}),
        (bench.THREAD_PAGE, {"id": thread, "first": 3, "after": None}),
        (bench.INBOX, {}),
    ]
    for query, variable_sets in HANDWRITTEN:
        documents += [(query, {"id": thread, **v}) if "$id" in query else (query, v)
                      for v in variable_sets]  # fmt: skip

    compared = await compare(world, documents)

    assert compared.differences == []
    assert compared.planned >= 6 * 3  # the bench pages ran as plans for every viewer


def _documents(world: World, count: int, part: int) -> list[str]:
    """`count` documents from hypothesis-graphql (seeded by `part`: the same every run),
    three quarters of them rooted at the fields the plan compiler knows."""
    ids = st.sampled_from([graphql.StringValueNode(value=i) for i in world.ids])
    names = st.sampled_from([graphql.StringValueNode(value=n) for n in world.names])
    ints = st.sampled_from([graphql.IntValueNode(value=str(n)) for n in (0, 1, 2, 3, 5, 20, -1)])
    scalars = {
        "ID": ids, "String": names, "Int": ints,
        "DateTime": st.just(graphql.StringValueNode(value="2026-01-01T00:00:00+00:00")),
        "Date": st.just(graphql.StringValueNode(value="1990-01-01")),
        "JSON": st.just(graphql.ObjectValueNode(fields=())),
    }  # fmt: skip
    schema = world.schema._schema
    known = generated_queries(
        schema,
        fields=["thread", "viewer", "user", "forums", "forum", "conversations", "conversation"],
        custom_scalars=scalars,
        allow_null=False,
    )
    anywhere = generated_queries(schema, custom_scalars=scalars, allow_null=False)
    return _examples(known, count - count // 4, part) + _examples(anywhere, count // 4, part)


def _examples(strategy: st.SearchStrategy[Any], count: int, part: int) -> list[str]:
    found: list[str] = []

    @hypothesis_settings(
        max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @hypothesis_seed(part)
    @given(strategy)
    def collect(document: str) -> None:
        found.append(document)

    collect()
    return found


@pytest.mark.parametrize("part", range(CHUNKS))
async def test_generated_documents_answer_the_same_on_both_executors(
    world: World, part: int
) -> None:
    documents = _documents(world, GENERATED // CHUNKS, part)
    assert len(documents) >= GENERATED // CHUNKS * 0.95  # hypothesis may stop a little short

    compared = await compare(world, [(d, None) for d in documents])

    assert compared.differences == []
    assert compared.planned > compared.answers / 5
