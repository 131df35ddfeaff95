"""Full-text search of thread titles and public messages, in each database's own engine.

SQLite: two FTS5 tables with external content (the text stays in threads and messages),
kept in step by triggers. A message is in the index only while it can be read by
anyone: in a thread, neither deleted nor hidden. Conversations never enter it.

PostgreSQL: generated tsvector columns with GIN indexes. The message column is NULL
unless the message is public and visible, so nothing else can match.

Snippets mark matches with the control characters 2 and 3 (and the search code maps 4
and 5 back to < and >), so the text the engines read has those four replaced by spaces:
no stored text can fake a marker.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

TOKENIZE = "porter unicode61"  # English stemming; case and diacritics folded


def _clean(column: str) -> str:
    """SQLite: the text of `column` with the marker characters replaced by spaces."""
    for code in (2, 3, 4, 5):
        column = f"replace({column}, char({code}), ' ')"
    return column


SEARCHABLE = "{0}.thread_id IS NOT NULL AND {0}.deleted_at IS NULL AND {0}.hidden_at IS NULL"
CHANGED = (
    "old.body IS NOT new.body OR old.thread_id IS NOT new.thread_id "
    "OR old.deleted_at IS NOT new.deleted_at OR old.hidden_at IS NOT new.hidden_at"
)


def _unindex_message(row: str) -> str:
    return (
        "INSERT INTO message_search (message_search, rowid, body) "
        f"SELECT 'delete', {row}.id, {_clean(row + '.body')} WHERE {SEARCHABLE.format(row)}"
    )


def _index_message(row: str) -> str:
    return (
        f"INSERT INTO message_search (rowid, body) SELECT {row}.id, {_clean(row + '.body')} "
        f"WHERE {SEARCHABLE.format(row)}"
    )


def _unindex_thread(row: str) -> str:
    return (
        "INSERT INTO thread_search (thread_search, rowid, title) "
        f"VALUES ('delete', {row}.id, {_clean(row + '.title')})"
    )


def _index_thread(row: str) -> str:
    return f"INSERT INTO thread_search (rowid, title) VALUES ({row}.id, {_clean(row + '.title')})"


# Each trigger runs its statements in order (delete the old text, then index the new):
# FTS5 must be told exactly which text it indexed for a row to remove it again.
SQLITE_TRIGGERS = (
    f"CREATE TRIGGER search_message_insert AFTER INSERT ON messages "
    f"BEGIN {_index_message('new')}; END",
    f"CREATE TRIGGER search_message_update AFTER UPDATE OF body, thread_id, deleted_at, "
    f"hidden_at ON messages WHEN {CHANGED} "
    f"BEGIN {_unindex_message('old')}; {_index_message('new')}; END",
    f"CREATE TRIGGER search_message_delete AFTER DELETE ON messages "
    f"BEGIN {_unindex_message('old')}; END",
    f"CREATE TRIGGER search_thread_insert AFTER INSERT ON threads BEGIN {_index_thread('new')}; END",
    "CREATE TRIGGER search_thread_update AFTER UPDATE OF title ON threads "
    f"WHEN old.title IS NOT new.title BEGIN {_unindex_thread('old')}; {_index_thread('new')}; END",
    f"CREATE TRIGGER search_thread_delete AFTER DELETE ON threads "
    f"BEGIN {_unindex_thread('old')}; END",
)
SQLITE_TRIGGER_NAMES = tuple(statement.split()[2] for statement in SQLITE_TRIGGERS)

SQLITE_CREATE = (
    # The views are what FTS5 reads for snippets and for 'rebuild': cleaned text, and
    # for messages only the searchable ones.
    f"CREATE VIEW search_thread_text AS SELECT id, {_clean('title')} AS title FROM threads",
    f"CREATE VIEW search_message_text AS SELECT m.id, {_clean('m.body')} AS body "
    f"FROM messages m WHERE {SEARCHABLE.format('m')}",
    "CREATE VIRTUAL TABLE thread_search USING fts5(title, content='search_thread_text', "
    f"content_rowid='id', tokenize='{TOKENIZE}')",
    "CREATE VIRTUAL TABLE message_search USING fts5(body, content='search_message_text', "
    f"content_rowid='id', tokenize='{TOKENIZE}')",
    "INSERT INTO thread_search (thread_search) VALUES ('rebuild')",
    "INSERT INTO message_search (message_search) VALUES ('rebuild')",
    *SQLITE_TRIGGERS,
)

SQLITE_DROP = (
    *(f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGER_NAMES),
    "DROP TABLE IF EXISTS message_search",
    "DROP TABLE IF EXISTS thread_search",
    "DROP VIEW IF EXISTS search_message_text",
    "DROP VIEW IF EXISTS search_thread_text",
)

POSTGRES_CREATE = (
    "ALTER TABLE threads ADD COLUMN search_vector tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title)) STORED",
    "CREATE INDEX threads_search_vector ON threads USING gin (search_vector)",
    "ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (CASE WHEN "
    f"{SEARCHABLE.format('messages')} THEN to_tsvector('english'::regconfig, body) END) STORED",
    "CREATE INDEX messages_search_vector ON messages USING gin (search_vector)",
    # A search page reads a few thousand rows at most; a parallel plan for its fallback
    # part would start workers even when that part never runs (measured: +25-50 ms).
    "ALTER TABLE messages SET (parallel_workers = 0)",
    "ALTER TABLE threads SET (parallel_workers = 0)",
    "ANALYZE threads",
    "ANALYZE messages",
)

POSTGRES_DROP = (
    "ALTER TABLE threads RESET (parallel_workers)",
    "ALTER TABLE messages RESET (parallel_workers)",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE threads DROP COLUMN IF EXISTS search_vector",
)


async def install(client) -> None:
    """Create the search index on a database (the migration, and the benchmark)."""
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in SQLITE_CREATE if sqlite else POSTGRES_CREATE:
        await client.execute_query(statement)


async def uninstall(client) -> None:
    """Remove the search index (reversing the migration; the benchmark's baseline)."""
    sqlite = client.capabilities.dialect == "sqlite"
    for statement in SQLITE_DROP if sqlite else POSTGRES_DROP:
        await client.execute_query(statement)


async def forwards(apps, schema_editor) -> None:
    await install(schema_editor.client)


async def backwards(apps, schema_editor) -> None:
    await uninstall(schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [('models', '0007_pending_registrations')]

    initial = False

    operations = [ops.RunPython(forwards, backwards)]
