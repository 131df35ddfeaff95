"""Demo data for a new installation: members of each role, forums, threads, a conversation."""

from __future__ import annotations

import secrets
from datetime import date

from tortoise.transactions import in_transaction

from models.accounts import User
from models.base import Role
from models.conversations import Conversation, Participant
from models.forums import Forum
from models.messages import Message, Thread
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow, Profile
from resolvers.accounts import create_member
from services.markdown import Renderer

# Printed on purpose, and documented: the demo members' password. The demo staff get
# random ones (the admin the operator's, if given), so no published password ever holds
# staff powers, even on a database seeded with --force beside real members.
DEMO_PASSWORD = "forum-demo-2026"  # noqa: S105

DEMO_MEMBERS: list[tuple[str, Role, date]] = [
    ("ada", Role.ADMIN, date(1985, 12, 10)),
    ("grace", Role.MODERATOR, date(1979, 6, 9)),
    ("alice", Role.MEMBER, date(1992, 3, 14)),
    ("bob", Role.MEMBER, date(1988, 7, 1)),
    ("carol", Role.MEMBER, date(2001, 11, 23)),
]

FORUMS = [
    ("introductions", "Introductions", "Say hello and tell us where you are starting from."),
    ("weight-loss-support", "Weight loss support", "Good days, bad days, plateaus and wins."),
    ("recipes", "Recipes", "Low-fat, low-sugar and plan-friendly cooking."),
    ("exercise", "Exercise", "Walking, swimming, the gym, and getting started at all."),
]

THREADS = [
    ("introductions", "alice", "Hello from Leeds!", [
        ("alice", "Hi everyone, I'm **Alice**. Starting my journey this week."),
        ("bob", "Welcome Alice! The *weight loss support* forum is great on tough days."),
        ("carol", "Hello! Have a look at the [NHS weight loss plan](https://www.nhs.uk/better-health/lose-weight/) too."),
    ]),
    ("recipes", "bob", "Low-fat curry that actually tastes good", [
        ("bob", "Recipe:\n\n1. Onions, garlic, ginger\n2. Chicken breast\n3. Passata and spices\n\nServe with cauliflower rice."),
        ("alice", "Made this last night. Brilliant! I added spinach."),
    ]),
    ("weight-loss-support", "carol", "Stuck on a plateau for three weeks", [
        ("carol", "Same weight three weeks running. Any tips?"),
        ("grace", "Plateaus are normal. Check portion sizes and keep a food diary for a week."),
        ("alice", "This [BMI calculator](https://www.nhs.uk/health-assessment-tools/calculate-your-body-mass-index/) helped me set a realistic goal."),
    ]),
    ("exercise", "alice", "Couch to 5K: who's in?", [
        ("alice", "Starting week one on Monday. Anyone want to join?"),
    ]),
]  # fmt: skip


async def has_members() -> bool:
    """Does the database hold any account yet?"""
    return await User.exists()


async def seed(renderer: Renderer, admin_password: str | None = None) -> list[tuple[str, str, str]]:
    """Create the demo data; return (username, role, password) for each demo account.
    The admin's password is `admin_password`, or random when it is None; the moderator's
    is random."""

    def password(role: Role) -> str:
        if role is Role.MEMBER:
            return DEMO_PASSWORD
        if role is Role.ADMIN and admin_password:
            return admin_password
        return secrets.token_urlsafe(12)

    passwords = {name: password(role) for name, role, _ in DEMO_MEMBERS}
    members: dict[str, User] = {}
    for username, role, born in DEMO_MEMBERS:
        members[username] = await create_member(
            username, f"{username}@example.org", passwords[username], role, born
        )
    async with in_transaction():
        await _profiles(members)
        await _forums(members, renderer)
        await _conversation(members, renderer)
    return [(name, role.value, passwords[name]) for name, role, _ in DEMO_MEMBERS]


async def _profiles(members: dict[str, User]) -> None:
    await Profile.create(
        user=members["alice"], bio="Mum of two, love walking.", location="Leeds",
        diet_plan="Slimming World", start_weight_kg=92.5, current_weight_kg=84.1, goal_weight_kg=70,
    )  # fmt: skip
    await Profile.create(user=members["bob"], bio="Cook, cyclist.", location="Bristol")
    await PrivacySettings.create(user=members["bob"], location=Audience.FOLLOWING)
    await Follow.create(follower=members["alice"], followee=members["bob"])
    await Follow.create(follower=members["bob"], followee=members["alice"])
    await Follow.create(follower=members["carol"], followee=members["alice"])


async def _forums(members: dict[str, User], renderer: Renderer) -> None:
    forums = {}
    for position, (slug, title, description) in enumerate(FORUMS):
        forums[slug] = await Forum.create(
            slug=slug, title=title, description=description, position=position
        )
    for slug, opener, title, posts in THREADS:
        thread = await Thread.create(forum=forums[slug], author=members[opener], title=title)
        for author, body in posts:
            message = await Message.create(
                thread=thread, author=members[author], body=body, body_html=renderer.render(body)
            )
        thread.last_message_id = message.id
        await thread.save(update_fields=["last_message_id"])


async def _conversation(members: dict[str, User], renderer: Renderer) -> None:
    conversation = await Conversation.create(
        title="Walking on Saturday?", created_by=members["alice"]
    )
    last = 0
    for author, body in [
        ("alice", "Fancy a walk round Roundhay Park on Saturday?"),
        ("bob", "Yes! 10am at the lake?"),
    ]:
        message = await Message.create(
            conversation=conversation, author=members[author], body=body,
            body_html=renderer.render(body),
        )  # fmt: skip
        last = message.id
    conversation.last_message_id = last
    await conversation.save(update_fields=["last_message_id"])
    for name in ("alice", "bob"):
        await Participant.create(
            conversation=conversation, user=members[name], last_message_id=last,
            last_read_message_id=last if name == "bob" else 0,
        )  # fmt: skip
