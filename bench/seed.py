"""Seed a benchmark database: members, profiles, privacy settings, follows, one forum,
threads full of messages, and conversations for the member the benchmark signs in as.

    python bench/seed.py --database-url sqlite://bench/data/standard.sqlite3
    python bench/seed.py --database-url URL --threads 1 --messages 1000000   # the big thread

The schema comes from the project's own migrations (`models.init_db`); the rows go in
with executemany (SQLite) or COPY (PostgreSQL) in large chunks. Everything is drawn
from a seeded random generator, so two seeds of the same size hold the same data.
The ids the scenarios need are written to a JSON file beside the database.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from search import search_index  # noqa: E402  (bench/search.py)
from tortoise import connections  # noqa: E402
from tqdm import tqdm  # noqa: E402

import models  # noqa: E402
from services import passwords  # noqa: E402
from services.markdown import Renderer  # noqa: E402
from services.usernames import lookalike_key  # noqa: E402

PASSWORD = "bench-password-2026"
VIEWER_INDEX = 1  # the member the signed-in scenarios use (users.id == 1)
CHUNK = 20_000
BASE = datetime(2025, 1, 1, tzinfo=UTC)
AUDIENCES = ["everyone", "members", "following", "only_me"]
FIRST_NAMES = [
    "alice", "bob", "carol", "dave", "erin", "frank", "gina", "harry", "ivy", "jack",
    "kate", "liam", "maya", "noah", "olive", "pete", "quinn", "rosa", "sam", "tara",
]  # fmt: skip
TOWNS = ["Leeds", "Bristol", "Cardiff", "Glasgow", "York", "Bath", "Hull", "Derby", None]
PLANS = ["Slimming World", "WW", "Keto", "Mediterranean", "Calorie counting", None]
BODIES = [
    "Hi everyone, **starting** my journey this week.",
    "Welcome! The *support* forum is great on tough days.",
    "Have a look at the [NHS weight loss plan](https://www.nhs.uk/better-health/lose-weight/).",
    "Recipe:\n\n1. Onions, garlic, ginger\n2. Chicken breast\n3. Passata and spices\n\n"
    "Serve with cauliflower rice.",
    "Made this last night. Brilliant! I added spinach.",
    "Same weight three weeks running. Any tips?",
    "Plateaus are normal. Check portion sizes and keep a food diary for a week.",
    "> Keep going, it gets easier\n\nThat is what my sister told me and she was right.",
    "Walked `10,000` steps today for the first time since January!",
    "Down 0.5 kg this week. Slow but steady.",
    "Does anyone have a good low-fat *cheesecake*? Asking for a friend (me).",
    "Week 3 of couch to 5K done. My knees disagree but my head is happy.",
    "I found [this calculator](https://www.nhs.uk/health-assessment-tools/calculate-your-body"
    "-mass-index/) useful for setting a goal.",
    "## Meal plan\n\n- porridge\n- soup and a roll\n- stir fry\n\nAll under 1,500 kcal.",
    "Thank you all. Reading this thread every morning keeps me on track.",
    "Swimming twice a week now. The pool at 7am is lovely and quiet.",
    "Bad weekend, back on it today. No guilt, just the next good meal.",
    "Has anyone tried batch cooking on Sundays? It saved my weekdays.",
    "My goal is to walk up Arthur's Seat without stopping by summer.",
    "Tip: a smaller plate really does help. Sounds silly, works for me.",
    "Lovely to see everyone's progress. We are all in this together.",
    "Cut out fizzy drinks this month. Sparkling water with lime instead.",
    "Weighed in at the group tonight: **2 stone** down since last year!",
    "Question for the runners: which shoes for flat feet?",
    "Morning! Porridge with berries, black coffee, out the door.",
    "See the [British Heart Foundation recipes](https://www.bhf.org.uk/informationsupport/"
    "support/healthy-living/healthy-eating/recipes) - loads of ideas.",
    "I keep a diary in a notebook; writing it down makes me think twice.",
    "Plateau broken at last. Patience was the answer.",
    "Anyone near Leeds fancy a Saturday walk round Roundhay Park?",
    "Reading labels has been an eye-opener. Sugar is in everything.",
    "Long post, sorry. " + "Some days are harder than others, and that is fine. " * 12,
]
TITLES = [
    "Hello from {town}!", "Low-fat curry that actually tastes good", "Stuck on a plateau",
    "Couch to 5K: who's in?", "Weekly weigh-in thread #{n}", "Batch cooking ideas",
    "Walking group in {town}", "Cheesecake without the guilt", "Day {n} and counting",
    "Motivation needed", "Swimming for beginners", "What are you eating today? ({n})",
]  # fmt: skip


USER_COLUMNS = [
    "id", "username", "username_key", "email", "email_key", "password_hash", "date_of_birth",
    "role", "joined_at", "email_confirmed_at", "last_seen_at", "newsletter",
    "analytics_opt_out", "password_changed_at", "ip_cipher", "ip_hash", "user_agent",
]  # fmt: skip
THREAD_COLUMNS = [
    "id", "forum_id", "author_id", "title", "created_at", "last_message_id", "ip_cipher",
    "ip_hash", "user_agent",
]  # fmt: skip
CONVERSATION_COLUMNS = [
    "id", "title", "created_by_id", "created_at", "last_message_id", "ip_cipher", "ip_hash",
    "user_agent",
]  # fmt: skip
PARTICIPANT_COLUMNS = [
    "id", "conversation_id", "user_id", "joined_at", "last_read_message_id", "last_message_id",
]  # fmt: skip


def cursor(kind: str, key: int) -> str:
    """A keyset cursor exactly as the server makes them (base64url, no padding)."""
    return base64.urlsafe_b64encode(f"{kind}:{key}".encode()).decode().rstrip("=")


def at(seconds: float) -> datetime:
    """A moment after BASE, with a sub-second part (sometimes none, as in real data)."""
    whole = int(seconds)
    micro = (whole * 7919) % 1_000_000 if whole % 13 else 0
    return BASE + timedelta(seconds=whole, microseconds=micro)


def chunks(rows: Iterable[Sequence[Any]], size: int = CHUNK) -> Iterator[list[Sequence[Any]]]:
    """Lists of at most `size` rows."""
    batch: list[Sequence[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Inserter:
    """Bulk inserts through Tortoise's own connection: executemany on SQLite, COPY on
    PostgreSQL."""

    def __init__(self) -> None:
        self.db = connections.get("default")
        self.postgres = self.db.capabilities.dialect == "postgres"

    async def insert(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], total: int
    ) -> None:
        """Insert `total` rows, chunk by chunk, with a progress bar."""
        marks = ", ".join("?" for _ in columns)
        names = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
        with tqdm(total=total, desc=f"{table:>16}", unit="row", file=sys.stderr) as bar:
            for batch in chunks(rows):
                if self.postgres:
                    async with self.db.acquire_connection() as connection:
                        await connection.copy_records_to_table(
                            table, records=[tuple(r) for r in batch], columns=list(columns)
                        )
                else:
                    await self.db.execute_many(sql, [list(r) for r in batch])
                bar.update(len(batch))

    async def fix_sequences(self, tables: Sequence[str]) -> None:
        """After inserting explicit ids, move PostgreSQL's sequences past them."""
        if not self.postgres:
            return  # SQLite's AUTOINCREMENT follows the largest id by itself
        for table in tables:
            await self.db.execute_script(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table}"), 0) + 1, false)'
            )


def username_of(index: int) -> str:
    """The seeded member number `index` (1-based)."""
    return f"{FIRST_NAMES[index % len(FIRST_NAMES)]}{index:05d}"


async def seed(
    url: str, *, threads: int, messages: int, members: int, conversations: int = 40
) -> dict[str, Any]:
    """Fill an empty database; return what the scenarios need to know about it."""
    started = time.monotonic()
    await models.init_db(url)
    try:
        db = connections.get("default")
        _, rows = await db.execute_query('SELECT COUNT(*) AS n FROM "users"')
        if int(dict(rows[0])["n"]):
            raise SystemExit(f"{url} already has members; seed needs an empty database")
        # The search index is built once after the bulk insert: far faster than row by row.
        await search_index().uninstall(db)
        info = await _fill(threads, messages, members, conversations)
        await search_index().install(db)
    finally:
        await models.close_db()
    info["seconds"] = round(time.monotonic() - started, 1)
    return info


async def _fill(threads: int, messages: int, members: int, conversations: int) -> dict[str, Any]:
    rng = random.Random(2026)
    out = Inserter()
    renderer = Renderer("http://localhost:8000", b"bench-seed")
    password_hash = passwords.hash_password(PASSWORD)  # once: Argon2 is slow on purpose
    html = [renderer.render(body) for body in BODIES]

    # ---------------------------------------------------------------- members
    def users() -> Iterator[tuple[Any, ...]]:
        for i in range(1, members + 1):
            name = username_of(i)
            email = f"{name}@bench.example"
            joined = at(i * 1800)
            seen = at(365 * 86400 + rng.randrange(0, 30 * 86400)) if rng.random() < 0.8 else None
            born = date(1950 + rng.randrange(58), 1 + rng.randrange(12), 1 + rng.randrange(28))
            yield (
                i, name, lookalike_key(name), email, email, password_hash, born, "member",
                joined, joined, seen, False, False, joined, None, None, "bench",
            )  # fmt: skip

    await out.insert("users", USER_COLUMNS, users(), members)

    def profiles() -> Iterator[tuple[Any, ...]]:
        for i in range(1, members + 1):
            if rng.random() >= 0.7:
                continue
            weights: list[Decimal | None] = [None, None, None]
            if rng.random() < 0.4:
                start = Decimal(rng.randrange(700, 1500)) / 10
                weights = [start, start - Decimal(rng.randrange(0, 200)) / 10, Decimal(65)]
            bio = rng.choice([None, "Mum of two, love walking.", "Cook, cyclist.", BODIES[9]])
            website = rng.choice([None, f"https://{username_of(i)}.example.org"])
            yield (i, bio, rng.choice(TOWNS), website, rng.choice(PLANS), *weights, at(i))

    profile_columns = [
        "user_id", "bio", "location", "website", "diet_plan", "start_weight_kg",
        "current_weight_kg", "goal_weight_kg", "updated_at",
    ]  # fmt: skip
    profile_rows = list(profiles())
    await out.insert("profiles", profile_columns, profile_rows, len(profile_rows))

    def settings() -> Iterator[tuple[Any, ...]]:
        for i in range(1, members + 1):
            if rng.random() >= 0.4:
                continue
            pick = [rng.choice(AUDIENCES) for _ in range(12)]
            yield (i, *pick, "members", rng.random() < 0.95, at(i))

    settings_columns = [
        "user_id", "email", "date_of_birth", "age", "last_seen", "bio", "location", "website",
        "diet_plan", "weight_journey", "followers", "following", "who_can_message",
        "who_can_mention", "listed_in_members", "updated_at",
    ]  # fmt: skip
    settings_rows = list(settings())
    await out.insert("privacy_settings", settings_columns, settings_rows, len(settings_rows))

    # Every member follows five others; the viewer follows every third member, and every
    # fourth member follows the viewer (which opens their FOLLOWING fields to the viewer).
    pairs: set[tuple[int, int]] = set()
    for i in range(1, members + 1):
        for _ in range(5):
            other = rng.randrange(1, members + 1)
            if other != i:
                pairs.add((i, other))
    for i in range(2, members + 1):
        if i % 3 == 0:
            pairs.add((VIEWER_INDEX, i))
        if i % 4 == 0:
            pairs.add((i, VIEWER_INDEX))
    follows = sorted(pairs)
    await out.insert(
        "follows",
        ["id", "follower_id", "followee_id", "created_at"],
        ((n, a, b, at(n)) for n, (a, b) in enumerate(follows, 1)),
        len(follows),
    )

    # ---------------------------------------------------------------- forum, threads
    db = connections.get("default")
    await db.execute_query(
        'INSERT INTO "forums" ("id", "slug", "title", "description", "position") '
        "VALUES (1, 'weight-loss-support', 'Weight loss support', "
        "'Good days, bad days, plateaus and wins.', 0)"
    )
    total = threads * messages
    # Messages interleave across threads, as in a live forum: message k of thread t has
    # id k * threads + t (1-based t), so every thread holds exactly `messages`.
    thread_rows = []
    for t in range(1, threads + 1):
        title = rng.choice(TITLES).format(town=rng.choice(TOWNS[:-1]), n=t)
        last = (messages - 1) * threads + t if messages else 0
        author = rng.randrange(1, members + 1)
        thread_rows.append((t, 1, author, title, at(t * 60), last, None, None, "bench"))
    await out.insert("threads", THREAD_COLUMNS, thread_rows, threads)

    def thread_messages() -> Iterator[tuple[Any, ...]]:
        for k in range(messages):
            for t in range(1, threads + 1):
                message_id = k * threads + t
                pick = rng.randrange(len(BODIES))
                created = at(86400 + message_id * 3)
                roll = rng.random()
                edited = created + timedelta(minutes=3) if roll < 0.05 else None
                deleted = created + timedelta(hours=1) if 0.05 <= roll < 0.06 else None
                hidden = created + timedelta(hours=2) if 0.06 <= roll < 0.065 else None
                author = rng.randrange(1, members + 1) if roll < 0.995 else None
                yield (
                    message_id, t, None, author, BODIES[pick], html[pick], created, edited,
                    deleted, hidden, None, None, "bench",
                )  # fmt: skip

    message_columns = [
        "id", "thread_id", "conversation_id", "author_id", "body", "body_html", "created_at",
        "edited_at", "deleted_at", "hidden_at", "ip_cipher", "ip_hash", "user_agent",
    ]  # fmt: skip
    await out.insert("messages", message_columns, thread_messages(), total)

    # ---------------------------------------------------------------- conversations
    # The viewer's inbox: `conversations` conversations with one to three others, six
    # messages each (the viewer has read the first four).
    next_message = total + 1
    conversation_rows, participant_rows, private_rows = [], [], []
    for c in range(1, conversations + 1):
        others = rng.sample(range(2, members + 1), rng.randrange(1, 4))
        people = [VIEWER_INDEX, *others]
        first_id = next_message
        for n in range(6):
            pick = rng.randrange(len(BODIES))
            private_rows.append(
                (
                    next_message, None, c, people[n % len(people)], BODIES[pick], html[pick],
                    at(400 * 86400 + next_message * 5), None, None, None, None, None, "bench",
                )
            )  # fmt: skip
            next_message += 1
        last = next_message - 1
        title = rng.choice(TITLES).format(town=rng.choice(TOWNS[:-1]), n=c)
        conversation_rows.append((c, title, VIEWER_INDEX, at(c), last, None, None, "bench"))
        for person in people:
            read = first_id + 3 if person == VIEWER_INDEX else rng.choice([0, last])
            participant_rows.append((len(participant_rows) + 1, c, person, at(c), read, last))
    await out.insert("conversations", CONVERSATION_COLUMNS, conversation_rows, conversations)
    await out.insert("participants", PARTICIPANT_COLUMNS, participant_rows, len(participant_rows))
    await out.insert("messages", message_columns, private_rows, len(private_rows))
    await out.fix_sequences(
        ["users", "follows", "forums", "threads", "messages", "conversations", "participants"]
    )
    if out.postgres:
        await db.execute_script("ANALYZE")

    thread_id = (threads + 1) // 2  # a thread in the middle of the table
    post_thread = threads  # replies go to another thread, so the read pages never change
    middle = messages // 2  # the keyset position halfway through the thread
    after_id = (middle - 1) * threads + thread_id if messages >= 2 else 0
    return {
        "threads": threads,
        "messages_per_thread": messages,
        "members": members,
        "conversations": conversations,
        "thread_id": thread_id,
        "thread_gid": cursor("Thread", thread_id),
        "post_thread_gid": cursor("Thread", post_thread),
        "keyset_position": middle,
        "keyset_after": cursor("Message", after_id),
        "viewer": username_of(VIEWER_INDEX),
        "viewer_id": VIEWER_INDEX,
        "password": PASSWORD,
    }


def info_path(url: str) -> Path:
    """Where the scenario ids of a database are kept: beside a SQLite file, or under
    bench/data/ for a PostgreSQL database."""
    if url.startswith("sqlite://"):
        return Path(url.removeprefix("sqlite://").split("?")[0]).with_suffix(".json")
    name = url.rsplit("/", 1)[-1].split("?")[0]
    return Path(__file__).resolve().parent / "data" / f"postgres-{name}.json"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: seed one database and write its JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="sqlite://PATH or postgres://...")
    parser.add_argument("--threads", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200, help="messages per thread")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--conversations", type=int, default=40, help="in the viewer's inbox")
    parser.add_argument("--info", type=Path, help="JSON file for the scenario ids")
    args = parser.parse_args(argv)
    info = asyncio.run(
        seed(
            args.database_url,
            threads=args.threads,
            messages=args.messages,
            members=args.members,
            conversations=args.conversations,
        )
    )
    target = args.info or info_path(args.database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(info, indent=2) + "\n")
    print(f"seeded in {info['seconds']} s; scenario ids in {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
