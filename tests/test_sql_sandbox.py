"""自助查询's sandbox, adversarially (issue 5): every case is refused or harmless, none reaches data
outside the analytics file or changes anything."""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from pathlib import Path

import pytest

from cockpit.sqlworker import Limits, QueryHandle, SqlRefused, check_sql, run_query
from warehouse.publish import current_paths, open_pair


@pytest.fixture(scope="module")
def files(demo_run):
    settings, _, _ = demo_run
    full, analytics = current_paths(settings.warehouse)
    return full, analytics


def digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


NOT_QUERIES = [
    "COPY (select 1) TO '{tmp}/out.csv'",
    "COPY mart.ticket_facts TO '{tmp}/out.parquet' (FORMAT parquet)",
    "ATTACH '{full}' AS w",
    "ATTACH '{analytics}' AS w2",
    "DETACH analytics",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET memory_limit = '20GB'",
    "SET enable_external_access = true",
    "RESET threads",
    "PRAGMA enable_profiling",
    "CREATE TABLE x AS SELECT 1",
    "INSERT INTO mart.ticket_facts (ticket_id) VALUES ('x')",
    "UPDATE mart.kpi_grid_month SET tickets = 0",
    "DELETE FROM mart.kpi_grid_month",
    "DROP TABLE mart.kpi_grid_month",
    "CREATE MACRO m() AS 1",
    "USE memory",
    "CHECKPOINT",
    "EXPORT DATABASE '{tmp}/dump'",
    "CALL pragma_database_size()",
]


@pytest.mark.parametrize("template", NOT_QUERIES)
def test_statements_that_are_not_queries_are_refused_and_change_nothing(files, tmp_path, template):
    full, analytics = files
    sql = template.format(tmp=tmp_path, full=full, analytics=analytics)
    before = digest(analytics), digest(full)
    refused = run_query(analytics, sql)
    assert refused.outcome == "refused", (sql, refused)
    # the DuckDB layer on its own (validation bypassed) refuses the same statement or does no harm
    raw = run_query(analytics, sql, Limits(timeout=10), validate=False)
    assert raw.outcome in ("error", "ok"), raw
    if raw.outcome == "ok":  # harmless: a fresh read-only process, nothing written anywhere
        assert template.split()[0] in ("USE", "CALL", "CHECKPOINT", "ATTACH"), (sql, raw)
    assert (digest(analytics), digest(full)) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('{full}')",
        "select * from read_blob('{full}')",
        "select * from glob('{parent}/*')",
        "select * from read_parquet('/tmp/*.parquet')",
        "select * from read_json_auto('/etc/hosts')",
        "select * from '{full}'",
        "select * from sniff_csv('/etc/passwd')",
    ],
)
def test_file_functions_cannot_reach_other_paths(files, sql):
    full, analytics = files
    r = run_query(analytics, sql.format(full=full, parent=full.parent.parent))
    assert r.outcome == "error", r
    assert "disabled by configuration" in r.message or "Permission" in r.message, r.message


def test_a_query_reads_the_analytics_file_only(files):
    _, analytics = files
    r = run_query(analytics, "select database_name, path from duckdb_databases() where not internal")
    assert r.outcome == "ok"
    assert r.table().rows() == [("analytics", str(analytics))]
    schemas = run_query(analytics, "select distinct schema_name from duckdb_tables()").table()["schema_name"].to_list()
    assert sorted(schemas) == ["mart", "meta", "raw", "staging"]  # raw: the sensor events and GPS points
    names = run_query(
        analytics,
        "select table_name, column_name from duckdb_columns() where database_name = current_database() "
        "and column_name in ('id_number', 'phone', 'name', 'reporter_id_number') order by all",
    ).table()
    assert names.rows() == [("stg_volunteers__activities", "name")]  # an activity's name, not a person's


def test_the_analytics_file_holds_every_published_table_and_the_runs_final_meta(demo_run, files):
    """Staging and marts are copied beside the quality step; the meta tables after it: the analytics file
    has every table of those layers with the same rows, this run as published, and its quality results."""
    import duckdb

    _, result, _ = demo_run
    full, analytics = files
    w = open_pair(full, analytics)
    a = duckdb.connect(str(analytics), read_only=True)
    here = "database_name = current_database() and schema_name in ('staging', 'mart')"
    layer_tables = f"select schema_name, table_name from duckdb_tables() where {here}"
    views = f"select schema_name, view_name from duckdb_views() where {here}"
    want = sorted(w.execute(layer_tables).fetchall() + w.execute(views).fetchall())  # a staging view's rows as a table
    assert len(want) > 30 and ("staging", "stg_sensors__events") in want
    assert sorted(a.execute(layer_tables).fetchall() + a.execute(views).fetchall()) == want
    for schema, table in want:
        assert a.execute(f"select count(*) from {schema}.{table}").fetchone() == w.execute(f"select count(*) from {schema}.{table}").fetchone()
    assert a.execute("select status from meta.runs where run_id = ?", [result.run_id]).fetchall() == [("published",)]
    q = "select count(*), count(*) filter (where success) from meta.quality_results where run_id = ?"
    assert a.execute(q, [result.run_id]).fetchone() == w.execute(q, [result.run_id]).fetchone() == (len(result.quality), len(result.quality))
    a.close()
    w.close()


def test_the_models_write_analyst_safe_tables_into_the_analytics_file_once(files):
    """A staging or mart table without a person-identifying column is written by its model into the analytics
    file, and the full file holds a view of it, not a second copy. Only the person and worker registries
    (names, ID numbers, phones) stay tables in the full file. The raw sensor events and GPS points, which
    staging passes through as they are, are loaded into the analytics file, with a staging view there over
    them. The raw ID numbers of tickets, service records and redemptions stay in raw, keyed hashes in staging."""
    import duckdb

    full, analytics = files
    w = open_pair(full, analytics)
    here = "database_name = current_database() and schema_name in ('staging', 'mart')"
    tables = w.execute(f"select schema_name || '.' || table_name from duckdb_tables() where {here} order by 1").fetchall()
    assert tables == [("staging.stg_registry__persons",), ("staging.stg_registry__workers",)]
    views = dict(w.execute(f"select schema_name || '.' || view_name, sql from duckdb_views() where {here}").fetchall())
    assert "mart.ticket_facts" in views and "staging.stg_complaints__tickets" in views
    for name, sql in views.items():
        assert sql.strip().rstrip(";").endswith(f"FROM analytics.{name}"), (name, sql)
    raw_views = "select view_name from duckdb_views() where database_name = current_database() and schema_name = 'raw'"
    assert sorted(r[0] for r in w.execute(raw_views).fetchall()) == ["patrols__tracks", "sensors__events"]
    a = duckdb.connect(str(analytics), read_only=True)
    schemas = "select schema_name from duckdb_schemas() where database_name = current_database() and not internal"
    assert sorted(r[0] for r in a.execute(schemas).fetchall()) == ["mart", "meta", "raw", "staging"]  # no empty intermediate
    kinds = dict(
        a.execute(
            "select schema_name || '.' || table_name, 'table' from duckdb_tables() where schema_name <> 'meta' "
            "union all select schema_name || '.' || view_name, 'view' from duckdb_views() where not internal"
        ).fetchall()
    )
    assert {n for n, k in kinds.items() if k == "view"} == {"staging.stg_sensors__events", "staging.stg_patrols__tracks"}
    assert {"raw.sensors__events", "raw.patrols__tracks"} <= kinds.keys()
    assert set(views) <= kinds.keys()
    count = "select count(*) from staging.stg_sensors__events"
    assert a.execute(count).fetchone() == w.execute(count).fetchone() != (0,)
    columns = "select column_name from duckdb_columns() where database_name = current_database() and table_name = ?"
    for table, raw_id, key in [
        ("complaints__tickets", "reporter_id_number", "reporter_person_key"),
        ("volunteers__records", "id_number", "person_key"),
        ("volunteers__redemptions", "id_number", "person_key"),
    ]:
        staged = {r[0] for r in w.execute(columns, [f"stg_{table}"]).fetchall()}
        assert key in staged and raw_id not in staged
        assert raw_id in {r[0] for r in w.execute(columns, [table]).fetchall()}  # raw keeps what was loaded
    a.close()
    w.close()


def test_ensure_tables_moves_raw_rows_of_the_older_layout_into_the_analytics_file(tmp_path):
    """A full file from before the analytics file held raw rows keeps its sensor events in its own table:
    the next run moves them there, and leaves a view of the same name, so no loaded row is lost."""
    import duckdb

    from pipelines.schema import ENTITIES
    from warehouse.analytics import attach
    from warehouse.build import build_models, ensure_tables, raw_table

    events = next(e for e in ENTITIES if e.table == "sensors__events")
    tickets = next(e for e in ENTITIES if e.table == "complaints__tickets")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)  # the older layout: every raw table in the full file
    con.execute("insert into raw.sensors__events (device_id, _row) values ('D1', 1), ('D2', 2)")
    assert raw_table(con, events) == "raw.sensors__events"
    attach(con, tmp_path / "analytics.duckdb")
    ensure_tables(con, analytics="analytics")
    assert raw_table(con, events) == "analytics.raw.sensors__events"
    assert raw_table(con, tickets) == "raw.complaints__tickets"
    assert con.execute("select device_id from analytics.raw.sensors__events order by _row").fetchall() == [("D1",), ("D2",)]
    assert con.execute("select count(*) from raw.sensors__events").fetchone() == (2,)
    ensure_tables(con, analytics="analytics")  # again: nothing moved twice
    assert con.execute("select count(*) from raw.sensors__events").fetchone() == (2,)
    # the older layout's analytics file held the staging views' rows as tables, and the full file its staging
    # tables: the models replace both kinds
    con.execute("create schema if not exists staging; create schema if not exists analytics.staging")
    con.execute("create table analytics.staging.stg_sensors__events as select 1 as stale")
    con.execute("create table staging.stg_complaints__tickets as select 1 as stale")
    build_models(con, layers=("staging",), analytics="analytics")
    kinds = "select database_name || '.' || view_name from duckdb_views() where view_name in ('stg_sensors__events', 'stg_complaints__tickets') order by 1"
    assert con.execute(kinds).fetchall() == [
        ("analytics.stg_sensors__events",), ("w.stg_complaints__tickets",), ("w.stg_sensors__events",)
    ]
    assert con.execute("select count(*) from staging.stg_sensors__events").fetchone() == (2,)
    assert con.execute("select count(*) from analytics.staging.stg_sensors__events").fetchone() == (2,)
    con.close()
    alone = duckdb.connect(str(tmp_path / "analytics.duckdb"), read_only=True)  # as the SQL page opens it
    assert alone.execute("select device_id from staging.stg_sensors__events order by _row").fetchall() == [("D1",), ("D2",)]
    alone.close()


@pytest.mark.parametrize(
    "sql, message",
    [("select 1; select 2", "一次只能执行一条"), ("selec 1", "第 1 行第"), ("", "请输入"), ("select * from (select 1", "语法错误")],
)
def test_several_statements_and_syntax_errors(sql, message):
    with pytest.raises(SqlRefused, match=message):
        check_sql(sql)


def test_syntax_error_position():
    with pytest.raises(SqlRefused) as e:
        check_sql("select a,\n  from t wher x = 1")
    assert e.value.line == 2 and e.value.col is not None


def test_ten_minute_query_is_stopped_near_30_seconds(files):
    _, analytics = files
    r = run_query(analytics, "select count(*) from range(1000000000000) t(i)")  # the default 30 s limit
    assert r.outcome == "timeout", r
    assert 29.5 < r.seconds < 36, r.seconds


def test_cross_join_of_a_billion_rows_is_capped_and_memory_bounded(files):
    _, analytics = files
    r = run_query(analytics, "select a.range * b.range as x from range(100000) a, range(10000) b")
    assert r.outcome == "ok", r
    assert r.count_capped and r.rows_total == 10_000_000  # counted up to the cap, then stopped
    assert r.table().height == 100_000  # the most an export may hold
    assert r.peak_rss_mb < 1024 + 400  # memory_limit 1 GB plus the interpreter


def test_recursive_cte_without_end_is_stopped(files):
    _, analytics = files
    r = run_query(analytics, "with recursive t(n) as (select 1 union all select n + 1 from t) select * from t", Limits(timeout=4))
    assert r.outcome in ("timeout", "error"), r
    assert r.seconds < 4 + 5 + 1
    assert r.peak_rss_mb is None or r.peak_rss_mb < 1024 + 400


def test_other_users_query_runs_while_a_long_one_runs_and_cancel_frees_it_quickly(files):
    _, analytics = files
    long = QueryHandle(analytics, "select count(*) from range(1000000000000) t(i)", Limits(timeout=30))
    time.sleep(1.0)
    results = {}

    def other():
        t0 = time.time()
        results["r"] = run_query(analytics, "select count(*) as n from mart.ticket_facts")
        results["s"] = time.time() - t0

    th = threading.Thread(target=other)
    th.start()
    th.join(20)
    assert long.running()
    assert results["r"].outcome == "ok" and results["s"] < 10
    t0 = time.time()
    long.cancel()
    r = long.wait()
    assert r.outcome == "cancelled" and time.time() - t0 < 2.0


def test_each_query_gets_a_fresh_process(files):
    _, analytics = files
    a = run_query(analytics, "select 1", Limits(timeout=10), validate=False)
    b = run_query(analytics, "attach ':memory:' as scratch", Limits(timeout=10), validate=False)
    c = run_query(analytics, "select count(*) from duckdb_databases() where database_name = 'scratch'", Limits(timeout=10))
    assert a.outcome == "ok" and b.outcome in ("ok", "error") and c.table().item() == 0


def test_result_files_never_outlive_the_query(files, monkeypatch, tmp_path):
    """The worker hands rows over in a temp file; it is gone after every outcome (664 had piled up in /tmp)."""
    _, analytics = files
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    ok = run_query(analytics, "select range as n from range(5)", Limits(timeout=10))
    err = run_query(analytics, "select * from no_such_table", Limits(timeout=10))
    slow = QueryHandle(analytics, "select count(*) from range(1000000000000) t(i)", Limits(timeout=30))
    time.sleep(0.5)
    slow.cancel()
    cancelled = slow.wait()
    assert (ok.outcome, err.outcome, cancelled.outcome) == ("ok", "error", "cancelled")
    assert ok.table()["n"].to_list() == [0, 1, 2, 3, 4]  # read before the file went
    assert list(tmp_path.glob("cockpit_sql_*")) == []


def test_a_cancel_at_any_moment_of_the_start_is_honoured(files):
    """A cancel that lands after the worker has its cursor but before the query executes used to be
    lost (DuckDB's interrupt only stops a running query): the query ran on to the time limit, and the
    page showed a timeout instead of 查询已取消 (a CI failure under load). Cancels swept over the start."""
    _, analytics = files
    outcomes = []
    for i in range(16):
        h = QueryHandle(analytics, "select count(*) from range(1000000000000) t(i)", Limits(timeout=6))
        time.sleep(i * 0.05)
        h.cancel()
        r = h.wait()
        outcomes.append((r.outcome, r.rows_total))
    assert outcomes == [("cancelled", None)] * 16, repr(outcomes)  # no row count: the history shows none, not 0
