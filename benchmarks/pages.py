"""Every query the cockpit's pages run, timed through the same functions the pages call, and the
same questions answered the common way — pandas over the loaded tables — as the baseline."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pandas as pd

from cockpit import queries as q
from cockpit.data import Warehouse
from warehouse.appraisal import load_quarter

TAGS = q.TagFilter(all_of=("60岁以上",), any_of=("独居老人", "残疾人"), none_of=("党员",))


def scopes(w: Warehouse) -> dict[str, q.Scope]:
    months = q.months(w)
    last3 = (months[-3], months[-1]) if len(months) >= 3 else (months[0], months[-1])
    g = q.grids(w)
    return {
        "street": q.Scope(*last3),
        "community": q.Scope(*last3, communities=(g["community"][0],)),
        "grid": q.Scope(*last3, pinned_grid=g["grid_code"][0]),
    }


def page_queries(w: Warehouse, root: Path) -> dict[str, list]:
    """page → [(name, zero-argument callable)] for each scope a user might pick."""
    out: dict[str, list] = {}
    quarter = w.rows("select max(quarter) from mart.appraisal_quarter")[0][0]
    worker, grid = w.rows("select worker_id, grid_code from mart.appraisal_quarter where quarter = ? order by rank limit 1", [quarter])[0]
    session = w.rows("select max(session_id) from mart.patrol_sessions where worker_id = ? and quarter = ?", [worker, quarter])[0][0]
    for label, s in scopes(w).items():
        out.setdefault("frame", []).extend([(f"as_of/{label}", lambda: q.as_of_and_publish(w)), (f"months/{label}", lambda: q.months(w))])
        out.setdefault("总览", []).extend(
            [
                (f"population/{label}", lambda s=s: q.population(w, s)),
                (f"ticket_kpis/{label}", lambda s=s: q.ticket_kpis(w, s)),
                (f"ticket_kpis_prev/{label}", lambda s=s: q.ticket_kpis(w, s.previous())),
                (f"volunteer_totals/{label}", lambda s=s: q.volunteer_totals(w, s)),
                (f"device_totals/{label}", lambda s=s: q.device_totals(w, s)),
                (f"trend/{label}", lambda s=s: q.area_month_kpis(w, s)),
                ("freshness", lambda: q.freshness(w)),
            ]
        )
        out.setdefault("诉求", []).extend(
            [
                (f"grid_month/{label}", lambda s=s: q.grid_month_kpis(w, s)),
                (f"by_source/{label}", lambda s=s: q.ticket_rollup(w, s, by="source")),
                (f"by_category/{label}", lambda s=s: q.ticket_rollup(w, s, by="category")),
                (f"sla_breaches/{label}", lambda s=s: q.sla_breaches(w, s)),
                (f"repeat_hotspots/{label}", lambda s=s: q.repeat_hotspots(w, s)),
            ]
        )
        out.setdefault("网格考核", []).extend(
            [
                (f"leaderboard/{label}", lambda: load_quarter(root, quarter, con=w.connection().cursor())),
                ("worker_tickets", lambda: q.worker_tickets(w, worker, quarter)),
                ("worker_sessions", lambda: q.worker_sessions(w, worker, quarter)),
                ("session_points", lambda: q.session_points(w, worker, session or "")),
                ("grid_boundary", lambda: q.grid_boundary(w, grid)),
                ("worker_visits", lambda: q.worker_visits(w, worker, quarter)),
            ]
        )
        out.setdefault("人群标签", []).extend(
            [
                (f"tag_list/{label}", lambda s=s: q.tag_list(w, s)),
                (f"tag_count/{label}", lambda s=s: q.tag_filter_count(w, s, TAGS)),
                (f"tag_by_grid/{label}", lambda s=s: q.tag_filter_by_grid(w, s, TAGS)),
                (f"tag_page/{label}", lambda s=s: q.tag_filter_list(w, s, TAGS, limit=100)),
            ]
        )
        out.setdefault("烦恼指数图", []).extend(
            [(f"grid_map/{label}", lambda s=s: q.grid_map(w, s)), (f"building_map/{label}", lambda s=s: q.building_map(w, s))]
        )
        out.setdefault("志愿积分", []).extend(
            [
                (f"summary/{label}", lambda s=s: q.volunteer_summary(w, s)),
                (f"months/{label}", lambda s=s: q.volunteer_months(w, s)),
                (f"top/{label}", lambda s=s: q.volunteer_top(w, s)),
                ("types", lambda: q.volunteer_types(w)),
                ("overdrawn", lambda: q.overdrawn(w)),
            ]
        )
        out.setdefault("物联感知", []).extend(
            [
                (f"devices/{label}", lambda s=s: q.device_totals(w, s)),
                (f"care_alerts/{label}", lambda s=s: q.care_alerts(w, s)),
                (f"alarms_daily/{label}", lambda s=s: q.alarms_daily(w, s)),
                (f"alarms_by_grid/{label}", lambda s=s: q.alarms_by_grid(w, s)),
                (f"devices_by_type/{label}", lambda s=s: q.devices_by_type(w, s)),
                (f"whistle/{label}", lambda s=s: q.whistle_response(w, s)),
            ]
        )
    return out


def timed(fn, repeat: int, warm: bool = True) -> list[float]:
    if warm:
        fn()  # warm: the first call opens the connection and reads the file's metadata
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p * (len(v) - 1))))]


def measure_pages(root: Path, repeat: int = 5) -> dict:
    w = Warehouse(root)
    per_page, every = {}, []
    for page, items in page_queries(w, root).items():
        ms = [t for _, fn in items for t in timed(fn, repeat)]
        every += ms
        per_page[page] = {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(pct(ms, 0.95), 2), "queries": len(items)}
    s = scopes(w)["street"]
    tag = timed(lambda: (q.tag_filter_count(w, s, TAGS), q.tag_filter_list(w, s, TAGS, limit=100)), repeat * 2)
    return {
        "page_query_p50_ms": round(statistics.median(every), 2),
        "page_query_p95_ms": round(pct(every, 0.95), 2),
        "page_queries": sum(v["queries"] for v in per_page.values()),
        "tag_filter_ms": round(statistics.median(tag), 2),
        "per_page": per_page,
    }


def measure_pandas(root: Path, repeat: int = 3) -> dict:
    """The same questions, the common way: staging tables loaded into pandas, answered with pandas."""
    w = Warehouse(root)
    s = scopes(w)["street"]
    tickets = w.frame("select * from staging.stg_complaints__tickets").to_pandas()
    grids = w.frame("select grid_code, community from staging.stg_registry__grids").to_pandas()
    persons = w.frame("select person_key, household_id, building_code, birth_date, residence_type, tags from staging.stg_registry__persons").to_pandas()
    buildings = w.frame("select building_code, grid_code from staging.stg_registry__buildings").to_pandas()
    tags = w.frame("select person_key, tag from mart.person_tags").to_pandas()
    lo, hi = pd.Timestamp(s.month_from), pd.Timestamp(s.month_to) + pd.offsets.MonthEnd(1) + pd.Timedelta(days=1)

    def grid_month():
        t = tickets[(tickets.reported_at >= lo) & (tickets.reported_at < hi)].copy()
        t["month"] = t.reported_at.dt.to_period("M")
        t["resp_h"] = (t.responded_at - t.reported_at).dt.total_seconds() / 3600
        sla = t.urgency.map({"紧急": 2.0}).fillna(24.0)
        t["on_time"] = t.resp_h <= sla
        g = t.groupby(["grid_code", "month"])
        return pd.DataFrame({"tickets": g.size(), "responded": g.resp_h.count(), "on_time": g.on_time.sum(),
                             "median": g.resp_h.median()})

    def kpis():
        t = tickets[(tickets.reported_at >= lo) & (tickets.reported_at < hi)]
        return len(t), t.responded_at.notna().mean(), t.resolved_at.notna().mean()

    def by_source():
        t = tickets[(tickets.reported_at >= lo) & (tickets.reported_at < hi)]
        return t.groupby("source").agg(n=("ticket_id", "size"), responded=("responded_at", "count"))

    def population():
        p = persons.merge(buildings, on="building_code", how="left")
        return p.groupby("grid_code").agg(residents=("person_key", "size"), households=("household_id", "nunique"))

    def tag_filter():
        a = set(tags.person_key[tags.tag == "60岁以上"])
        b = set(tags.person_key[tags.tag.isin(["独居老人", "残疾人"])])
        c = set(tags.person_key[tags.tag == "党员"])
        keep = sorted((a & b) - c)
        return len(keep), keep[:100]

    def community_rollup():
        t = tickets[(tickets.reported_at >= lo) & (tickets.reported_at < hi)].merge(grids, on="grid_code", how="left")
        return t.groupby("community").agg(n=("ticket_id", "size"))

    pandas_fns = [grid_month, kpis, by_source, population, tag_filter, community_rollup]
    duck_fns = [
        lambda: q.grid_month_kpis(w, s), lambda: q.ticket_kpis(w, s), lambda: q.ticket_rollup(w, s, by="source"),
        lambda: q.population(w, s), lambda: q.tag_filter_count(w, s, TAGS), lambda: q.ticket_rollup(w, s, by="community"),
    ]
    pd_ms = [statistics.median(timed(f, repeat, warm=False)) for f in pandas_fns]
    dk_ms = [statistics.median(timed(f, repeat)) for f in duck_fns]
    return {
        "pandas_baseline_ms": round(sum(pd_ms), 1),
        "same_questions_duckdb_ms": round(sum(dk_ms), 1),
        "pandas_baseline_ratio": round(sum(pd_ms) / max(sum(dk_ms), 1e-9), 1),
    }


def first_paint(root: Path, state: Path) -> dict:
    """Each page's time from the sidebar click to the page finished, in headless Chromium."""
    import os
    import socket
    import subprocess
    import sys
    import tempfile
    import urllib.request

    from cockpit import auth

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser import visit_all

    try:
        auth.add_user(state, "bench_admin", "bench-password-123", "admin")
    except auth.AuthError:
        pass
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        port = so.getsockname()[1]
    env = {**os.environ, "COCKPIT_WAREHOUSE": str(root), "COCKPIT_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=Path(__file__).resolve().parents[1], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        problems, timings = visit_all(f"http://127.0.0.1:{port}/", "bench_admin", "bench-password-123", Path(tempfile.mkdtemp()))
    finally:
        proc.terminate()
        proc.wait(10)
    pages = {k: round(v, 2) for k, v in timings.items() if k != "login_form"}
    return {"first_paint_s": pages, "first_paint_max_s": max(pages.values()) if pages else None, "first_paint_problems": problems}


