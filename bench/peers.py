"""`--peers`: the project's rows beside the peers-perf tool's `limit`, `postgraphile` and
best Strawberry design, timed by that tool in the same run.

The tool lives read-only in the shared folder. Its files are copied to
bench/data/peers-perf (its own venv, PostGraphile, seeded databases and results stay
there between runs, so it is set up and seeded once) and run from there, as its README
says; nothing of it enters the project.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COPY = HERE / "data" / "peers-perf"
ROWS = (
    "limit",
    "postgraphile",
    "sb-5b-doc-cache-ext",
    "project",
    "project-cached",
    "project-signed-in",
)
# How the tool starts its Python servers (servers.toml), for the ladder's `limit` rung.
UVICORN = ["--host", "127.0.0.1", "--workers", "1", "--loop", "uvloop", "--http", "httptools"]
UVICORN += ["--no-access-log", "--log-level", "warning"]
LOCAL = (".venv", "node_modules", ".data", "results", "__pycache__")


def source() -> Path:
    """The shared tool: PEERS_PERF_DIR, or shared/peers-perf beside the checkout."""
    if os.environ.get("PEERS_PERF_DIR"):
        return Path(os.environ["PEERS_PERF_DIR"])
    for base in (ROOT.parent, ROOT.parent.parent):
        if (base / "shared" / "peers-perf" / "run.sh").exists():
            return base / "shared" / "peers-perf"
    raise FileNotFoundError("peers-perf not found: set PEERS_PERF_DIR")


def copy_dir() -> Path:
    """Where the tool runs from."""
    return COPY


def prepare() -> Path:
    """Copy the tool's files over our copy, set it up once, seed its SQLite file."""
    shutil.copytree(source(), COPY, dirs_exist_ok=True, ignore=shutil.ignore_patterns(*LOCAL))
    for path in [COPY, *COPY.rglob("*")]:
        if not any(part in LOCAL for part in path.relative_to(COPY).parts):
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
    if (
        not (COPY / ".venv" / "bin" / "python").exists()
        or not (COPY / "node_modules" / ".bin" / "postgraphile").exists()
    ):
        print(f"setting up {COPY.relative_to(ROOT)} (once)", flush=True)
        subprocess.run([str(COPY / "run.sh"), "setup"], cwd=COPY, check=True, timeout=1200)
    # The ladder's `limit` rung reads this file; run.sh seeds PostgreSQL itself.
    subprocess.run(
        [str(COPY / ".venv" / "bin" / "python"), "seed.py", "--sqlite", ".data/forum.sqlite3"],
        cwd=COPY,
        check=True,
        timeout=900,
    )
    return COPY


def run(runs: int, duration: float, warmup: float, connections: int) -> list[dict[str, Any]]:
    """Time the peers and the project's rows with the tool; its result rows."""
    out = COPY / "results" / "bench"
    command = [str(COPY / "run.sh"), "--only", ",".join(ROWS), "--runs", str(runs)]
    command += ["--duration", str(max(1, round(duration))), "--warmup", str(round(warmup))]
    command += ["--connections", str(connections), "--out", str(out)]
    env = {**os.environ, "PROJECT_DIR": str(ROOT)}
    env.pop("TEST_POSTGRES_URL", None)
    every = set(range(os.cpu_count() or 1))  # the runner pins itself; the tool pins its own
    subprocess.run(
        command,
        cwd=COPY,
        env=env,
        check=False,
        timeout=3600,
        preexec_fn=lambda: os.sched_setaffinity(0, every),
    )
    found = json.loads(out.with_suffix(".json").read_text())
    return list(found["results"])


def table(results: list[dict[str, Any]], raw_rps: float | None) -> str:
    """The tool's rows as a Markdown table, and where this bench's raw baseline sits."""
    limit = next((r["rps"] for r in results if r["name"] == "limit" and r.get("rps")), None)
    lines = [
        "| peers-perf row | req/s | p50 ms | p99 ms | \u00d7 limit | SQL/req | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if not r.get("rps"):
            lines.append(f"| {r['name']} | — | — | — | — | — | {r.get('error', 'not run')} |")
            continue
        spread = f" ({r['rps_min']:,.0f}\u2013{r['rps_max']:,.0f})" if len(r["runs"]) > 1 else ""
        ratio = f"{r['rps'] / limit:.3f}" if limit else "—"
        count = r.get("sql_per_request")
        lines.append(
            f"| {r['name']} | {r['rps']:,.0f}{spread} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
            f"{ratio} | {'—' if count is None else count} | {r['errors']} |"
        )
    if limit and raw_rps:
        lines.append(
            f"\nThis bench's raw baseline (its bigger anonymous page, SQLite, core 0) served "
            f"{raw_rps:,.0f} req/s in the same run: {raw_rps / limit:.3f} \u00d7 `limit`."
        )
    return "\n".join(lines)
