"""The benchmark runs end to end and writes every SPEC §9 key (a smoke run: figures, never times, are checked)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "ingest_s", "ingest_peak_rss_mib", "duckdb_read_s", "ingest_ratio_to_duckdb_read",
    "page_query_p50_ms", "page_query_p95_ms", "tag_filter_ms", "pandas_baseline_ratio", "per_page",
    "first_paint_s", "first_paint_max_s",
}
PAGES = {"总览", "诉求", "网格考核", "人群标签", "烦恼指数图", "志愿积分", "物联感知"}


def test_benchmark_json_is_complete(tmp_path):
    out = tmp_path / "bench.json"
    p = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "tiny", "--json", str(out), "--no-browser"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert KEYS <= set(figures), KEYS - set(figures)
    assert PAGES <= set(figures["per_page"])
    for k in ("ingest_s", "duckdb_read_s", "page_query_p50_ms", "page_query_p95_ms", "tag_filter_ms", "pandas_baseline_ratio"):
        assert isinstance(figures[k], int | float) and figures[k] > 0, k
    assert figures["page_query_p95_ms"] >= figures["page_query_p50_ms"]
    # the bare read runs before the ingest and after it; the ratio is against their mean, and against each
    before, after = figures["duckdb_read_runs_s"]
    assert before > 0 and after > 0 and abs(figures["duckdb_read_s"] - (before + after) / 2) <= 0.1
    ratios = figures["ingest_ratio_to_each_read"]
    for ratio, read in zip(ratios, (before, after), strict=True):  # within the figures' rounding
        assert abs(ratio - figures["ingest_s"] / read) <= ratio * (0.05 / figures["ingest_s"] + 0.005 / read) + 0.01
    assert min(ratios) - 0.01 <= figures["ingest_ratio_to_duckdb_read"] <= max(ratios) + 0.01
    # CPU seconds of each child beside its wall time: how many of the cores it kept busy
    cores = os.cpu_count() or 1
    assert 0 < figures["ingest_cpu_s"] <= figures["ingest_s"] * cores + 1
    assert 0 < figures["duckdb_read_cpu_s"] <= figures["duckdb_read_s"] * cores + 1
    # CPU seconds per step (every thread): together no more than the whole child's
    stage_cpu = [figures[f"stage_{s}_cpu_s"] for s in ("read_validate_load", "models", "quality", "analytics")]
    assert all(c > 0 for c in stage_cpu[:3]) and sum(stage_cpu) <= figures["ingest_cpu_s"] + 1
    # where the ingest's memory peak is: the process's peak RSS at the end of each step, never falling
    peaks = [figures[f"stage_{s}_peak_rss_mib"] for s in ("read_validate_load", "models", "quality", "analytics")]
    assert peaks == sorted(peaks) and peaks[0] > 50 and peaks[-1] <= figures["ingest_peak_rss_mib"] + 1
    slowest = figures["slowest_models_s"]  # where the models' time goes: the eight slowest, slowest first
    assert len(slowest) == 8 and all(name.split(".")[0] in ("staging", "intermediate", "mart") for name in slowest)
    assert list(slowest.values()) == sorted(slowest.values(), reverse=True)
    assert sum(slowest.values()) <= figures["stage_models_s"]
    assert figures["page_queries"] >= 3 * 20  # every page's queries, for three scopes
    assert "page_query_p50_ms" in p.stdout and "target" in p.stdout


def test_warm_reads_every_file_of_the_inbox(tmp_path):
    from benchmarks.ingest import warm

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_bytes(b"1" * 1000)
    (tmp_path / "b.jsonl.gz").write_bytes(b"2" * 70_000_001)  # more than one read
    assert warm(tmp_path) == 70_001_001
