import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import AS_OF, make_settings
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.demo import PLANTED
from pipelines.ingest import InboxError, run_ingest
from pipelines.schema import ENTITIES, REASONS
from warehouse.publish import connect_current, current_paths, open_pair


@pytest.fixture(scope="module")
def con(demo_run):
    settings, _, _ = demo_run
    c = connect_current(settings.warehouse)
    yield c
    c.close()


@pytest.mark.parametrize(("table", "reason"), sorted(PLANTED))
def test_each_planted_reason_is_quarantined_exactly(con, table, reason):
    source, entity = table.split("__")
    n = con.execute(
        "select count(*) from meta.quarantine where source = ? and entity = ? and reason = ?",
        [source, entity, reason],
    ).fetchone()[0]
    assert n == PLANTED[(table, reason)]


def test_nothing_else_is_quarantined(con):
    got = dict(
        ((s + "__" + e, r), n)
        for s, e, r, n in con.execute(
            "select source, entity, reason, count(*) from meta.quarantine group by all"
        ).fetchall()
    )
    assert got == PLANTED
    assert set(r for _, r in got) <= set(REASONS)


def test_every_row_is_accounted_for(con, demo_run):
    _, result, manifest = demo_run
    rows = con.execute("select file, status, rows_in, loaded, quarantined from meta.load_runs").fetchall()
    by_file = {r[0]: r for r in rows}
    for file, n in manifest["rows"].items():
        _, status, rows_in, loaded, quarantined = by_file[file]
        assert status == "loaded"
        assert rows_in == n, file  # rows_in counts data records, whatever the format
        assert rows_in == loaded + quarantined
    for f in result.files:
        if f.status == "loaded":
            raw = con.execute(
                f"select count(*) from raw.{f.source}__{f.entity} where _file_hash = ?", [f.file_hash]
            ).fetchone()[0]
            q = con.execute(
                "select count(*) from meta.quarantine where file_hash = ?", [f.file_hash]
            ).fetchone()[0]
            assert (raw, q) == (f.loaded, f.quarantined), f.file


def test_quarantine_keeps_file_row_and_raw_record(con, demo_inbox):
    """For every quarantined row of a plain UTF-8 comma CSV, the row number points at its line in the file."""
    import json

    inbox, _ = demo_inbox
    rows = con.execute(
        "select file, row_number, raw_row from meta.quarantine where file like '%.csv' and reason <> 'bad_encoding_row'"
    ).fetchall()
    checked = 0
    for file, row, raw in rows:
        data = (inbox / file).read_bytes()
        try:
            lines = data.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            continue  # GBK exports: checked through their own reader tests
        if "\t" in lines[0]:
            continue
        first_value = next(v for v in json.loads(raw).values() if v)
        assert str(first_value) in lines[row - 1], (file, row)
        checked += 1
    assert checked >= 20
    raw = con.execute(
        "select raw_row from meta.quarantine where reason = 'bad_timestamp' and entity = 'tickets'"
    ).fetchall()
    assert all("13-45" in r[0] or "13/45" in r[0] for r in raw)


def test_resent_file_is_skipped_and_unrecognised_reported(demo_run, con):
    _, result, manifest = demo_run
    skipped = [f.file for f in result.files if f.status == "skipped"]
    assert skipped == manifest["skipped_files"]
    assert con.execute("select rows_in from meta.load_runs where status = 'skipped'").fetchall() == [(0,)]
    assert result.unrecognised == manifest["unrecognised_files"]


def test_newest_ticket_version_wins_whatever_the_file_order(con, demo_run):
    _, _, manifest = demo_run
    # older versions (处理中) sit in a file that sorts after the newer ones
    rows = con.execute(
        "select count(*), count(*) filter (where status = '处理中') from staging.stg_complaints__tickets where versions > 1"
    ).fetchone()
    assert rows == (manifest["ticket_versions"], 0)
    raw_versions = con.execute(
        "select count(*) from raw.complaints__tickets where _file_hash in "
        "(select file_hash from meta.load_runs where file = 'complaints/zz_backlog_versions.csv')"
    ).fetchone()[0]
    assert raw_versions == manifest["ticket_versions"]  # superseded versions are loaded (history)


def test_staging_has_one_row_per_key(con):
    for e in ENTITIES:
        if e.key:
            cols = ", ".join(e.key)
            dup = con.execute(
                f"select count(*) from (select {cols} from staging.stg_{e.table} group by {cols} having count(*) > 1)"
            ).fetchone()[0]
            assert dup == 0, e.table


def test_persons_normalised(con):
    ids = [r[0] for r in con.execute("select id_number from staging.stg_registry__persons").fetchall()]
    assert all(len(i) == 18 and i[:17].isdigit() and (i[17].isdigit() or i[17] == "X") for i in ids)
    # gender and birth date filled from (and agreeing with) the ID number
    bad = con.execute(
        "select count(*) from staging.stg_registry__persons where strptime(substr(id_number, 7, 8), '%Y%m%d')::date <> birth_date "
        "or (cast(substr(id_number, 17, 1) as int) % 2 = 1) <> (gender = '男')"
    ).fetchone()[0]
    assert bad == 0
    assert (
        con.execute("select count(*) from staging.stg_registry__persons where len(tags) > 0").fetchone()[0]
        > 0
    )


def table_digest(pair) -> dict[str, str]:
    """Content of every staging table, independent of run ids and row order."""
    c = open_pair(*pair)
    out = {}
    for e in ENTITIES:
        rows = c.execute(f"select * exclude (_run_id) from staging.stg_{e.table} order by all").fetchall()
        out[e.table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    c.close()
    return out


def test_ingest_twice_changes_nothing(demo_run, demo_inbox, warehouse_copy, monkeypatch):
    from expectations import runner
    from pipelines.ingest import QUALITY_MEMORY_LIMIT

    settings, _, _ = demo_run
    before = table_digest(current_paths(warehouse_copy))
    limits, real = [], runner.run_quality
    monkeypatch.setattr(
        runner, "run_quality", lambda con, *a, **k: limits.append(con.execute("select current_setting('memory_limit')").fetchone()[0]) or real(con, *a, **k)
    )
    again = run_ingest(demo_inbox[0], make_settings(warehouse_copy), as_of=AS_OF)
    assert again.status == "published"
    # the suites read with DuckDB's smaller share: the models' cached blocks let go before the GX workers take theirs
    want = duckdb.connect(config={"memory_limit": QUALITY_MEMORY_LIMIT}).execute("select current_setting('memory_limit')").fetchone()[0]
    assert limits == [want] != [duckdb.connect(config={"memory_limit": make_settings(warehouse_copy).ingest_memory_limit}).execute("select current_setting('memory_limit')").fetchone()[0]]
    # the GX workers, started again for this run, were stopped once its suites were done: none is left holding memory
    assert runner._POOL[0] is None
    # the fork server is started from a thread: every thread's children are looked at, not the main thread's only
    children = [pid for task in Path(f"/proc/{os.getpid()}/task").glob("*/children") for pid in task.read_text().split()]
    alive = [pid for pid in children if Path(f"/proc/{pid}/cmdline").exists()]
    assert not [pid for pid in alive if b"forkserver" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert {f.status for f in again.files} == {"skipped"}
    assert sum(f.rows_in for f in again.files) == 0
    assert table_digest(current_paths(warehouse_copy)) == before


def test_file_order_does_not_change_the_result(demo_run, demo_inbox, tmp_path):
    settings, _, _ = demo_run
    inbox = demo_inbox[0]
    shuffled = tmp_path / "inbox"
    shutil.copytree(inbox, shuffled)
    for folder in shuffled.iterdir():  # reverse each folder's order, keeping the name prefixes
        files = sorted(p for p in folder.iterdir() if p.name != "notes.txt")
        for i, p in enumerate(files):
            prefix = next(
                (
                    e.prefixes[0]
                    for e in ENTITIES
                    if e.source == folder.name and e.prefixes and p.name.startswith(e.prefixes)
                ),
                "",
            )
            p.rename(p.with_name(f"{prefix}{len(files) - i:03d}_{p.name}"))
    result = run_ingest(shuffled, make_settings(tmp_path / "wh"), as_of=AS_OF)
    assert result.status == "published"
    assert table_digest(current_paths(tmp_path / "wh")) == table_digest(
        current_paths(settings.warehouse)
    )


def test_files_checked_in_slices_one_at_a_time_give_the_same_result(demo_run, demo_inbox, tmp_path, monkeypatch):
    """A big file is typed and checked in slices of TRANSFORM_SLICE_ROWS; with slices of 100 rows
    the demo inbox (many files over 100 rows, duplicate keys planted) loads and quarantines
    exactly what the one-piece run did, the same-key-twice check included. This run also loads one file
    at a time (ingest_parallel_load_mib = 0), where the demo run loaded files two at a time."""
    import pipelines.ingest as ingest

    settings, _, _ = demo_run
    slice_rows = 100
    monkeypatch.setattr(ingest, "TRANSFORM_SLICE_ROWS", slice_rows)
    one_at_a_time = make_settings(tmp_path / "wh").model_copy(update={"ingest_parallel_load_mib": 0})
    result = run_ingest(demo_inbox[0], one_at_a_time, as_of=AS_OF)
    assert result.status == "published"
    assert max(f.rows_in for f in result.files) > 3000
    assert table_digest(current_paths(tmp_path / "wh")) == table_digest(current_paths(settings.warehouse))
    with duckdb.connect(str(current_paths(tmp_path / "wh")[0]), read_only=True) as c:
        quarantined = c.execute("select file, row_number, reason from meta.quarantine order by all").fetchall()
    with duckdb.connect(str(current_paths(settings.warehouse)[0]), read_only=True) as c:
        assert quarantined == c.execute("select file, row_number, reason from meta.quarantine order by all").fetchall()
        # a second copy of a person a slice or more after the kept one: the pair lies in different slices,
        # so the same-key check above worked across a slice boundary, not within one slice
        pairs = c.execute(
            "select q.row_number, r._row from meta.quarantine q join raw.registry__persons r "
            "on r._file_hash = q.file_hash and r.id_number = coalesce("
            "json_extract_string(q.raw_row, '$.公民身份号码'), json_extract_string(q.raw_row, '$.id_number')) "
            "where q.reason = 'duplicate_key'"
        ).fetchall()
    assert pairs and any(abs(a - b) >= slice_rows for a, b in pairs), pairs


def test_files_load_threads_at_a_time_after_what_they_are_checked_against(tmp_path, monkeypatch):
    """As many ticket files as there are load threads are loaded at the same moment (a barrier they must all
    reach: three of them with three threads, the two heaviest with two), never more; no file starts before
    the tables it is checked against are loaded (events after devices, everything after the registry);
    of the ready files, the one heading the heaviest chain goes first (devices, which the heavy event file
    waits for, before the heaviest ticket file; then the heavier ticket file first); with a budget smaller
    than any file they load one at a time.
    Results come back in the order given, and identical content is loaded once."""
    import threading

    import pipelines.ingest as ingest
    from pipelines.schema import BY_TABLE
    from warehouse.build import ensure_tables

    inbox = tmp_path / "inbox"
    files = []
    for table, name, body in [
        ("registry__grids", "registry/grids.csv", "G"),
        ("complaints__tickets", "complaints/a.csv", "1"),
        ("complaints__tickets", "complaints/b.csv", "2" * 50),  # the heaviest ticket file
        ("complaints__tickets", "complaints/c.csv", "3" * 10),
        ("complaints__tickets", "complaints/d.csv", "1"),  # the same bytes as a.csv
        ("sensors__devices", "sensors/devices.csv", "D"),
        ("sensors__events", "sensors/events.csv", "E" * 200),  # waits for devices: a chain heavier than b.csv
    ]:
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"x\n{body}\n", encoding="utf-8")
        files.append((BY_TABLE[table], path))
    log, inside, most, gate, lock = [], [0], [0], [None, ()], threading.Lock()

    def fake_load(cur, path, entity, refs, mapping, **kw):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            log.append(("start", path.name))
        try:
            if gate[0] is not None and path.name in gate[1]:
                gate[0].wait()  # raises BrokenBarrierError unless they run at once
            else:
                threading.Event().wait(0.05)
            return ingest.FileResult(str(path.relative_to(inbox)), entity.source, entity.name, kw["digest"], "loaded")
        finally:
            with lock:
                inside[0] -= 1
                log.append(("end", path.name))

    monkeypatch.setattr(ingest, "load_file", fake_load)
    con = duckdb.connect()
    ensure_tables(con)
    settings = make_settings(tmp_path / "wh")
    for threads, budget, gated, expected_most in [
        (3, 1024, ("a.csv", "b.csv", "c.csv"), 3),
        (2, 1024, ("b.csv", "c.csv"), 2),
        (3, 0, (), 1),
    ]:
        settings = settings.model_copy(update={"ingest_parallel_load_mib": budget, "ingest_load_threads": threads})
        most[0], gate[:] = 0, [threading.Barrier(len(gated), timeout=10) if gated else None, gated]
        log.clear()
        out = ingest._load_files(con, files, set(), inbox=inbox, run_id="r", settings=settings, keys=None)
        assert most[0] == expected_most
        assert [(fr.file, fr.status) for fr, *_ in out] == [
            ("registry/grids.csv", "loaded"), ("complaints/a.csv", "loaded"), ("complaints/b.csv", "loaded"),
            ("complaints/c.csv", "loaded"), ("complaints/d.csv", "skipped"), ("sensors/devices.csv", "loaded"),
            ("sensors/events.csv", "loaded"),
        ]
        assert log[:2] == [("start", "grids.csv"), ("end", "grids.csv")]  # the registry before anything
        assert log.index(("end", "devices.csv")) < log.index(("start", "events.csv"))
        starts = [name for what, name in log if what == "start"]
        assert starts.index("b.csv") < starts.index("c.csv") < starts.index("a.csv")  # the heavier first
        assert starts.index("devices.csv") < starts.index("b.csv")  # what the heavy event file waits for before it
    # an unexpected error fails the whole load, and nothing is left loading on the connection when it does
    settings = settings.model_copy(update={"ingest_parallel_load_mib": 1024})
    gate[:] = [None, ()]

    def broken(cur, path, entity, refs, mapping, **kw):
        if path.name == "b.csv":
            raise RuntimeError("disk full")
        return fake_load(cur, path, entity, refs, mapping, **kw)

    monkeypatch.setattr(ingest, "load_file", broken)
    log.clear()
    with pytest.raises(RuntimeError, match="disk full"):
        ingest._load_files(con, files, set(), inbox=inbox, run_id="r", settings=settings, keys=None)
    assert inside[0] == 0 and ("start", "events.csv") not in log


def test_a_file_that_would_keep_a_heavier_chain_waiting_is_held(tmp_path, monkeypatch):
    """While devices (small, slow here) loads, the heavy event file waits for it. GPS tracks are ready and fit
    now, but beside the events they would not fit the 6144 MiB budget (3000 + 5000): they are held until the
    events are done, so the events start the moment devices is loaded. A ticket file that fits beside the
    events (1000 + 5000) loads meanwhile. Without the hold, the tracks start first and the events wait
    for them."""
    import threading

    import pipelines.ingest as ingest
    from pipelines.schema import BY_TABLE
    from warehouse.build import ensure_tables

    inbox = tmp_path / "inbox"
    weights = {"grids.csv": 1, "devices.csv": 10, "events.csv": 5000, "tracks.csv": 3000, "t1.csv": 1000}
    files = []
    for table, name in [
        ("registry__grids", "registry/grids.csv"),
        ("complaints__tickets", "complaints/t1.csv"),
        ("sensors__devices", "sensors/devices.csv"),
        ("sensors__events", "sensors/events.csv"),
        ("patrols__tracks", "patrols/tracks.csv"),
    ]:
        path = inbox / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"x\n{name}\n", encoding="utf-8")
        files.append((BY_TABLE[table], path))
    log, lock = [], threading.Lock()

    def fake_load(cur, path, entity, refs, mapping, **kw):
        with lock:
            log.append(("start", path.name))
        threading.Event().wait(0.3 if path.name == "devices.csv" else 0.05)
        with lock:
            log.append(("end", path.name))
        return ingest.FileResult(str(path.relative_to(inbox)), entity.source, entity.name, kw["digest"], "loaded")

    monkeypatch.setattr(ingest, "load_file", fake_load)
    monkeypatch.setattr(ingest, "memory_weight", lambda entity, path: weights[path.name] << 20)
    con = duckdb.connect()
    ensure_tables(con)
    settings = make_settings(tmp_path / "wh").model_copy(
        update={"ingest_parallel_load_mib": 6144, "ingest_load_threads": 3}
    )
    tail = lambda: log.append(("tail", ""))  # noqa: E731 — called from the loop's thread, no file starting meanwhile
    out = ingest._load_files(con, files, set(), inbox=inbox, run_id="r", settings=settings, keys=None, tail=tail)
    assert [fr.status for fr, *_ in out] == ["loaded"] * 5
    # the tail (where the GX workers start): once, when the last file (tracks, held until the events were done)
    # had been handed to its thread, before it is done
    assert log.count(("tail", "")) == 1
    assert log.index(("end", "events.csv")) < log.index(("tail", "")) < log.index(("end", "tracks.csv"))
    assert log.index(("start", "t1.csv")) < log.index(("end", "devices.csv"))  # fits beside the events
    assert log.index(("end", "devices.csv")) < log.index(("start", "events.csv")) < log.index(("start", "tracks.csv"))
    assert log.index(("end", "events.csv")) < log.index(("start", "tracks.csv"))


def test_what_each_file_waits_for():
    from pipelines.ingest import depends_on
    from pipelines.schema import BY_TABLE

    registry = ("registry__grids", "registry__workers", "registry__buildings", "registry__persons")
    assert depends_on(BY_TABLE["registry__grids"]) == ()
    assert depends_on(BY_TABLE["registry__buildings"]) == registry[:2]
    assert depends_on(BY_TABLE["complaints__tickets"]) == registry
    assert depends_on(BY_TABLE["sensors__events"]) == (*registry, "sensors__devices")
    assert depends_on(BY_TABLE["volunteers__redemptions"]) == (*registry, "volunteers__activities", "volunteers__records")
    assert depends_on(BY_TABLE["patrols__tracks"]) == registry


def test_missing_source_folders_still_load(tmp_path, demo_inbox):
    inbox = tmp_path / "inbox"
    shutil.copytree(demo_inbox[0] / "registry", inbox / "registry")
    result = run_ingest(inbox, make_settings(tmp_path / "wh"), as_of=AS_OF)
    assert result.status == "published"
    assert result.missing_sources == ["complaints", "volunteers", "sensors", "patrols"]
    c = connect_current(tmp_path / "wh")
    assert c.execute("select count(*) from staging.stg_registry__persons").fetchone()[0] > 500
    assert c.execute("select count(*) from staging.stg_complaints__tickets").fetchone()[0] == 0


def test_unreadable_inbox_is_an_error(tmp_path):
    with pytest.raises(InboxError, match="nope"):
        run_ingest(tmp_path / "nope", make_settings(tmp_path / "wh"), as_of=AS_OF)


runner = CliRunner()


def test_cli_exit_2_names_file_and_column_and_publishes_nothing(warehouse_copy, tmp_path, monkeypatch):
    before = current_paths(warehouse_copy)
    inbox = tmp_path / "inbox"
    (inbox / "complaints").mkdir(parents=True)
    (inbox / "complaints" / "platform_bad.csv").write_text(
        "工单编号,来源,诉求类型\nT1,12345,噪音\n", encoding="utf-8"
    )
    monkeypatch.setenv("COCKPIT_WAREHOUSE", str(warehouse_copy))
    from pipelines.settings import get_settings

    get_settings.cache_clear()
    r = runner.invoke(app, ["ingest", "--inbox", str(inbox), "--as-of", "2026-11-20"])
    get_settings.cache_clear()
    assert r.exit_code == 2
    assert "platform_bad.csv" in r.output and "上报时间" in r.output
    assert current_paths(warehouse_copy) == before


def test_cli_exit_2_for_missing_inbox_and_bad_date(tmp_path):
    r = runner.invoke(
        app, ["ingest", "--inbox", str(tmp_path / "missing"), "--warehouse", str(tmp_path / "wh")]
    )
    assert r.exit_code == 2 and "missing" in r.output
    r = runner.invoke(app, ["ingest", "--inbox", str(tmp_path), "--as-of", "20261301"])
    assert r.exit_code == 2


def test_cli_exit_1_when_a_critical_expectation_fails(warehouse_copy, demo_inbox, tmp_path, monkeypatch):
    import expectations.runner as runner_mod

    real = runner_mod.load_suites

    def with_failing_suite():
        suites = real()
        suites["stg_registry__grids"]["expect"].append(
            {"type": "expect_table_row_count_to_equal", "value": 0, "severity": "critical"}
        )
        return suites

    monkeypatch.setattr(runner_mod, "load_suites", with_failing_suite)
    before = current_paths(warehouse_copy)
    inbox = tmp_path / "inbox"
    shutil.copytree(demo_inbox[0] / "registry", inbox / "registry")
    (inbox / "registry" / "grids_extra.csv").write_text(
        "网格编码,网格名称,社区,街道\nG900,新网格,新社区,瑞金二路街道\n", encoding="utf-8"
    )
    r = runner.invoke(
        app, ["ingest", "--inbox", str(inbox), "--warehouse", str(warehouse_copy), "--as-of", "2026-11-20"]
    )
    assert r.exit_code == 1, r.output
    assert "expect_table_row_count_to_equal" in r.output
    assert current_paths(warehouse_copy) == before
    c = connect_current(warehouse_copy)
    assert (
        c.execute("select count(*) from staging.stg_registry__grids where grid_code = 'G900'").fetchone()[0]
        == 0
    )


def test_quality_results_stored_and_docs_rendered(demo_run, con):
    settings, result, _ = demo_run
    n = con.execute(
        "select count(*), count(distinct suite) from meta.quality_results where run_id = ?", [result.run_id]
    ).fetchone()
    assert n[0] == len(result.quality) and n[1] >= 13
    assert {q["severity"] for q in result.quality} == {"critical", "warning"}
    assert not result.critical_failures
    site = settings.warehouse / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert (site / "index.html").exists()
    # every suite validated, whichever thread's GX context validated it, is in the one site
    validated = {q["suite"] for q in result.quality if q["expectation"] != "reconcile" and q["observed"] != "empty table"}
    assert len(validated) > 20 and {p.name for p in (site / "validations").iterdir()} == validated | {"reconciliation"}
    assert (settings.warehouse / "runs" / f"{result.run_id}.json").exists()


def test_analytics_file_holds_no_person_identifiers(demo_run, con):
    """Scan every text value of the analytics file for a registry ID number, phone or name, or a worker's."""
    settings, _, _ = demo_run
    secrets = set()
    for table, cols in (
        ("stg_registry__persons", "id_number, phone, name"),
        ("stg_registry__workers", "phone, name"),
    ):
        for row in con.execute(f"select {cols} from staging.{table}").fetchall():
            secrets.update(v for v in row if v)
    secrets.update(r[0] for r in con.execute("select id_number from raw.volunteers__records").fetchall())
    assert len(secrets) > 1000
    a = duckdb.connect(str(current_paths(settings.warehouse)[1]), read_only=True)
    hits, scanned = [], 0
    cols = a.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() where database_name = current_database()"
    ).fetchall()
    for schema, table, col, dtype in cols:
        if dtype == "VARCHAR" or dtype == "VARCHAR[]":
            expr = f'unnest("{col}")' if dtype.endswith("[]") else f'"{col}"'
            for (v,) in a.execute(f"select distinct {expr} from {schema}.{table}").fetchall():
                scanned += 1
                if v in secrets:
                    hits.append((table, col, v))
    assert scanned > 1000
    assert hits == []
    # and what analysts need is there: persons by key, activities by name
    assert (
        a.execute(
            "select count(*) from staging.stg_registry__persons where person_key is not null"
        ).fetchone()[0]
        > 500
    )
    assert a.execute("select count(name) from staging.stg_volunteers__activities").fetchone()[0] > 0


def test_missing_sources_are_recorded_for_the_cockpit(tmp_path, demo_inbox):
    import json

    inbox = tmp_path / "inbox"
    shutil.copytree(demo_inbox[0] / "registry", inbox / "registry")
    run_ingest(inbox, make_settings(tmp_path / "wh"), as_of=AS_OF)
    msg = (
        connect_current(tmp_path / "wh")
        .execute("select message from meta.runs where status = 'published'")
        .fetchone()[0]
    )
    assert json.loads(msg)["missing_sources"] == ["complaints", "volunteers", "sensors", "patrols"]


def test_a_view_model_replaces_a_table_left_by_an_older_version(warehouse_copy, tmp_path):
    """int_tickets_timed is marked ``-- materialized: view``; a warehouse built before that holds it as a
    table, and the next build must replace it (a view cannot ``create or replace`` a table)."""
    from warehouse.build import MODELS, build_models, materialized

    assert materialized(MODELS / "intermediate" / "int_tickets_timed.sql") == "view"
    assert materialized(MODELS / "mart" / "ticket_facts.sql") == "table"
    assert materialized(MODELS / "staging" / "stg_sensors__events.sql") == "view"  # raw's rows as they are
    marked = tmp_path / "mart" / "x.sql"
    marked.parent.mkdir()
    marked.write_text("-- one row per x\n-- materialized: view\nselect 1 as x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="only staging and intermediate models may be views"):
        materialized(marked)
    with duckdb.connect(str(current_paths(warehouse_copy)[0])) as con:
        con.execute(f"attach '{current_paths(warehouse_copy)[1]}' as analytics (read_only)")  # what staging reads
        kinds = dict(con.execute("select view_name, 'view' from duckdb_views() where schema_name = 'intermediate'").fetchall())
        assert kinds == {"int_tickets_timed": "view", "int_tickets_repeated": "view"}
        n = con.execute("select count(*) from intermediate.int_tickets_timed").fetchall()[0][0]
        con.execute("drop view intermediate.int_tickets_timed")
        con.execute("create table intermediate.int_tickets_timed as select 1 as stale")
        build_models(con, layers=("intermediate",))
        assert con.execute("select count(*) from duckdb_views() where view_name = 'int_tickets_timed'").fetchall()[0][0] == 1
        assert con.execute("select count(*) from intermediate.int_tickets_timed").fetchall()[0][0] == n > 0


def _compression(con, table: str) -> dict[str, set[str]]:
    """Per text column of ``table``, the compressions its stored segments use."""
    out: dict[str, set[str]] = {}
    for column, kind in con.execute(
        "select column_name, compression from pragma_storage_info(?) where segment_type = 'VARCHAR'", [table]
    ).fetchall():
        out.setdefault(column, set()).add(kind)
    return out


def test_a_plain_column_is_written_uncompressed_where_duckdb_would_compress(tmp_path):
    from warehouse.build import _create, column_ddl

    model = tmp_path / "m.sql"
    model.write_text("-- one row per i\n-- stored plain: a\nselect 1\n", encoding="utf-8")
    # 3,000 codes over 300k rows: DuckDB's own choice compresses them (b); a, the same text, is stored plain
    sql = "with codes as (select 'D' || (i % 3000) as a, 'D' || (i % 3000) as b, i from range(300000) as t(i)) select * from codes order by i desc"
    with duckdb.connect(str(tmp_path / "x.duckdb")) as con:
        _create(con, "table", "t", sql, model)
        con.execute("checkpoint")
        kinds = _compression(con, "t")
        assert kinds["a"] == {"Uncompressed"}
        assert "Uncompressed" not in kinds["b"]
        assert [r[0] for r in con.execute("select i from t").fetchall()] == list(range(299999, -1, -1))  # the query's order
        assert con.execute("select count(*) from t where a <> b").fetchall()[0][0] == 0
        with pytest.raises(ValueError, match="only a table's columns can be stored plain"):
            _create(con, "view", "v", sql, model)
    with pytest.raises(ValueError, match="stored plain needs text columns of the table: c"):
        column_ddl([("a", "VARCHAR"), ("c", "BIGINT")], ("a", "c"), "t")
    with pytest.raises(ValueError, match="stored plain needs text columns of the table: ticket_idd"):
        column_ddl([("ticket_id", "VARCHAR")], ("ticket_idd",), "t")


def test_the_built_warehouse_stores_the_declared_columns_plain(demo_run):
    """Every column ``RAW_PLAIN`` or a model's ``-- stored plain:`` line names is stored uncompressed in the
    published warehouse, wherever its table lives (the full file or the analytics file)."""
    from warehouse.build import LAYERS, RAW_PLAIN, model_files, plain_columns

    settings, _, _ = demo_run
    declared = {("raw", t): cols for t, cols in RAW_PLAIN.items()}
    declared |= {(layer, p.stem): plain_columns(p) for layer in LAYERS for p in model_files(layer) if plain_columns(p)}
    assert {t for _, t in declared} >= {"complaints__tickets", "sensors__events", "stg_complaints__tickets", "ticket_facts"}
    with open_pair(*current_paths(settings.warehouse)) as con:
        for (schema, table), cols in declared.items():
            where = con.execute(
                "select database_name from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]
            ).fetchall()
            assert len(where) == 1, (schema, table)
            kinds = _compression(con, f"{where[0][0]}.{schema}.{table}")
            for c in cols:
                assert kinds[c] == {"Uncompressed"}, (schema, table, c, kinds[c])


def test_load_priority_is_the_heaviest_chain_a_file_heads():
    """By hand: grids 1 heads everything; devices 2 → events 30 makes 32; a ticket file 10 heads nothing;
    activities 1 → records 5 → redemptions 4 makes 10; visits wait for tracks 3, so tracks makes 3 + 2."""
    from pipelines.ingest import load_priority
    from pipelines.schema import BY_TABLE

    tables = [
        "registry__grids", "sensors__devices", "sensors__events", "complaints__tickets", "volunteers__activities",
        "volunteers__records", "volunteers__redemptions", "patrols__tracks", "patrols__visits",
    ]
    weights = [1, 2, 30, 10, 1, 5, 4, 3, 2]
    files = [(BY_TABLE[t], Path(f"{t}.csv")) for t in tables]
    got = load_priority(files, list(range(len(files))), dict(enumerate(weights)))
    assert got == {0: 1 + 32, 1: 32, 2: 30, 3: 10, 4: 10, 5: 9, 6: 4, 7: 5, 8: 2}
    # only the files still to load count: without the event file, devices heads nothing heavier than itself
    assert load_priority(files, [0, 1, 3], dict(enumerate(weights))) == {0: 1 + 10, 1: 2, 3: 10}


def test_stage_figures_are_charged_to_the_stage_that_spent_them(demo_inbox, tmp_path, monkeypatch):
    """The run report's per-stage peak RSS and CPU seconds (what the benchmark prints) belong to the stage
    that spent them: a model step that holds 300 MiB and burns 0.5 CPU s raises the models' peak by that
    much over the load's, and its CPU seconds, not the load's or the quality step's."""
    import os
    import time

    import pipelines.ingest as ingest

    build = ingest.build_models

    def heavy(con, **kw):
        # the peak is the process's (ru_maxrss): an earlier test in this worker may have set it higher than
        # the run reaches, so the ballast lifts the resident size 300 MiB above that peak
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss << 10
        resident = int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        ballast = bytearray(max(0, peak - resident) + (300 << 20))
        ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touch every page: resident, not just reserved
        t = time.process_time()
        while time.process_time() - t < 0.5:
            pass
        out = build(con, **kw)
        del ballast
        return out

    monkeypatch.setattr(ingest, "build_models", heavy)
    inbox, _ = demo_inbox
    result = run_ingest(inbox, make_settings(tmp_path / "wh"), as_of=AS_OF)
    rss, cpu = result.stage_peak_rss_mib, result.stage_cpu_s
    assert rss["models"] - rss["read_validate_load"] >= 250, rss
    assert rss["quality"] >= rss["models"]  # a peak, never falling
    assert cpu["models"] >= 0.5 and cpu["models"] > cpu["analytics"], cpu


def test_staging_keeps_each_keys_newest_version_by_hand():
    """The staging models of tickets, persons and volunteer records on raw rows written by hand: a key
    loaded once is kept as it is; of a repeated key, the newest 更新时间 wins (a missing one loses), then
    the later run, then the file hash, then the row — so which file came first cannot matter."""
    import duckdb

    from warehouse.build import MODELS, ensure_tables, render

    con = duckdb.connect()
    ensure_tables(con)  # raw, staging and meta

    def staged(model: str, table: str, columns: str, rows: list[tuple], out: str) -> set[tuple]:
        marks = ", ".join("?" * len(rows[0]))
        con.executemany(f"insert into raw.{table} ({columns}) values ({marks})", rows)
        con.execute(f"create table staging.{model} as {render(MODELS / 'staging' / f'{model}.sql')}")
        return set(con.execute(f"select {out} from staging.{model}").fetchall())

    t = "2026-01-0{}"
    tickets = [  # ticket_id, updated_at, file, row, run
        ("T1", t.format(1), "fB", 1, "r1"), ("T1", t.format(2), "fA", 2, "r1"),  # the later update, whatever the file
        ("T2", t.format(1), "fA", 3, "r1"),  # once
        ("T3", t.format(5), "fA", 4, "r1"), ("T3", t.format(5), "fC", 1, "r1"), ("T3", None, "fZ", 9, "r1"),  # a tie: file
    ]
    assert staged(
        "stg_complaints__tickets", "complaints__tickets", "ticket_id, updated_at, _file_hash, _row, _run_id", tickets,
        "ticket_id, _file_hash, versions",
    ) == {("T1", "fA", 2), ("T2", "fA", 1), ("T3", "fC", 3)}
    persons = [  # id_number, updated_at, file, row, run
        ("P1", t.format(3), "fA", 1, "r1"), ("P1", t.format(3), "fA", 1, "r2"),  # the same update: the later run
        ("P2", None, "fA", 2, "r1"), ("P2", t.format(1), "fA", 5, "r1"),  # a missing update loses
        ("P3", None, "fB", 3, "r1"),  # once, even without an update
    ]
    assert staged(
        "stg_registry__persons", "registry__persons", "id_number, updated_at, _file_hash, _row, _run_id", persons,
        "id_number, _run_id, _row",
    ) == {("P1", "r2", 1), ("P2", "r1", 5), ("P3", "r1", 3)}
    records = [  # record_id, file, row, run
        ("R1", "fZ", 1, "r1"), ("R1", "fA", 1, "r2"),  # the later run, though its file hash is lower
        ("R2", "fA", 7, "r1"), ("R2", "fB", 2, "r1"), ("R2", "fB", 1, "r1"),  # the file, then the row
        ("R3", "fA", 3, "r1"),
    ]
    assert staged(
        "stg_volunteers__records", "volunteers__records", "record_id, _file_hash, _row, _run_id", records,
        "record_id, _file_hash, _row, _run_id",
    ) == {("R1", "fA", 1, "r2"), ("R2", "fB", 2, "r1"), ("R3", "fA", 3, "r1")}


def test_cli_demo_with_the_default_relative_warehouse_publishes(tmp_path, monkeypatch):
    """What ./demo.sh runs, in its own folder with the default relative warehouse (warehouse_data): the demo's
    ingest publishes, Data Docs included. A relative Data Docs folder failed the run after its suites."""
    from pipelines.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COCKPIT_WAREHOUSE", raising=False)
    monkeypatch.setenv("COCKPIT_PERSON_KEY_SECRET", "demo-test")
    get_settings.cache_clear()
    try:
        r = runner.invoke(app, ["demo", "--scale", "tiny", "--inbox", "inbox", "--as-of", "2026-11-20"])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert (tmp_path / "warehouse_data" / "current.duckdb").exists()
    assert (tmp_path / "warehouse_data" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


ALLOCATOR_PROBE = """
import os, sys
seen = []

class Probe:  # notes _RJEM_MALLOC_CONF as it is when Polars, and so its jemalloc, is first imported
    def find_spec(self, name, path=None, target=None):
        if name == "polars" and not seen:
            seen.append(os.environ.get("_RJEM_MALLOC_CONF"))
        return None

sys.meta_path.insert(0, Probe())
import pipelines.cli
import polars as pl
print("AT_IMPORT", seen[0], pl.DataFrame({"a": [1, 2]}).get_column("a").sum())
"""


def _allocator_probe(cwd: Path, env: dict) -> subprocess.CompletedProcess:
    """``ALLOCATOR_PROBE`` in a child process with ``env`` over an environment without settings or jemalloc
    options, in a folder without a .env file."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_") and k != "_RJEM_MALLOC_CONF"}
    root = str(Path(__file__).resolve().parents[1])
    return subprocess.run(
        [sys.executable, "-c", ALLOCATOR_PROBE], env=base | {"PYTHONPATH": root} | env, cwd=cwd,
        capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "dirty_decay_ms:30000,muzzy_decay_ms:30000"),  # the setting's default
        ({"COCKPIT_POLARS_ALLOCATOR": "dirty_decay_ms:20000"}, "dirty_decay_ms:20000"),
        (  # inherited from a parent process that imported Polars (the benchmark's): the setting still comes last
            {"_RJEM_MALLOC_CONF": "dirty_decay_ms:500,muzzy_decay_ms:1000"},
            "dirty_decay_ms:500,muzzy_decay_ms:1000,dirty_decay_ms:30000,muzzy_decay_ms:30000",
        ),
        (
            {"_RJEM_MALLOC_CONF": "dirty_decay_ms:5000", "COCKPIT_POLARS_ALLOCATOR": "dirty_decay_ms:20000"},
            "dirty_decay_ms:5000,dirty_decay_ms:20000",
        ),
        ({"COCKPIT_POLARS_ALLOCATOR": ""}, "None"),  # Polars' own options
        ({"COCKPIT_QUALITY_THREADS": "0"}, "None"),  # invalid settings: the command reports them, the import does not fail
    ],
)
def test_cli_hands_the_allocator_setting_to_polars_before_polars_loads(tmp_path, env, expected):
    from pipelines.settings import Settings

    assert Settings.model_fields["polars_allocator"].default == "dirty_decay_ms:30000,muzzy_decay_ms:30000"
    out = _allocator_probe(tmp_path, env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["AT_IMPORT", expected, "3"]
    assert "<jemalloc>" not in out.stderr  # jemalloc took every option


def test_jemalloc_reads_the_options_the_cli_sets(tmp_path):
    """The hand-over reaches the allocator: an option jemalloc does not know is reported by jemalloc itself."""
    out = _allocator_probe(tmp_path, {"COCKPIT_POLARS_ALLOCATOR": "no_such_option:1"})
    assert "<jemalloc>: Invalid conf pair: no_such_option:1" in out.stderr
