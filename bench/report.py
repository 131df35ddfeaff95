"""The runner's tables: the rows, and issue 20's targets next to what was measured."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DATABASES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
# Which raw row each row is divided by: the anonymous page's for both thread pages.
BASELINE = {"anonymous": "anonymous", "signed_in": "anonymous", "inbox": "inbox"}
BASELINE |= {"post": "post", "keyset": "keyset"}
PAGES = ("anonymous", "signed_in", "inbox", "keyset")  # "at most 5 statements a page"


def baselines(scenarios: Sequence[Any], measure: str = "rps") -> dict[tuple[str, str], float]:
    """req/s (or CPU µs a request) of the raw baseline, not a ladder rung, per
    (database, scenario)."""
    found = {}
    for s in scenarios:
        if s.server == "raw" and not s.variant and s.result.get(measure):
            found[(s.target.engine, s.key)] = s.result[measure]
    return found


def ratio(s: Any, raws: dict[tuple[str, str], float]) -> float | None:
    """The row's req/s over its raw baseline's, in the same run."""
    base = raws.get((s.target.engine, BASELINE[s.key]))
    return s.result["rps"] / base if base and s.result else None


def cpu_ratio(s: Any, cpus: dict[tuple[str, str], float]) -> float | None:
    """The raw baseline's CPU time a request over the row's: what "x raw" would be if
    each had the core to itself."""
    base = cpus.get((s.target.engine, BASELINE[s.key]))
    return base / s.result["cpu_us"] if base and s.result.get("cpu_us") else None


def table(scenarios: Sequence[Any]) -> str:
    """The Markdown results table."""
    lines = [
        "| scenario | server | database | req/s | p50 ms | p99 ms | CPU \u00b5s/req | SQL/req "
        "| peak RSS MB | \u00d7 raw | \u00d7 raw by CPU |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    raws = baselines(scenarios)
    cpus = baselines(scenarios, "cpu_us")
    for s in scenarios:
        r = s.result
        if not r:
            continue
        found = ratio(s, raws)
        by_cpu = cpu_ratio(s, cpus)
        bad = f" ({r['bad']} bad)" if r["bad"] else ""
        spread = f" ({r['low']:,.0f}\u2013{r['high']:,.0f})" if r["runs"] > 1 else ""
        rss = f"{r['rss']:.0f}" if r.get("rss") else "?"
        cpu = f"{r['cpu_us']:,.0f}" if r.get("cpu_us") else "—"
        lines.append(
            f"| {s.title} | {s.label} | {DATABASES[s.target.engine]} | {r['rps']:,.0f}{spread}"
            f"{bad} | {r['p50']:.1f} | {r['p99']:.1f} | {cpu} | {sql(s)} | {rss} | "
            f"{'—' if found is None else f'{found:.3f}'} | "
            f"{'—' if by_cpu is None else f'{by_cpu:.3f}'} |"
        )
    return "\n".join(lines)


def sql(s: Any) -> str:
    """Statements a request runs; for a cached page also those of a hit."""
    if s.sql is None:
        return "?"
    return f"{s.sql} (hit: {s.sql_hit})" if s.sql_hit is not None else str(s.sql)


Measure = Callable[[Sequence[Any], str], "tuple[float | None, str]"]


def _ratio_of(key: str, cache: bool = True) -> Measure:
    def measure(scenarios: Sequence[Any], engine: str) -> tuple[float | None, str]:
        raws = baselines(scenarios)
        for s in scenarios:
            if (s.server, s.key, s.cache, s.workers, s.target.engine) == (
                "forum", key, cache, 1, engine,
            ):  # fmt: skip
                found = ratio(s, raws)
                by_cpu = cpu_ratio(s, baselines(scenarios, "cpu_us"))
                text = "—" if found is None else f"{found:.3f} \u00d7"
                if by_cpu is not None:
                    text += f" (by CPU {by_cpu:.3f} \u00d7)"
                return found, text
        return None, "not run"

    return measure


def _statements(scenarios: Sequence[Any], engine: str) -> tuple[float | None, str]:
    counts = {
        s.key: s.sql
        for s in scenarios
        if s.server == "forum" and s.key in PAGES and s.target.engine == engine and s.sql
    }
    if not counts:
        return None, "not run"
    worst = max(counts.values())
    return worst, f"{worst} (" + ", ".join(f"{k} {n}" for k, n in counts.items()) + ")"


def _rss_big(scenarios: Sequence[Any], engine: str) -> tuple[float | None, str]:
    peaks = [
        s.result["rss"]
        for s in scenarios
        if s.server == "forum" and s.target.engine == engine and s.target.size == "big"
        if s.result.get("rss")
    ]
    if not peaks:
        return None, "not run (--big)"
    return max(peaks), f"{max(peaks):.0f} MB"


# (what issue 20 asks, how it is measured, is it met)
TARGETS: list[tuple[str, Measure, Callable[[float], bool]]] = [
    ("uncached signed-out thread page \u2265 0.35 \u00d7 raw", _ratio_of("anonymous", False),
     lambda v: v >= 0.35),
    ("signed-in thread page \u2265 0.25 \u00d7 raw", _ratio_of("signed_in"), lambda v: v >= 0.25),
    ("inbox \u2265 0.25 \u00d7 the raw inbox", _ratio_of("inbox"), lambda v: v >= 0.25),
    ("posting \u2265 0.3 \u00d7 the raw reply", _ratio_of("post"), lambda v: v >= 0.3),
    ("at most 5 statements a page", _statements, lambda v: v <= 5),
    ("RSS under 250 MB at 1 M messages", _rss_big, lambda v: v < 250),
    ("cached signed-out thread page \u2265 4 \u00d7 raw", _ratio_of("anonymous"),
     lambda v: v >= 4),
]  # fmt: skip


def targets(scenarios: Sequence[Any]) -> str:
    """Issue 20's targets, each with what this run measured on each database."""
    engines = [e for e in DATABASES if any(s.target.engine == e for s in scenarios)]
    lines = [
        "| target | " + " | ".join(DATABASES[e] for e in engines) + " |",
        "|---|" + "---|" * len(engines),
    ]
    for name, measure, met in TARGETS:
        cells = []
        for engine in engines:
            value, text = measure(scenarios, engine)
            verdict = "" if value is None else " **met**" if met(value) else " not met"
            cells.append(text + verdict)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_average() -> float:
    """The one-minute load average (0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def machine(load_at_start: float) -> str:
    """One line about where the numbers came from."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({model or 'unknown CPU'}), load average "
        f"{load_at_start:.2f} at the start and {load_average():.2f} at the end, "
        f"Python {sys.version.split()[0]}"
    )
