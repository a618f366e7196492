"""``python -m benchmarks --scale street|district [--json FILE] [--keep DIR] [--inbox DIR]``: SPEC §9's figures.

Generates the inbox with the demo generator (or takes ``--inbox``), then in one run: the ingest
against DuckDB's bare read of the same files, every page query through the page functions
(median and p95, per page), the people-tag filter, the pandas baseline, and each page's first
paint in headless Chromium (skipped, and said, without chromium). Prints a table; ``--json``
writes the same keys.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.ingest import measure
from benchmarks.pages import first_paint, measure_pages, measure_pandas

TARGETS = {
    "page_query_p50_ms": ("≤", 50),
    "page_query_p95_ms": ("≤", 200),
    "tag_filter_ms": ("≤", 30),
    "ingest_ratio_to_duckdb_read": ("≤", 3),
    "ingest_peak_rss_mib": ("≤", 8192),
    "first_paint_max_s": ("≤", 2),
}


def progress(figures: dict) -> None:
    """Each phase's figures as soon as they exist, so a long district run leaves them even if stopped."""
    print("… " + json.dumps({k: v for k, v in figures.items() if not isinstance(v, dict)}, ensure_ascii=False), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--scale", default="street", choices=["tiny", "street", "district"])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", type=Path, help="work folder to keep (default: a temporary one, removed)")
    ap.add_argument("--inbox", type=Path, help="a generated inbox to use instead of generating one")
    ap.add_argument("--no-browser", action="store_true", help="skip the first-paint measurement")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs per page query (pandas: fewer)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
    try:
        figures, wh = measure(args.scale, work, args.inbox)
        progress(figures)
        figures |= measure_pages(wh, args.repeat)
        progress(figures)
        figures |= measure_pandas(wh, max(1, args.repeat // 2))
        progress(figures)
        if args.no_browser or not (shutil.which("chromium") and shutil.which("chromedriver")):
            figures |= {"first_paint_s": None, "first_paint_max_s": None, "first_paint_problems": ["skipped: no chromium"]}
        else:
            figures |= first_paint(wh, work / "state")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    flat = {k: v for k, v in figures.items() if not isinstance(v, dict)}
    width = max(map(len, flat))
    for k, v in flat.items():
        target = TARGETS.get(k)
        mark = ""
        if target and isinstance(v, int | float):
            mark = f"   target {target[0]} {target[1]}  {'met' if v <= target[1] else 'NOT MET'}"
        print(f"{k:<{width}}  {v}{mark}")
    print("per page (p50 / p95 ms, queries):")
    for page, v in figures["per_page"].items():
        print(f"  {page:<8} {v['p50_ms']:>8} {v['p95_ms']:>8}  {v['queries']}")
    if figures.get("first_paint_s"):
        print("first paint (s): " + ", ".join(f"{k} {v}" for k, v in figures["first_paint_s"].items()))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
