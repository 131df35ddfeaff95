"""Quick members for the privacy, profile, follow and moderation tests (no tests here).

Registering through the API costs two Argon2 hashes a member; these tests need many
members, so they write the rows the way `register` + `confirmEmail` + `login` leave them
(one shared password hash, a session of our own) and talk to the API as those members.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from models.accounts import User
from models.base import Role
from models.privacy import Audience, PrivacySettings
from models.profiles import Follow, Profile
from models.sessions import Session
from resolvers.accounts import age_on
from schema import ids
from services import usernames
from services.passwords import hash_password
from services.tokens import new_token, token_hash
from tests.harness import PASSWORD, Client

AUDIENCES = ("EVERYONE", "MEMBERS", "FOLLOWING", "ONLY_ME")


@cache
def password_hash() -> str:
    """One real hash of PASSWORD, shared by every quick member (so login works too)."""
    return hash_password(PASSWORD)


async def add_member(
    gql: Client,
    username: str,
    *,
    role: Role = Role.MEMBER,
    confirmed: bool = True,
    born: date = date(1990, 1, 1),
    email: str | None = None,
    last_seen_at: datetime | None = None,
    signed_in: bool = True,
) -> User:
    """A member row (confirmed unless asked), signed in on `gql` under their username."""
    address = email or f"{username.lower()}@example.org"
    user = await User.create(
        username=username,
        username_key=usernames.lookalike_key(username),
        email=address,
        email_key=address.lower(),
        password_hash=password_hash(),
        date_of_birth=born,
        role=role,
        email_confirmed_at=datetime.now(UTC) if confirmed else None,
        last_seen_at=last_seen_at,
    )
    if signed_in:
        await sign_in(gql, user)
    return user


async def sign_in(gql: Client, user: User) -> None:
    """A live session for the member, its cookie kept on `gql` under the username."""
    token = new_token()
    now = datetime.now(UTC)
    await Session.create(
        user=user, token_hash=token_hash(token), last_used_at=now, expires_at=now + timedelta(1)
    )
    gql.cookies[user.username] = token


async def set_audiences(user: User, **values: str | bool) -> None:
    """Store privacy settings as updatePrivacySettings would (GraphQL enum names accepted)."""
    changes: dict[str, Any] = {
        name: value if isinstance(value, bool) else Audience[value]
        for name, value in values.items()
    }
    row, _ = await PrivacySettings.get_or_create(user_id=user.id)
    for name, value in changes.items():
        setattr(row, name, value)
    await row.save()


async def set_profile(user: User, **values: Any) -> None:
    """Store profile fields as updateProfile would."""
    row, _ = await Profile.get_or_create(user_id=user.id)
    for name, value in values.items():
        setattr(row, name, value)
    await row.save()


async def follow(follower: User, followee: User) -> None:
    """`follower` follows `followee`."""
    await Follow.create(follower_id=follower.id, followee_id=followee.id)


def global_id(user: User) -> str:
    """The member's Relay ID."""
    return ids.encode("User", user.id)


def error(message: str, path: list[str], code: str, line: int, column: int) -> dict[str, Any]:
    """One coded GraphQL error as the API shows it."""
    return {
        "message": message,
        "locations": [{"line": line, "column": column}],
        "path": path,
        "extensions": {"code": code},
    }


# ------------------------------------------------------------- ada and her viewers

BORN = date(1961, 2, 3)
SEEN = datetime(2024, 3, 9, 13, 37, 42, 123456, tzinfo=UTC)

# Who is asking, by username (None: signed out). `cast` makes every one of them.
VIEWERS = {
    "anonymous": None,
    "unconfirmed member": "newbie",
    "unconfirmed member the owner follows": "newbie_pal",
    "member": "stranger",
    "member the owner follows": "friend",
    "member who follows the owner, not followed back": "fan",
    "the owner": "ada",
    "moderator, ordinary query": "mod",
}
MEMBERS = {
    "member",
    "member the owner follows",
    "member who follows the owner, not followed back",
    "the owner",
    "moderator, ordinary query",
}
SEES = {
    "EVERYONE": set(VIEWERS),
    "MEMBERS": MEMBERS,  # signed in with a confirmed email
    "FOLLOWING": {"member the owner follows", "the owner"},  # whom the owner follows, only
    "ONLY_ME": {"the owner"},
}


@dataclass(frozen=True)
class Field:
    """A private field: its setting, where it sits under `user`, and ada's canary value."""

    setting: str
    path: tuple[str, ...]
    selection: str
    value: Any
    privileged: Any = None  # the PrivilegedProfile answer, for fields that type has

    def shape(self, value: Any) -> dict[str, Any]:
        """`user { ... }` as the response nests the value."""
        for key in reversed(self.path):
            value = {key: value}
        return value


FIELDS = {
    "email": Field("email", ("email",), "email", "ada.canary-e7@example.test", "same"),
    "dateOfBirth": Field("date_of_birth", ("dateOfBirth",), "dateOfBirth", "1961-02-03", "same"),
    "age": Field("age", ("age",), "age", age_on(BORN, datetime.now(UTC).date())),
    # Ordinary readers get the quarter hour; moderators the exact time.
    "lastSeenAt": Field(
        "last_seen",
        ("lastSeenAt",),
        "lastSeenAt",
        "2024-03-09T13:30:00+00:00",
        "2024-03-09T13:37:42.123456+00:00",
    ),
    "bio": Field("bio", ("profile", "bio"), "profile { bio }", "bio canary 4f1", "same"),
    "location": Field(
        "location", ("profile", "location"), "profile { location }", "Location-canary-9b", "same"
    ),
    "website": Field(
        "website",
        ("profile", "website"),
        "profile { website }",
        "https://website-canary-2c.example/",
        "same",
    ),
    "dietPlan": Field(
        "diet_plan", ("profile", "dietPlan"), "profile { dietPlan }", "diet canary 77d"
    ),
    "weightJourney": Field(
        "weight_journey",
        ("profile", "weightJourney"),
        "profile { weightJourney { startKg currentKg goalKg } }",
        {"startKg": 187.3, "currentKg": 154.6, "goalKg": 92.1},
    ),
    "followers": Field(
        "followers",
        ("followers",),
        "followers(first: 10) { edges { node { username } } }",
        {"edges": [{"node": {"username": "fan"}}]},
    ),
    "following": Field(
        "following",
        ("following",),
        "following(first: 10) { edges { node { username } } }",
        # Ada follows newbie_pal too, but an account never confirmed is in nobody's list.
        {"edges": [{"node": {"username": "friend"}}]},
    ),
}
# Every private field at once (GraphQL merges the repeated `profile { }`).
ALL_FIELDS = "username " + " ".join(field.selection for field in FIELDS.values())


async def cast(gql: Client) -> User:
    """Ada, every field filled with a canary, and one member of each kind of viewer.

    Ada follows friend and newbie_pal; fan follows ada. All are signed in on `gql`.
    """
    ada = await add_member(
        gql, "ada", email="ada.canary-e7@example.test", born=BORN, last_seen_at=SEEN
    )
    await set_profile(
        ada,
        bio="bio canary 4f1",
        location="Location-canary-9b",
        website="https://website-canary-2c.example/",
        diet_plan="diet canary 77d",
        start_weight_kg=187.3,
        current_weight_kg=154.6,
        goal_weight_kg=92.1,
    )
    members = {
        "newbie": await add_member(gql, "newbie", confirmed=False),
        "newbie_pal": await add_member(gql, "newbie_pal", confirmed=False),
        "stranger": await add_member(gql, "stranger"),
        "friend": await add_member(gql, "friend"),
        "fan": await add_member(gql, "fan"),
        "mod": await add_member(gql, "mod", role=Role.MODERATOR),
    }
    await follow(ada, members["friend"])
    await follow(ada, members["newbie_pal"])
    await follow(members["fan"], ada)
    # An edge shows in a list only where the other member's list showing it may be seen
    # too: the others' lists are public, so ada's lists are shown whole to their audience.
    for name in ("friend", "newbie_pal", "fan"):
        await set_audiences(members[name], followers="EVERYONE", following="EVERYONE")
    return ada


def ada_as_seen(visible: set[str]) -> dict[str, Any]:
    """`{ALL_FIELDS}` of ada when exactly the `visible` fields show."""
    user: dict[str, Any] = {"username": "ada", "profile": {}}
    for name, field in FIELDS.items():
        value = field.value if name in visible else None
        if field.path[0] == "profile":
            user["profile"][name] = value
        else:
            user[name] = value
    return user


def visible_to(viewer: str, audiences: dict[str, str]) -> set[str]:
    """The fields a viewer sees when ada's audiences are these (field name -> audience)."""
    return {name for name, audience in audiences.items() if viewer in SEES[audience]}
