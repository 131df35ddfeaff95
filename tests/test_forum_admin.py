"""Forums by admins: createForum and updateForum with their rules, the forum list by
position, and every change audited."""

from __future__ import annotations

from typing import Any

import pytest

from models.accounts import User
from models.forums import Forum
from tests.support.forum import gid, new_forum, refused
from tests.support.harness import Client
from tests.support.staff import CREATE_FORUM, UPDATE_FORUM, audit_log, staff_cast

FORUMS = "query { forums { slug position } }"
SLUG_RULE = (
    "Slugs are 2 to 60 characters: lower-case letters, digits and single hyphens between them."
)


@pytest.fixture
async def cast(gql: Client) -> dict[str, User]:
    """ada (member), grace (moderator) and root (admin), signed in."""
    return await staff_cast(gql)


async def create(gql: Client, **fields: Any) -> dict[str, Any]:
    response = await gql(CREATE_FORUM, {"i": fields}, as_member="root")
    return response["data"]["createForum"]


async def update(gql: Client, forum: Forum, **fields: Any) -> dict[str, Any]:
    variables = {"i": {"forumId": gid("Forum", forum.id), **fields}}
    response = await gql(UPDATE_FORUM, variables, as_member="root")
    return response["data"]["updateForum"]


async def test_an_admin_creates_a_forum(gql: Client, cast: dict[str, User]) -> None:
    payload = await create(
        gql, slug="weight-loss-2", title="  Weight   loss ", description=" Tips ", position=3
    )

    forum = {"slug": "weight-loss-2", "title": "Weight loss", "description": "Tips", "position": 3}
    assert payload == {"forum": forum, "userErrors": []}


async def test_a_forum_without_position_or_description_comes_first_and_has_none(
    gql: Client, cast: dict[str, User]
) -> None:
    payload = await create(gql, slug="recipes", title="Recipes")

    forum = {"slug": "recipes", "title": "Recipes", "description": None, "position": 0}
    assert payload == {"forum": forum, "userErrors": []}


@pytest.mark.parametrize(
    "slug", ["a", "x" * 61, "Recipes", "two--hyphens", "-edge", "edge-", "with space", "é-tà"]
)
async def test_a_slug_that_is_not_url_safe_is_refused(
    gql: Client, cast: dict[str, User], slug: str
) -> None:
    payload = await create(gql, slug=slug, title="Recipes")

    assert payload == {"forum": None, "userErrors": refused("SLUG_INVALID", SLUG_RULE, "slug")}
    assert await Forum.all().count() == 0


@pytest.mark.parametrize("slug", ["ab", "x" * 60, "a-1-b"])
async def test_slugs_of_2_to_60_safe_characters_are_accepted(
    gql: Client, cast: dict[str, User], slug: str
) -> None:
    payload = await create(gql, slug=slug, title="Recipes")

    assert payload["userErrors"] == []


async def test_a_taken_slug_is_refused(gql: Client, cast: dict[str, User]) -> None:
    await new_forum("recipes", "Recipes")

    payload = await create(gql, slug="recipes", title="More recipes")

    errors = refused("SLUG_TAKEN", "Another forum has that slug.", "slug")
    assert payload == {"forum": None, "userErrors": errors}
    assert await Forum.all().count() == 1


@pytest.mark.parametrize("title", ["", "   ", "x" * 121])
async def test_a_title_outside_1_to_120_characters_is_refused(
    gql: Client, cast: dict[str, User], title: str
) -> None:
    payload = await create(gql, slug="recipes", title=title)

    message = "Forum titles are 1 to 120 characters long."
    assert payload == {"forum": None, "userErrors": refused("TITLE_LENGTH", message, "title")}
    assert await Forum.all().count() == 0


async def test_a_description_over_2000_characters_is_refused(
    gql: Client, cast: dict[str, User]
) -> None:
    payload = await create(gql, slug="recipes", title="Recipes", description="x" * 2001)

    message = "Descriptions have at most 2000 characters."
    errors = refused("DESCRIPTION_TOO_LONG", message, "description")
    assert payload == {"forum": None, "userErrors": errors}


async def test_forums_are_listed_by_position_then_age(gql: Client, cast: dict[str, User]) -> None:
    await new_forum("later", "Later", position=5)
    await new_forum("first", "First", position=-1)
    await new_forum("tie-old", "Tie old", position=2)
    await new_forum("tie-new", "Tie new", position=2)

    response = await gql(FORUMS)

    slugs = [("first", -1), ("tie-old", 2), ("tie-new", 2), ("later", 5)]
    forums = [{"slug": slug, "position": position} for slug, position in slugs]
    assert response == {"data": {"forums": forums}}


async def test_an_admin_updates_any_subset_of_a_forum(gql: Client, cast: dict[str, User]) -> None:
    forum = await Forum.create(slug="general", title="General", description="Chat", position=1)

    payload = await update(gql, forum, title="General chat", position=7)

    changed = {"slug": "general", "title": "General chat", "description": "Chat", "position": 7}
    assert payload == {"forum": changed, "userErrors": []}


async def test_an_empty_description_removes_it_and_a_new_slug_is_taken_up(
    gql: Client, cast: dict[str, User]
) -> None:
    forum = await Forum.create(slug="general", title="General", description="Chat")

    payload = await update(gql, forum, slug="chat", description="")

    changed = {"slug": "chat", "title": "General", "description": None, "position": 0}
    assert payload == {"forum": changed, "userErrors": []}
    assert await gql('{ forum(slug: "chat") { title } }') == {
        "data": {"forum": {"title": "General"}}
    }


async def test_updating_to_another_forums_slug_is_refused(
    gql: Client, cast: dict[str, User]
) -> None:
    await new_forum("recipes", "Recipes")
    forum = await new_forum("general", "General")

    payload = await update(gql, forum, slug="recipes", title="Renamed")

    errors = refused("SLUG_TAKEN", "Another forum has that slug.", "slug")
    assert payload == {"forum": None, "userErrors": errors}
    await forum.refresh_from_db()
    assert (forum.slug, forum.title) == ("general", "General")


async def test_keeping_a_forums_own_slug_is_no_clash(gql: Client, cast: dict[str, User]) -> None:
    forum = await new_forum("general", "General")

    payload = await update(gql, forum, slug="general", title="Renamed")

    assert payload["userErrors"] == []


async def test_updating_an_unknown_forum_is_refused(gql: Client, cast: dict[str, User]) -> None:
    variables = {"i": {"forumId": gid("Forum", 999), "title": "Renamed"}}

    response = await gql(UPDATE_FORUM, variables, as_member="root")

    errors = refused("FORUM_NOT_FOUND", "There is no such forum.", "forumId")
    assert response == {"data": {"updateForum": {"forum": None, "userErrors": errors}}}


async def test_an_update_that_changes_nothing_is_refused(
    gql: Client, cast: dict[str, User]
) -> None:
    forum = await new_forum()

    payload = await update(gql, forum)

    assert payload == {
        "forum": None,
        "userErrors": refused("NOTHING_TO_CHANGE", "Say what to change."),
    }


async def test_an_empty_reason_is_refused_when_one_is_given(
    gql: Client, cast: dict[str, User]
) -> None:
    payload = await create(gql, slug="recipes", title="Recipes", reason=" ")

    errors = refused("REASON_INVALID", "Give a reason of 3 to 500 characters.", "reason")
    assert payload == {"forum": None, "userErrors": errors}
    assert await Forum.all().count() == 0


async def test_creating_and_updating_forums_is_audited(gql: Client, cast: dict[str, User]) -> None:
    await create(gql, slug="recipes", title="Recipes", reason="Members asked for it")
    forum = await Forum.get(slug="recipes")
    await update(gql, forum, title="Recipes and meals", position=2)

    entries = await audit_log(gql)

    assert entries == [
        {
            "actor": {"username": "root"},
            "action": "UPDATE_FORUM",
            "subject": None,
            "fields": [f"forum:{forum.id}", "position", "title"],
            "reason": None,
        },
        {
            "actor": {"username": "root"},
            "action": "CREATE_FORUM",
            "subject": None,
            "fields": [f"forum:{forum.id}", "slug", "title"],
            "reason": "Members asked for it",
        },
    ]
