"""Where a scenario's CPU goes in the project's server: py-spy samples the server (core 0)
while wrk loads it (core 1), then the samples are summed by library.

    python bench/profile_server.py [--scenario signed_in] [--seconds 20] [--uncached]

py-spy comes from bench/requirements.txt (bench/run.py installs it into bench/data/site).
`--scenario anonymous` profiles warm response-cache hits (the page is requested once
before, so every timed request is a hit); `--uncached` runs it with RESPONSE_CACHE=false.

Uses bench/data/standard.sqlite3 (run `bench/run.py` once to seed it). py-spy samples
only the thread holding the GIL (`--gil`): Python's own work, not SQLite's C code in
aiosqlite's thread. Prints the share of samples whose innermost frame is in each
library ("self"), the busiest functions, and the share spent anywhere under a few
landmark functions ("inclusive"); the raw collapsed stacks
are kept in bench/data/profile-<scenario>.txt for flame-graph tools.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402

LIBRARIES = [  # (label, path prefixes) - py-spy names files relative to sys.path
    ("graphql-core: execution", ("graphql/execution/",)),
    ("graphql-core: validation", ("graphql/validation/",)),
    ("graphql-core: language (parser, AST visitor)", ("graphql/language/",)),
    ("graphql-core: other", ("graphql/",)),
    ("strawberry", ("strawberry/",)),
    ("tortoise ORM", ("tortoise/",)),
    ("pypika (SQL building)", ("pypika",)),
    ("aiosqlite / sqlite3", ("aiosqlite/", "sqlite3/")),
    ("asyncpg", ("asyncpg/",)),
    ("starlette", ("starlette/",)),
    ("h11 (HTTP parsing and writing)", ("h11/",)),
    ("uvicorn", ("uvicorn/",)),
    ("logging", ("logging/",)),
    ("hashlib / uuid", ("hashlib.py", "uuid.py")),
    ("json", ("json/",)),
    ("asyncio", ("asyncio/",)),
    ("project code", ("server.py", "schema/", "resolvers/", "services/", "models/")),
    ("datetime / decimal / enum", ("datetime.py", "_pydecimal.py", "enum.py")),
    ("typing / inspect / dataclasses", ("typing.py", "inspect.py", "dataclasses.py")),
]
LANDMARKS = [  # (label, function, path prefix): samples with this frame anywhere on the stack
    ("parse + validate (Strawberry's _prepare_operation)", "_prepare_operation", "strawberry/"),
    ("validation (validate_document)", "validate_document", "strawberry/"),
    ("resolvers' DataLoader batch functions", "dispatch_batch", "strawberry/dataloader.py"),
    ("Tortoise queries (QuerySet._execute)", "_execute", "tortoise/queryset.py"),
    ("Tortoise model building (Model._init_from_db)", "_init_from_db", "tortoise/models.py"),
    ("the privacy extension (Private.resolve_async)", "resolve_async", "schema/privacy.py"),
    ("session lookup (session_for_token)", "session_for_token", "resolvers/sessions.py"),
    ("JSON encoding (json.dumps)", "dumps", "json/"),
    ("JSON decoding (json.loads)", "loads", "json/"),
    # What a response-cache hit passes through, outermost first.
    ("uvicorn's h11 protocol (data_received: parse, dispatch)", "data_received", "uvicorn/"),
    ("the ASGI app (RequestLog and everything inside)", "__call__", "web/requestlog.py"),
    ("the request log line (RequestLog._write)", "_write", "web/requestlog.py"),
    ("the front (Front.__call__, version read included)", "__call__", "web/front.py"),
    ("the cache version read (ResponseCache.version)", "version", "web/cache.py"),
    ("the cache key (Front._key: variables JSON, sha256)", "_key", "web/front.py"),
    ("reading the body (_Request.read)", "read", "web/front.py"),
    ("sending the answer (h11 send, transport write)", "send", "uvicorn/"),
]
# Each sample goes to the first of these met walking from its innermost frame outwards,
# so the shares add up to 100 % (a hit's HTTP writing counts as HTTP, not as the front
# that called `send`; JSON inside the log line counts as the log line).
LAYERS = [  # (label, function prefix or "", path prefix)
    ("HTTP: h11 and uvicorn's protocol (parse, validate, write)", "", "h11/"),
    ("HTTP: h11 and uvicorn's protocol (parse, validate, write)", "", "uvicorn/protocols/"),
    ("the cache version read (Tortoise, aiosqlite's thread hand-off)", "version", "web/cache.py"),
    ("the request log line (RequestLog._write)", "_write", "web/requestlog.py"),
    ("GraphQL execution (a miss)", "", "graphql/"),
    ("GraphQL execution (a miss)", "", "strawberry/"),
    ("the front's own work (body, JSON, key, LRU)", "", "web/front.py"),
    ("middleware (web/middleware.py, requestlog, Starlette's CORS and host check)", "",
     "web/middleware.py"),
    ("middleware (web/middleware.py, requestlog, Starlette's CORS and host check)", "",
     "web/requestlog.py"),
    ("middleware (web/middleware.py, requestlog, Starlette's CORS and host check)", "",
     "services/"),
    ("middleware (web/middleware.py, requestlog, Starlette's CORS and host check)", "",
     "starlette/middleware/"),
    ("Starlette's app and router", "", "starlette/"),
    ("the event loop and the rest", "", ""),
]  # fmt: skip
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*?)(?::\d+)?\)$")


def parts(frame: str) -> tuple[str, str]:
    """(function, path) of a py-spy frame `function (path:line)`."""
    found = FRAME.match(frame)
    return (found["function"], found["path"]) if found else (frame, "")


def library(frame: str) -> str:
    """The library a frame's code belongs to."""
    _, path = parts(frame)
    for label, prefixes in LIBRARIES:
        if path.startswith(prefixes):
            return label
    return "other"


def summarise(raw: Path) -> str:
    """The report for a py-spy `--format raw` file."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = stack.split(";")
        total += samples
        leaf = frames[-1]
        own[library(leaf)] += samples
        function, path = parts(leaf)
        leaves[f"{function.replace('.<locals>', '')} ({path})"] += samples
        named = [parts(frame) for frame in frames]
        layers[layer(named)] += samples
        for label, function, path in LANDMARKS:
            if any(f.split(".")[-1].startswith(function) and p.startswith(path) for f, p in named):
                under[label] += samples
    if not total:
        return "no samples"
    lines = [f"{total} samples", "", "| self time in | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.0%} |" for name, n in own.most_common()]
    lines += ["", "| busiest functions (self) | share |", "|---|---:|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in leaves.most_common(12)]
    lines += ["", "| anywhere under | share |", "|---|---:|"]
    lines += [f"| {label} | {under[label] / total:.0%} |" for label, _, _ in LANDMARKS]
    lines += ["", "| layer (each sample once, innermost match) | share |", "|---|---:|"]
    lines += [f"| {name} | {n / total:.0%} |" for name, n in layers.most_common()]
    return "\n".join(lines)


def layer(named: list[tuple[str, str]]) -> str:
    """The LAYERS label of a stack, walking from its innermost frame outwards."""
    for function, path in reversed(named):
        for label, prefix, place in LAYERS[:-1]:
            if path.startswith(place) and function.split(".")[-1].startswith(prefix):
                return label
    return LAYERS[-1][0]


def main() -> int:
    """Profile one scenario."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="signed_in", choices=sorted(run.TITLES))
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--uncached", action="store_true", help="RESPONSE_CACHE=false")
    args = parser.parse_args()
    run.ensure_site()
    spy = str(run.DATA / "site" / "bin" / "py-spy")
    wrk = run.ensure_wrk()
    if not Path(spy).exists() or wrk is None:
        print("needs py-spy (pip install py-spy) and wrk", file=sys.stderr)
        return 1
    target = run.sqlite_target("big" if args.scenario == "keyset" else "standard", False)
    scenario = next(
        s
        for s in run.scenarios_for(target)
        if s.key == args.scenario and s.server == "forum" and s.cache != args.uncached
    )
    name = args.scenario + ("-uncached" if args.uncached else "")
    out = run.DATA / f"profile-{name}.txt"
    with run.running("forum", target, scenario.body, cache=scenario.cache) as server:
        cookie = run.login(server.url, target.info) if scenario.signed_in else None
        run.warm_up(server.url, scenario.body, cookie, 3)
        load = threading.Thread(
            target=run.run_wrk,
            args=(wrk, server.url, scenario.body, cookie, args.seconds + 4, args.connections),
        )
        load.start()
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                [
                    spy,
                    "record",
                    "--pid",
                    str(server.process.pid),
                    "--duration",
                    str(args.seconds),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    str(Path(tmp) / "raw.txt"),
                    "--gil",
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={**os.environ},
            )
            shutil.copy(Path(tmp) / "raw.txt", out)
        load.join()
    print(f"{scenario.title}, {scenario.label}, SQLite, {args.seconds} s, wrk -c{args.connections}")
    print(summarise(out))
    print(f"\ncollapsed stacks: {out.relative_to(run.ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
