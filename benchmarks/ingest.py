"""Ingest benchmark: wall time and peak memory of `cockpit ingest` against DuckDB's own read of the same files.

    uv run python -m benchmarks.ingest --scale street [--json FILE] [--keep DIR]

Both sides run as child processes of this script on the same inbox, each after the inbox has been
read once into the page cache (``warm``): the baseline once before the ingest and once after it, so
that the ratio's denominator is the machine's speed on both sides of the ingest, not at one moment
(``duckdb_read_s`` is the mean of the two, ``duckdb_read_runs_s`` both). ``ingest`` is the full run
(read, validate, load, staging models, quality suites, analytics file, publish); the baseline is
DuckDB alone reading every file it can read natively into a table (``read_csv`` for CSV/TSV(.gz),
``read_json`` for JSON lines). Workbooks and Open311 JSON need extensions DuckDB would have to
download, so they are left out of the baseline and their share of the rows is printed.

Why twice: on this VM the same bare read of the district inbox took 82.5–97.2 s in one day's runs,
while the ingest's CPU stayed 3.7–3.9× the bare read's: a single baseline read minutes after the
ingest moved the ratio by ±0.2 on its own.
"""

from __future__ import annotations

import argparse
import codecs
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from pipelines.demo import generate

BASELINE = r"""
import duckdb, sys, json
files = json.loads(sys.argv[1])
con = duckdb.connect(sys.argv[2])
for i, (path, kind, enc) in enumerate(files):
    if kind == "csv":
        sql = f"create table t{i} as select * from read_csv(?, all_varchar=true, header=true, encoding='{enc}')"
    else:
        sql = f"create table t{i} as select * from read_json(?, format='newline_delimited')"
    con.execute(sql, [path])
con.close()
"""


def child(cmd: list[str]) -> tuple[float, float, float]:
    """Run a child process; return its wall seconds, its own peak RSS in MiB and its CPU seconds (user +
    system, from wait4: against the wall time, how many of the cores it kept busy)."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd[:5])}\n{out.read().decode()[-4000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def warm(inbox: Path) -> int:
    """Read every file of the inbox once, so that each side starts with it in the page cache; returns the
    bytes read. On this VM the host reclaims page cache between runs: the bare read took 52–57 s with the
    files cached and 72.4 s once without, and the ingest, which reads first, was the one to meet a cold
    cache otherwise."""
    n = 0
    for p in sorted(inbox.rglob("*")):
        if p.is_file():
            with p.open("rb") as f:
                while chunk := f.read(64 << 20):
                    n += len(chunk)
    return n


def baseline_files(inbox: Path) -> tuple[list, list]:
    native, other = [], []
    for p in sorted(inbox.rglob("*")):
        name = p.name.lower()
        if not p.is_file() or name == "mapping.toml" or name.endswith(".txt"):
            continue
        if name.endswith((".csv", ".tsv", ".csv.gz", ".tsv.gz")):
            raw = p.read_bytes()[:200_000]
            if name.endswith(".gz"):
                import gzip

                raw = gzip.decompress(p.read_bytes())[:200_000]
            try:
                codecs.getincrementaldecoder("utf-8")().decode(
                    raw, final=False
                )  # the sample may end mid-character
                enc = "utf-8"
            except UnicodeDecodeError:
                enc = "latin-1"  # GB18030 needs a downloaded extension; latin-1 scans the same bytes
            native.append((str(p), "csv", enc))
        elif name.endswith((".jsonl", ".jsonl.gz")):
            native.append((str(p), "json", "utf-8"))
        else:
            other.append(str(p))
    return native, other


def measure(scale: str, work: Path, inbox_given: Path | None = None) -> tuple[dict, Path]:
    """Generate (unless given) and ingest an inbox; time it against DuckDB's bare read. Returns the
    figures and the warehouse folder."""
    work.mkdir(parents=True, exist_ok=True)
    as_of = date(2026, 11, 20)
    t0 = time.perf_counter()
    if inbox_given:
        inbox = inbox_given
        manifest = json.loads((inbox.parent / f"{inbox.name}.manifest.json").read_text())
    else:
        inbox = work / "inbox"
        manifest = generate(inbox, scale, as_of=as_of)
    gen_s = time.perf_counter() - t0
    rows = sum(manifest["rows"].values())
    native, other = baseline_files(inbox)
    other_rows = sum(v for k, v in manifest["rows"].items() if str(inbox / k) in other)

    wh = work / "warehouse"
    shutil.rmtree(wh, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pipelines.cli",
        "ingest",
        "--inbox",
        str(inbox),
        "--warehouse",
        str(wh),
        "--as-of",
        as_of.isoformat(),
    ]
    base_db = work / "baseline.duckdb"

    def baseline() -> tuple[float, float, float]:
        base_db.unlink(missing_ok=True)
        warm(inbox)
        try:
            return child([sys.executable, "-c", BASELINE, json.dumps(native), str(base_db)])
        finally:
            base_db.unlink(missing_ok=True)

    before = baseline()
    warm(inbox)
    ingest_s, ingest_mib, ingest_cpu = child(cmd)
    after = baseline()
    base_s, base_cpu = (before[0] + after[0]) / 2, (before[2] + after[2]) / 2
    base_mib = max(before[1], after[1])
    report = json.loads(sorted((wh / "runs").glob("*.json"))[-1].read_text())
    figures = {
        "scale": scale,
        "input_rows": rows,
        "input_files": len(manifest["rows"]),
        "input_mib": round(sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 2**20, 1),
        "generate_s": round(gen_s, 1),
        "ingest_s": round(ingest_s, 1),
        "ingest_peak_rss_mib": round(ingest_mib),
        "ingest_cpu_s": round(ingest_cpu, 1),
        "duckdb_read_s": round(base_s, 1),
        "duckdb_read_runs_s": [round(before[0], 2), round(after[0], 2)],
        "duckdb_read_peak_rss_mib": round(base_mib),
        "duckdb_read_cpu_s": round(base_cpu, 1),
        "ingest_ratio_to_duckdb_read": round(ingest_s / base_s, 2),
        "ingest_ratio_to_each_read": [round(ingest_s / before[0], 2), round(ingest_s / after[0], 2)],
        "rows_not_in_baseline": other_rows,
        "loaded": sum(f["loaded"] for f in report["files"]),
        "quarantined": sum(f["quarantined"] for f in report["files"]),
        **{f"stage_{k}_s": v for k, v in report["stages"].items()},
        **{f"stage_{k}_peak_rss_mib": v for k, v in report.get("stage_peak_rss_mib", {}).items()},
        **{f"stage_{k}_cpu_s": v for k, v in report.get("stage_cpu_s", {}).items()},
        "slowest_models_s": dict(sorted(report.get("model_seconds", {}).items(), key=lambda kv: -kv[1])[:8]),
    }
    return figures, wh


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", default="street", choices=["tiny", "street", "district"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one)")
    ap.add_argument("--inbox", type=Path, help="use this generated inbox instead of generating one")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    figures, _ = measure(args.scale, work, args.inbox)
    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
