"""search(query:): what it finds and in which order, its snippets and its pages, on
SQLite (FTS5) and PostgreSQL (tsvector) alike."""

from __future__ import annotations

from typing import Any

import pytest

from models.forums import Forum
from tests.support.forum import coded_error, gid, new_forum, open_thread, reply
from tests.support.harness import Client
from tests.support.members import member

SEARCH = """
query Search($q: String!, $first: Int, $after: String, $forum: ID) {
  search(query: $q, first: $first, after: $after, forumId: $forum) {
    edges { node { snippet message { id } thread { title } } }
    pageInfo { hasNextPage hasPreviousPage }
  }
}
"""
PAGE = """
query Page($q: String!, $first: Int, $after: String) {
  search(query: $q, first: $first, after: $after) {
    edges { cursor node { message { id } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def hit(message_id: str, title: str, snippet: str) -> dict[str, Any]:
    """One edge as SEARCH asks for it."""
    return {"node": {"snippet": snippet, "message": {"id": message_id}, "thread": {"title": title}}}


def found(*hits: dict[str, Any], more: bool = False, before: bool = False) -> dict[str, Any]:
    """The whole response of SEARCH."""
    info = {"hasNextPage": more, "hasPreviousPage": before}
    return {"data": {"search": {"edges": list(hits), "pageInfo": info}}}


@pytest.fixture
async def forum(gql: Client) -> Forum:
    """A forum, and ada, who writes in it."""
    await member(gql, "ada")
    return await new_forum()


# ---------------------------------------------------------------- what matches, in order


async def test_a_title_match_ranks_above_a_newer_message_match(gql: Client, forum: Forum) -> None:
    _, first = await open_thread(gql, "ada", forum, "Walking group", "Meet at ten.")
    other, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    newer = await reply(gql, "ada", other, "I went walking.")

    response = await gql(SEARCH, {"q": "walk"})

    assert response == found(
        hit(first, "Walking group", "<mark>Walking</mark> group"),
        hit(newer, "Saturday", "I went <mark>walking</mark>."),
    )


async def test_messages_come_newest_first(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    older = await reply(gql, "ada", thread, "Soup for lunch.")
    newer = await reply(gql, "ada", thread, "More soup!")

    response = await gql(SEARCH, {"q": "soup"})

    assert response == found(
        hit(newer, "Saturday", "More <mark>soup</mark>!"),
        hit(older, "Saturday", "<mark>Soup</mark> for lunch."),
    )


async def test_a_first_message_matching_by_title_and_text_is_one_title_hit(
    gql: Client, forum: Forum
) -> None:
    _, first = await open_thread(gql, "ada", forum, "Soup recipes", "My soup of the week.")

    response = await gql(SEARCH, {"q": "soup"})

    assert response == found(hit(first, "Soup recipes", "<mark>Soup</mark> recipes"))


async def test_words_are_stemmed(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "The dogs walked home.")

    response = await gql(SEARCH, {"q": "Walks DOG"})

    assert response == found(hit(message, "Saturday", "The <mark>dogs walked</mark> home."))


async def test_every_word_must_appear(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Breakfast", "Anyone about?")
    both = await reply(gql, "ada", thread, "Porridge, then coffee.")
    await reply(gql, "ada", thread, "Porridge only.")

    response = await gql(SEARCH, {"q": "coffee porridge"})

    assert response == found(
        hit(both, "Breakfast", "<mark>Porridge</mark>, then <mark>coffee</mark>.")
    )


async def test_a_quoted_phrase_matches_its_words_together_and_in_order(
    gql: Client, forum: Forum
) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Sundays", "Anyone about?")
    phrase = await reply(gql, "ada", thread, "I love batch cooking.")
    await reply(gql, "ada", thread, "Cooking one batch.")
    await reply(gql, "ada", thread, "A batch of slow cooking.")

    response = await gql(SEARCH, {"q": '"batch cooking"'})

    assert response == found(hit(phrase, "Sundays", "I love <mark>batch cooking</mark>."))


async def test_a_minus_word_leaves_out_messages_that_hold_it(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    kept = await reply(gql, "ada", thread, "A walk by the river.")
    await reply(gql, "ada", thread, "A walk in the park.")
    await reply(gql, "ada", thread, "Walking round Park Lane.")

    response = await gql(SEARCH, {"q": "walk -park"})

    assert response == found(hit(kept, "Saturday", "A <mark>walk</mark> by the river."))


async def test_a_minus_phrase_leaves_out_only_the_phrase(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    kept = await reply(gql, "ada", thread, "A walk to the park gates.")
    await reply(gql, "ada", thread, "A walk in the city park.")

    response = await gql(SEARCH, {"q": 'walk -"city park"'})

    assert response == found(hit(kept, "Saturday", "A <mark>walk</mark> to the park gates."))


async def test_an_excluded_word_in_a_title_leaves_out_the_first_message_only(
    gql: Client, forum: Forum
) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Park walks", "Walk with us.")
    later = await reply(gql, "ada", thread, "Great walk today.")

    response = await gql(SEARCH, {"q": "walk -park"})

    # The title is part of the first message's text, not of its replies.
    assert response == found(hit(later, "Park walks", "Great <mark>walk</mark> today."))


async def test_an_excluded_word_in_a_first_message_leaves_out_its_title_match(
    gql: Client, forum: Forum
) -> None:
    await open_thread(gql, "ada", forum, "Walking group", "We meet in the park.")

    response = await gql(SEARCH, {"q": "walk -park"})

    assert response == found()


async def test_forum_id_keeps_to_one_forum(gql: Client, forum: Forum) -> None:
    elsewhere = await new_forum("recipes", "Recipes")
    await open_thread(gql, "ada", forum, "Soup talk", "Anyone about?")
    _, wanted = await open_thread(gql, "ada", elsewhere, "Soup recipes", "Anyone about?")

    response = await gql(SEARCH, {"q": "soup", "forum": gid("Forum", elsewhere.id)})

    assert response == found(hit(wanted, "Soup recipes", "<mark>Soup</mark> recipes"))


async def test_a_forum_id_of_another_type_is_bad_input(gql: Client, forum: Forum) -> None:
    response = await gql(SEARCH, {"q": "soup", "forum": gid("Thread", forum.id)})

    error = coded_error(SEARCH, "search", "That is not a valid Forum ID.", "BAD_USER_INPUT")
    assert response == {"data": None, "errors": [error]}


# ---------------------------------------------------------------- snippets


async def test_a_snippet_is_escaped_html_with_matches_marked(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    body = "<script>alert(\"walk\")</script> & a 'walk' <b>here</b>"
    message = await reply(gql, "ada", thread, body)

    response = await gql(SEARCH, {"q": "walk"})

    snippet = (
        "&lt;script&gt;alert(&quot;<mark>walk</mark>&quot;)&lt;/script&gt; &amp; a "
        "&#x27;<mark>walk</mark>&#x27; &lt;b&gt;here&lt;/b&gt;"
    )
    assert response == found(hit(message, "Saturday", snippet))


async def test_marker_characters_in_a_message_are_not_taken_for_marks(
    gql: Client, forum: Forum
) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    message = await reply(gql, "ada", thread, "walk \x02bold\x03 \x04x\x05")

    response = await gql(SEARCH, {"q": "walk"})

    assert response == found(hit(message, "Saturday", "<mark>walk</mark> bold x"))


async def test_a_long_message_gives_an_extract_with_ellipses(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    words = [f"word{n}" for n in range(80)]
    await reply(gql, "ada", thread, " ".join([*words[:40], "kohlrabi", *words[40:]]))

    response = await gql(SEARCH, {"q": "kohlrabi"})

    (edge,) = response["data"]["search"]["edges"]
    snippet = edge["node"]["snippet"]
    inner = snippet.removeprefix("… ").removesuffix(" …").split()
    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>kohlrabi</mark>" in inner
    assert 8 <= len(inner) <= 25
    assert " ".join(inner) in " ".join([*words[:40], "<mark>kohlrabi</mark>", *words[40:]])


# ---------------------------------------------------------------- pages


async def pages(gql: Client, query: str, size: int) -> list[list[str]]:
    """Every page of a search, as lists of message IDs."""
    result, after = [], None
    while True:
        response = await gql(PAGE, {"q": query, "first": size, "after": after})
        page = response["data"]["search"]
        result.append([edge["node"]["message"]["id"] for edge in page["edges"]])
        if not page["pageInfo"]["hasNextPage"]:
            return result
        after = page["pageInfo"]["endCursor"]


async def test_pages_follow_each_other_without_gaps_or_repeats(gql: Client, forum: Forum) -> None:
    thread, first = await open_thread(gql, "ada", forum, "Soup", "Anyone about?")
    replies = [await reply(gql, "ada", thread, f"Soup number {n}.") for n in range(5)]

    result = await pages(gql, "soup", 2)

    newest_first = list(reversed(replies))
    assert result == [[first, newest_first[0]], newest_first[1:3], newest_first[3:5]]


async def test_the_next_page_says_a_page_came_before(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Anyone about?")
    older = await reply(gql, "ada", thread, "Soup for lunch.")
    await reply(gql, "ada", thread, "More soup!")
    first = await gql(PAGE, {"q": "soup", "first": 1})
    after = first["data"]["search"]["pageInfo"]["endCursor"]

    response = await gql(SEARCH, {"q": "soup", "first": 1, "after": after})

    assert response == found(hit(older, "Saturday", "<mark>Soup</mark> for lunch."), before=True)


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("soup", "Soup {n}."),  # one word
        ("hot soup bowl", "A bowl of hot soup, {n}."),  # several words
        ('"hot soup"', "Hot soup {n}."),  # a phrase
    ],
)
async def test_pages_stay_exact_while_matching_messages_arrive(
    gql: Client, forum: Forum, query: str, text: str
) -> None:
    # Title hits (one grade) and message hits (the other), several pages of each.
    thread, _ = await open_thread(gql, "ada", forum, "Anything", "Anyone about?")
    before = []
    for n in range(3):
        title = text.format(n=f"thread {n}").rstrip(".")
        before.append((await open_thread(gql, "ada", forum, title, "Anyone about?"))[1])
    before += [await reply(gql, "ada", thread, text.format(n=n)) for n in range(5)]
    expected = [*reversed(before[:3]), *reversed(before[3:])]

    seen, after, arrived = [], None, []
    while True:
        response = await gql(PAGE, {"q": query, "first": 2, "after": after})
        page = response["data"]["search"]
        seen += [edge["node"]["message"]["id"] for edge in page["edges"]]
        # Between pages: a new matching thread and a new matching message.
        title = text.format(n=f"new thread {len(arrived)}").rstrip(".")
        arrived.append((await open_thread(gql, "ada", forum, title, "Anyone about?"))[1])
        arrived.append(await reply(gql, "ada", thread, text.format(n=f"new {len(arrived)}")))
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert seen == expected
    fresh = await pages(gql, query, 100)
    assert fresh == [
        [*reversed(arrived[0::2]), *expected[:3], *reversed(arrived[1::2]), *expected[3:]]
    ]


async def test_a_cursor_of_another_search_is_bad_input(gql: Client, forum: Forum) -> None:
    thread, _ = await open_thread(gql, "ada", forum, "Saturday", "Soup and walks.")
    await reply(gql, "ada", thread, "Soup and more walks.")
    first = await gql(PAGE, {"q": "soup", "first": 1})
    after = first["data"]["search"]["pageInfo"]["endCursor"]

    response = await gql(SEARCH, {"q": "walk", "first": 1, "after": after})

    message = "That cursor belongs to another search."
    assert response == {
        "data": None,
        "errors": [coded_error(SEARCH, "search", message, "BAD_USER_INPUT")],
    }
