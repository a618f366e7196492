"""Completeness: every staging model and mart has a quality suite of the same name, with critical checks."""

import pytest

from expectations.runner import SEVERITIES, load_suites
from warehouse.build import model_files


def test_every_staging_model_and_mart_has_a_suite():
    suites = load_suites()
    for layer in ("staging", "mart"):
        for path in model_files(layer):
            assert path.stem in suites, f"{layer}.{path.stem} has no expectations/{path.stem}.toml"
            table = suites[path.stem].get("table", f"staging.{path.stem}")
            assert table == f"{layer}.{path.stem}"


def test_every_suite_has_a_critical_expectation_and_only_known_severities():
    for name, spec in load_suites().items():
        items = spec.get("expect", []) + spec.get("reconcile", []) + spec.get("scan", [])
        assert {e["severity"] for e in items} <= set(SEVERITIES), name
        assert any(e["severity"] == "critical" for e in items), name


def test_quality_results_name_their_columns(demo_run):
    _, result, _ = demo_run
    for q in result.quality:
        if q["expectation"] != "expect_table_row_count_to_equal":
            assert q["column"], q


def test_reference_checks_catch_an_unknown_value(demo_run, tmp_path):
    from conftest import make_settings, writable_copy

    from expectations.runner import run_quality
    from warehouse.publish import current_paths

    settings, result, _ = demo_run
    con = writable_copy(current_paths(settings.warehouse), tmp_path)
    con.execute(
        "update staging.stg_registry__workers set grid_code = 'G999' where worker_id = (select min(worker_id) from staging.stg_registry__workers)"
    )
    results = run_quality(con, result.run_id, make_settings(tmp_path / "wh"))
    ref = [
        q for q in results if q["suite"] == "stg_registry__workers" and q["column"] == "grid_code ∈ reference"
    ]
    assert len(ref) == 1 and ref[0]["success"] is False and ref[0]["unexpected_count"] == 1
    assert ref[0]["severity"] == "critical"
    others = [q for q in results if not q["success"] and q is not ref[0]]
    assert others == []


def test_privacy_scan_finds_an_id_number_or_phone_in_a_mart(demo_run, tmp_path):
    from conftest import make_settings, writable_copy

    from expectations.runner import run_quality
    from warehouse.publish import current_paths

    settings, result, _ = demo_run
    con = writable_copy(current_paths(settings.warehouse), tmp_path)
    clean = run_quality(con, result.run_id, make_settings(tmp_path / "wh"))
    scans = [q for q in clean if q["suite"] == "mart__privacy"]
    assert len(scans) == 2 and all(q["success"] for q in scans)
    # the marts' rows live in the analytics file; the full file's mart relations are views of them
    con.execute("update analytics.mart.patrol_sessions set worker_id = '11010519491231002X' where rowid = 0")
    con.execute("update analytics.mart.ticket_facts set category = '+8613812345678' where rowid = 3")
    results = run_quality(con, result.run_id, make_settings(tmp_path / "wh"))
    failed = {q["column"] for q in results if not q["success"]}
    assert {"no ID number in mart", "no mobile phone number in mart"} <= failed
    assert all(
        q["severity"] == "critical"
        for q in results
        if q["column"] in failed and q["suite"] == "mart__privacy"
    )


def test_privacy_scan_counts_by_hand():
    """Every pattern of a schema in one pass per table; the length tests before each regular expression
    leave out only values that cannot match it, whatever their bytes (a value of 18 Chinese characters,
    19 digits, full-width digits)."""
    import duckdb

    from expectations.runner import _length_bounds, _scan_counts

    assert _length_bounds("[0-9]{17}[0-9Xx]") == (18, 18)
    assert _length_bounds(r"(\+?86)?1[3-9][0-9]{9}") == (11, 14)
    assert _length_bounds("[0-9]+") == (1, None)
    assert _length_bounds(r"\pN+") == (0, None)  # Python cannot read it, DuckDB's RE2 can: no length test
    assert _length_bounds("[[:digit:]]{3}") == (0, None)  # one character to RE2, two to Python: no length test
    assert _length_bounds("a{,3}") == (0, None)  # text to RE2, a repeat to Python
    con = duckdb.connect()
    con.execute("create schema s")
    con.execute("create table s.t1 (a varchar, b varchar, n integer)")
    con.execute(
        """insert into s.t1 values
           ('110105194912310021', 'x', 1),
           ('13812345678', '110105194912310021', 2),
           ('中文中文中文中文中文中文中文中文中文', null, 3),
           ('+8613812345678', 'abc', 4),
           ('1101051949123100211', 'y', 5)"""
    )
    con.execute("create table s.t2 (c varchar)")
    con.execute("insert into s.t2 values ('12345'), ('1'), ('１２３'), ('123')")
    con.execute("create table s.t3 (c varchar)")  # empty
    patterns = ["[0-9]{17}[0-9Xx]", r"(\+?86)?1[3-9][0-9]{9}", "[0-9]+", r"\pN+", "[0-9０-９]{3}", "[[:digit:]]{3}"]
    # ID: t1.a row 1 and t1.b row 2; phone: t1.a rows 2 and 4; digits: t1.a rows 1, 2, 5, t1.b row 2,
    # t2 '12345', '1' and '123'; \pN also the full-width '１２３' (9 bytes); three digits '１２３' and '123',
    # three ASCII digits (RE2's POSIX class) '123' only
    assert _scan_counts(con, "s", patterns) == [2, 2, 7, 8, 2, 1]
    assert _scan_counts(con, "s", ["[0-9]{17}[0-9Xx]"]) == [2]
    assert _scan_counts(con, "nothing_here", patterns) == [0] * 6


def test_chunks_cover_every_row_once_and_pieces_keep_a_keys_rows_together():
    """Chunks stream a table or view once, every row in one chunk; the pieces a failed uniqueness check's values
    are read in (``_piece``, by the key's hash) hold each key's rows together, so the counts hold across the table."""
    import duckdb

    from expectations.runner import _chunks, _piece

    con = duckdb.connect()
    con.execute("create table t as select i, 'k' || (i % 7) as k from range(100) r(i)")
    con.execute("delete from t where i between 20 and 39")  # deleted rows leave a gap in the row ids
    kept = [i for i in range(100) if not 20 <= i <= 39]
    pieces = list(_chunks(con, "t", "i", 15))
    assert [(p[0], p[1], len(p[2])) for p in pieces] == [(i, 6, 15) for i in range(5)] + [(5, 6, 5)]  # ceil(80 / 15)
    assert sorted(v for _, _, t in pieces for v in t["i"].to_pylist()) == kept  # each row once, none lost in the gap
    by_key = [{r[0] for r in con.execute(f"select k from t {_piece('k', i, 6)}").fetchall()} for i in range(6)]
    assert set().union(*by_key) == {f"k{j}" for j in range(7)}
    assert sum(len(s) for s in by_key) == 7  # no key in two pieces, so uniqueness holds across the table
    assert sum(con.execute(f"select count(*) from t {_piece('k', i, 6)}").fetchone()[0] for i in range(6)) == 80
    assert _piece("k", 0, 1) == ""  # one piece: the whole table
    con.execute("create view v as select * from t")  # a view: the same
    streamed = list(_chunks(con, "v", "i", 15))
    assert [(p[1], len(p[2])) for p in streamed] == [(6, 15)] * 5 + [(6, 5)]
    assert sorted(v for _, _, t in streamed for v in t["i"].to_pylist()) == kept
    assert [(p[1], len(p[2])) for p in _chunks(con, "t", "i", 100)] == [(1, 80)]
    con.execute("create table e (i int)")
    assert [(p[1], len(p[2])) for p in _chunks(con, "e", "i", 15)] == [(1, 0)]


def test_chunk_frames_give_gx_numpy_numbers_and_arrow_text():
    """GX's between check runs vectorised only on numpy int/float/datetime columns, and in Python per
    value otherwise: numbers (decimals too) must arrive as numpy, text as Arrow strings, and a boolean with
    nulls (a reference check's column) as Arrow booleans, not Python objects."""
    import duckdb
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from expectations.runner import _frame

    con = duckdb.connect()
    df = _frame(
        con.sql(
            "select * from (values (1, 2.5, 3.25::decimal(10, 2), 'a', 1.5::double, true), (null, null, null, null, null, null)) v(i, f, d, s, x, b)"
        ).to_arrow_table()
    )
    assert df["i"].dtype == np.float64 and df["i"].isna().tolist() == [False, True]  # nullable int → float, not object
    assert df["f"].dtype == np.float64 and df["d"].dtype == np.float64 and df["d"][0] == 3.25
    assert isinstance(df["s"].dtype, pd.ArrowDtype) and df["s"][0] == "a"
    assert df["b"].dtype == pd.ArrowDtype(pa.bool_()) and df["b"].isna().tolist() == [False, True]


@pytest.mark.parametrize("gx_order", ["as given", "reversed"])
def test_every_expectation_type_counts_as_by_hand_across_chunks(tmp_path, monkeypatch, gx_order):
    """Each kind of expectation the suites use, on six rows handed to GX in chunks of two by the key's
    hash, against counts worked out by hand: the chunks' counts add up, and a repeated key is caught
    although the table is split. The regular expression is a search: "a66" matches "^a[0-9]". Results
    are matched to expectations by position, whatever order GX lists them in ("reversed"). A suite with a
    scan runs last (DuckDB on both cores once the registries' copy into the analytics file beside the suites is done), though its
    results are stored in the suites' order."""
    import duckdb
    from conftest import make_settings

    from expectations import runner
    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    if gx_order == "reversed":
        checkpoint = runner._checkpoint

        class Reversed:
            def __init__(self, inner):
                self.inner = inner

            def run(self, **kwargs):
                out = self.inner.run(**kwargs)
                for vr in out.run_results.values():
                    vr.results.reverse()
                return out

        monkeypatch.setattr(runner, "_checkpoint", lambda *a, **k: Reversed(checkpoint(*a, **k)))

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute(
        """create table s.t as select * from (values
        (1, 'a1',  'x',  5,    3,    'k1'),
        (2, 'a2',  'y',  50,   60,   'k1'),
        (2, 'b3',  null, 7,    7,    'k2'),
        (4, null,  'z',  null, 1,    'k9'),
        (5, 'a5',  'x',  2,    null, 'k1'),
        (1, 'a66', 'x',  3,    1,    'k1')) v(id, txt, cat, v, b, grp)"""
    )
    con.execute("create table s.empty as select * from s.t where false")
    expect = [
        {"type": "expect_column_values_to_not_be_null", "column": "txt"},  # row 4
        {"type": "expect_column_values_to_match_regex", "column": "txt", "regex": "^a[0-9]"},  # b3
        {"type": "expect_column_values_to_be_between", "column": "v", "min_value": 0, "max_value": 10},  # 50
        {"type": "expect_column_values_to_be_in_set", "column": "cat", "value_set": ["x", "y"]},  # z
        {"type": "expect_column_values_to_be_unique", "column": "id"},  # 1, 2, 2, 1
        {"type": "expect_compound_columns_to_be_unique", "column_list": ["id", "grp"]},  # (1, k1) twice
        {  # 50 > 60 and 7 > 7 fail; rows 4 and 5 have a value missing
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "column_A": "v",
            "column_B": "b",
            "ignore_row_if": "either_value_is_missing",
        },
        {  # 50 ≥ 60 fails
            "type": "expect_column_pair_values_a_to_be_greater_than_b",
            "column_A": "v",
            "column_B": "b",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
        {
            "type": "expect_column_values_to_be_in_set",
            "column": "grp",
            "value_set_sql": "select 'k1' union all select 'k2'",
        },  # k9
    ]
    expect = [e | {"severity": "critical"} for e in expect]
    calls = []

    def logged(name):
        inner = getattr(runner, name)
        return lambda *a: calls.append(name) or inner(*a)

    for name in ("_chunks", "_scan_counts"):
        monkeypatch.setattr(runner, name, logged(name))
    pieces = []  # the pieces of the table read by the key's hash
    piece = runner._piece
    monkeypatch.setattr(runner, "_piece", lambda key, i, parts: pieces.append((key, i, parts)) or piece(key, i, parts))
    suites = {
        "a_scan": {"table": "s.t", "scan": [{"name": "no ID number", "schema": "s", "pattern": "[0-9]{17}[0-9Xx]", "severity": "critical"}]},
        "t": {
            "table": "s.t",
            "key": "id",
            "expect": expect,
            "reconcile": [
                {
                    "name": "six rows",
                    "left": "select count(*) from s.t",
                    "right": "select 6",
                    "severity": "critical",
                }
            ],
        },
        "empty": {
            "table": "s.empty",
            "expect": expect[:1],
            "reconcile": [
                {"name": "one is not two", "left": "select 1", "right": "select 2", "severity": "warning"}
            ],
        },
    }
    # as given: in the GX worker processes; reversed (a patch this process's GX sees): in threads of this process
    processes = gx_order == "as given"
    settings = make_settings(tmp_path / "wh").model_copy(update={"quality_chunk_rows": 2, "quality_processes": processes})
    worker_cpu = runner.worker_cpu_seconds()
    results = run_quality(con, "r1", settings, suites=suites)
    assert (runner.worker_cpu_seconds() > worker_cpu) == processes  # the chunks went to the workers, or stayed here
    got = [(q["suite"], q["expectation"], q["column"], q["unexpected_count"], q["success"]) for q in results]
    assert got == [
        ("t", "expect_column_values_to_not_be_null", "txt", 1, False),
        ("t", "expect_column_values_to_match_regex", "txt", 1, False),
        ("t", "expect_column_values_to_be_between", "v", 1, False),
        ("t", "expect_column_values_to_be_in_set", "cat", 1, False),
        ("t", "expect_column_values_to_be_unique", "id", 4, False),
        ("t", "expect_compound_columns_to_be_unique", "id,grp", 2, False),
        ("t", "expect_column_pair_values_a_to_be_greater_than_b", "v,b", 2, False),
        ("t", "expect_column_pair_values_a_to_be_greater_than_b", "v,b", 1, False),
        ("t", "expect_column_values_to_be_in_set", "grp ∈ reference", 1, False),
        ("empty", "expect_column_values_to_not_be_null", "txt", 0, True),
        ("a_scan", "reconcile", "no ID number", 0, True),
        ("t", "reconcile", "six rows", 0, True),
        ("empty", "reconcile", "one is not two", 1, False),
    ]
    assert all(q["element_count"] == 6 for q in results[:9])
    assert results[1]["details"] == ["b3"] and results[3]["details"] == ["z"]
    assert results[9]["observed"] == "empty table" and results[12]["severity"] == "warning"
    assert calls == ["_chunks", "_scan_counts"]  # the scan after the suite it was given before
    # the keyed table of three chunks was read once, in order, its uniqueness checked on all its fingerprints at once;
    # only the values of the two failed uniqueness checks were read piece by piece by the key's hash, and the
    # repeats' counts above are theirs
    assert pieces == [("id", i, 3) for i in range(3)] * 2
    stored = con.execute(
        "select count(*), count(*) filter (where not success) from meta.quality_results where run_id = 'r1'"
    )
    assert stored.fetchall() == [(13, 10)]
    # in one chunk, a small table is one frame of all its columns for one checkpoint: the same results
    names = []
    made = runner._checkpoint
    monkeypatch.setattr(runner, "_checkpoint", lambda gx, ctx, ds, name, e: names.append(name) or made(gx, ctx, ds, name, e))
    whole = run_quality(con, "r1w", make_settings(tmp_path / "wh").model_copy(update={"quality_processes": False}), suites=suites)
    assert names == ["t", "reconciliation"]  # the empty table passes vacuously, with no checkpoint
    assert [(q["suite"], q["expectation"], q["column"], q["unexpected_count"], q["success"]) for q in whole] == got
    # (the unexpected values listed are the same values, but their text follows each frame's dtypes: 50 in
    # a chunk without a null is 50.0 in the whole frame)
    assert [(q["element_count"], len(q["details"])) for q in whole] == [(q["element_count"], len(q["details"])) for q in results]
    # a clean table passes every one of them
    con.execute("create or replace table s.t as select * from s.t where txt in ('a1', 'a5')")
    clean = run_quality(con, "r2", settings, suites={"t": suites["t"]})
    assert [q["success"] for q in clean] == [True] * 9 + [False], clean  # two rows now: not six


def test_a_run_id_that_reads_as_a_date_does_not_break_quality(demo_run, tmp_path):
    """GX parsed a run name given without a run time as a date: "20261130T091900-3851ad" is 1 AD at
    UTC-38:51, and the checkpoint then raised "offset must be a timedelta …" (1 run in ~1,000 failed)."""
    from conftest import make_settings, writable_copy

    from expectations.runner import run_quality
    from warehouse.publish import current_paths

    settings, _, _ = demo_run
    con = writable_copy(current_paths(settings.warehouse), tmp_path)
    results = run_quality(
        con,
        "20261130T091900-3851ad",
        make_settings(tmp_path / "wh").model_copy(update={"quality_chunk_rows": 50}),
    )
    assert results and all(q["success"] for q in results if q["severity"] == "critical")


def test_suites_are_validated_two_at_a_time_biggest_table_first(tmp_path, monkeypatch):
    """With quality_threads = 2, two tables' suites are inside GX at the same moment (a barrier both must
    reach: one thread alone breaks it), the biggest tables are started first, results come back in the
    suites' order, and an error in one suite fails the run."""
    import threading

    import duckdb
    from conftest import make_settings

    from expectations import runner
    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute("create table s.small as select * from range(2) r(v)")
    con.execute("create table s.big as select * from range(5) r(v)")
    con.execute("create table s.mid as select * from range(3) r(v)")
    expect = [{"type": "expect_column_values_to_be_between", "column": "v", "min_value": 0, "max_value": 3, "severity": "critical"}]
    suites = {n: {"table": f"s.{n}", "expect": expect} for n in ("small", "big", "mid")}
    started, gate = [], [threading.Barrier(2, timeout=10)]
    chunks = runner._chunks

    def meeting(cur, table, *a):
        started.append(table)
        if gate[0] is not None and table in ("s.big", "s.mid"):
            gate[0].wait()  # raises BrokenBarrierError unless the two are validated at once
        return chunks(cur, table, *a)

    monkeypatch.setattr(runner, "_chunks", meeting)
    settings = make_settings(tmp_path / "wh")
    results = run_quality(con, "r1", settings, suites=suites)
    assert sorted(started[:2]) == ["s.big", "s.mid"] and started[2] == "s.small"  # the two biggest first
    assert [(q["suite"], q["unexpected_count"], q["success"]) for q in results] == [
        ("small", 0, True), ("big", 1, False), ("mid", 0, True),  # 4 > 3 in big, by hand
    ]
    gate[0] = threading.Barrier(2, timeout=1)
    with pytest.raises(threading.BrokenBarrierError):  # one thread: big waits for mid in vain
        run_quality(con, "r2", settings.model_copy(update={"quality_threads": 1}), suites=suites)


def test_a_uniqueness_check_needs_the_suites_key_among_its_columns(tmp_path):
    """Without a key a big table is streamed in pieces and each piece is checked alone, so a value repeated
    in two pieces would pass: such a suite is refused when the suites are read, naming the file and the fix.
    So is ``mostly``: each piece would pass or fail on its own share of the rows."""
    unique = '[[expect]]\ntype = "expect_compound_columns_to_be_unique"\ncolumn_list = ["a", "b"]\nseverity = "critical"\n'
    cases = {
        "no_key": ('table = "s.t"\n', False),
        "other_key": ('table = "s.t"\nkey = "c"\n', False),
        "key_b": ('table = "s.t"\nkey = "b"\n', True),
        "whole": ('table = "s.t"\nwhole = true\n', True),
    }
    mostly = tmp_path / "mostly"
    mostly.mkdir()
    (mostly / "mostly.toml").write_text(
        '[[expect]]\ntype = "expect_column_values_to_not_be_null"\ncolumn = "a"\nmostly = 0.9\nseverity = "warning"\n', encoding="utf-8"
    )
    with pytest.raises(ValueError, match=r"mostly\.toml: mostly is not supported"):
        load_suites(mostly)
    for name, (head, ok) in cases.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.toml").write_text(head + "\n" + unique, encoding="utf-8")
        if ok:
            assert list(load_suites(folder)) == [name]
        else:
            with pytest.raises(ValueError, match=rf"{name}\.toml: expect_compound_columns_to_be_unique\(a, b\) needs key"):
                load_suites(folder)


def test_a_repeat_in_two_pieces_is_caught_keyed_or_whole(tmp_path):
    """Six rows in pieces of two: the repeated (p1, t1) is rows 1 and 6, which streaming in order puts in
    different pieces (shown: it passes there). Keyed by person, or checked whole, it is caught, 2 rows."""
    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute(
        "create table s.tags as select * from (values ('p1', 't1'), ('p2', 't1'), ('p3', 't2'), "
        "('p4', 't1'), ('p5', 't3'), ('p1', 't1')) v(person_key, tag)"
    )
    check = {"type": "expect_compound_columns_to_be_unique", "column_list": ["person_key", "tag"], "severity": "critical"}
    settings = make_settings(tmp_path / "wh").model_copy(update={"quality_chunk_rows": 2, "data_docs": False})
    for extra, caught in (({}, 0), ({"key": "person_key"}, 2), ({"whole": True}, 2)):
        suites = {"tags": {"table": "s.tags", "expect": [check]} | extra}
        (got,) = run_quality(con, "r-" + next(iter(extra), "streamed"), settings, suites=suites)
        assert (got["unexpected_count"], got["success"], got["element_count"]) == (caught, caught == 0, 6), extra


def test_data_docs_are_built_for_a_relative_warehouse_path(tmp_path, monkeypatch):
    """The default warehouse, ``warehouse_data``, is relative to where the CLI runs (./demo.sh): GX refused
    to build the Data Docs site under a relative folder, and the demo's ingest failed after its suites."""
    from pathlib import Path

    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s; create table s.t as select * from (values ('a'), ('b')) v(k)")
    suites = {"t": {"table": "s.t", "key": "k", "expect": [{"type": "expect_column_values_to_be_unique", "column": "k", "severity": "critical"}]}}
    settings = make_settings(Path("wh")).model_copy(update={"data_docs": True})
    (got,) = run_quality(con, "r-relative", settings, suites=suites)
    assert got["success"] is True
    assert (tmp_path / "wh" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()


def test_uniqueness_is_checked_on_a_fingerprint_and_a_failing_piece_on_its_values(tmp_path, monkeypatch):
    """A keyed table's uniqueness expectations run on DuckDB's hash of the key's columns; where the hashes
    repeat, the table is checked again on its values, piece by piece by the key's hash, so a collision cannot fail a clean table and the
    counts stored are the values' own. Nulls are left out as GX leaves them out: a single column's, and a
    compound key's rows with every value missing (its default ``ignore_row_if``)."""
    import duckdb
    from conftest import make_settings

    from expectations import runner
    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute(
        """create table s.t as select * from (values
        (1, 'a', 'x'), (2, null, null), (3, null, null), (null, 'b', 'y'), (null, 'c', 'y'), (6, 'a', 'z')) v(id, p, q)"""
    )
    suite = {
        "table": "s.t",
        "key": "p",
        "expect": [
            {"type": "expect_column_values_to_be_unique", "column": "id", "severity": "critical"},
            {"type": "expect_compound_columns_to_be_unique", "column_list": ["p", "q"], "severity": "critical"},
        ],
    }
    rechecked = []
    made = runner._checkpoint
    monkeypatch.setattr(
        runner, "_checkpoint", lambda gx, ctx, ds, name, e: (rechecked.append(name) if name.endswith(".values") else None) or made(gx, ctx, ds, name, e)
    )
    settings = make_settings(tmp_path / "wh").model_copy(update={"quality_chunk_rows": 2, "data_docs": False, "quality_processes": False})

    def run(tag):
        return [(q["expectation"], q["column"], q["unexpected_count"], q["element_count"], q["success"]) for q in run_quality(con, tag, settings, suites={"t": suite})]

    clean = [
        ("expect_column_values_to_be_unique", "id", 0, 6, True),
        ("expect_compound_columns_to_be_unique", "p,q", 0, 6, True),
    ]
    assert run("r1") == clean and rechecked == []  # the nulls gave no repeated fingerprint
    # every fingerprint the same: each piece with two rows or more is checked on its values, and passes
    monkeypatch.setattr(runner, "_fingerprint_sql", lambda conf: "42")
    assert run("r2") == clean and rechecked
    # a real repeat fails with the values' counts: id 1 twice, (a, x) twice — in the same piece by the key p
    con.execute("insert into s.t values (1, 'a', 'x')")
    assert run("r3") == [
        ("expect_column_values_to_be_unique", "id", 2, 7, False),
        ("expect_compound_columns_to_be_unique", "p,q", 2, 7, False),
    ]
    monkeypatch.undo()
    rechecked.clear()
    monkeypatch.setattr(runner, "_checkpoint", lambda gx, ctx, ds, name, e: (rechecked.append(name) if name.endswith(".values") else None) or made(gx, ctx, ds, name, e))
    assert run("r4") == [
        ("expect_column_values_to_be_unique", "id", 2, 7, False),
        ("expect_compound_columns_to_be_unique", "p,q", 2, 7, False),
    ] and rechecked


def test_gx_workers_end_with_their_parent_and_leave_no_chunk_files():
    """A killed ingest leaves no GX worker behind (each watches its parent; the pool's queue alone would keep it
    waiting) and no chunk file in shared memory once a later run sweeps; a finished run leaves none of its own."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from expectations import runner

    code = (
        "import os, sys\n"
        "from expectations.runner import gx_pool, _ready\n"
        "if __name__ == '__main__':\n"
        "    pool = gx_pool(1)\n"
        "    print(pool.submit(_ready).result(), flush=True)\n"
        "    open(os.path.join(sys.argv[1], f'cockpit-gx-{os.getpid()}-left.arrow'), 'w').close()\n"
        "    os.kill(os.getpid(), 9)\n"
    )
    folder = runner._handover_folder()
    proc = subprocess.Popen([sys.executable, "-c", code, folder], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    worker = int(out.split()[0])

    def alive(pid: int) -> bool:
        try:
            return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except FileNotFoundError:
            return False

    for _ in range(50):  # the worker looks for its parent once a second
        if not alive(worker):
            break
        time.sleep(0.2)
    assert not alive(worker), f"GX worker {worker} outlived its parent"
    left = os.path.join(folder, f"cockpit-gx-{proc.pid}-left.arrow")
    assert os.path.exists(left)
    runner.sweep_handovers()
    assert not os.path.exists(left)
    assert not [p for p in os.listdir(folder) if p.startswith(f"cockpit-gx-{os.getpid()}-")]  # this process's runs took theirs


def test_gx_workers_do_not_run_the_parents_main_script(tmp_path):
    """Started workers (spawned, or forked by the fork server) would run the parent's main script again as ``__mp_main__`` — the CLI's, or app.py after a
    Streamlit test ran it, which failed every worker: the pool starts them without it."""
    import os
    import subprocess
    import sys

    marker = tmp_path / "ran"
    script = tmp_path / "main_script.py"
    script.write_text(
        "import sys\n"
        "if __name__ != '__main__':\n"
        f"    open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
        "else:\n"
        "    from expectations.runner import gx_pool, _ready\n"
        "    print(gx_pool(1).submit(_ready).result())\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=os.getcwd(), env=os.environ | {"PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) > 0
    assert not marker.exists(), marker.read_text()


def test_the_same_reconciliation_count_is_taken_once(tmp_path):
    """Two suites reconcile against the same count (a sequence's next value: a second evaluation would give 2),
    and a suite's row count by the same SQL is reused: each count is taken once per run."""
    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect()
    ensure_tables(con)
    con.execute("create schema s; create sequence s.once; create table s.t as select range as id from range(3)")
    once = {"name": "counted once", "left": "select nextval('s.once')", "right": "select 1", "severity": "critical"}
    rows = {"name": "three rows", "left": "select count(*) from s.t", "right": "select 3", "severity": "critical"}
    expect = [{"type": "expect_column_values_to_not_be_null", "column": "id", "severity": "critical"}]
    suites = {"a": {"table": "s.t", "expect": expect, "reconcile": [once, rows]}, "b": {"reconcile": [once]}}
    settings = make_settings(tmp_path / "wh").model_copy(update={"quality_processes": False, "data_docs": False})
    results = run_quality(con, "r1", settings, suites=suites)
    got = [(q["suite"], q["column"], q["success"]) for q in results if q["expectation"] == "reconcile"]
    assert got == [("a", "counted once", True), ("a", "three rows", True), ("b", "counted once", True)]
    assert con.execute("select nextval('s.once')").fetchone() == (2,)  # evaluated once by the run


def test_a_reference_checks_column_stays_in_duckdb_only_its_boolean_goes_to_gx(tmp_path, monkeypatch):
    """A reference check (``value_set_sql``) reads the boolean DuckDB computes per row, so the chunks handed to GX
    carry that boolean, not the column itself, unless another expectation reads the column too. Shipping the
    column anyway cost the district's quality step 11–14 CPU s (person_tags' 21.7M person keys, the 33M events'
    device IDs), with the same 205 results. The counts stay the by-hand ones: 'k9' is the one unknown value."""
    import duckdb
    from conftest import make_settings

    from expectations import runner
    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute(
        "create table s.t as select * from (values (1, 'k1', 'x'), (2, 'k2', 'y'), (3, 'k9', 'x'), (4, null, 'z'), (5, 'k1', 'x')) v(id, grp, cat)"
    )
    reference = {"type": "expect_column_values_to_be_in_set", "column": "grp", "value_set_sql": "select 'k1' union all select 'k2'", "severity": "critical"}
    seen = []  # the columns of every chunk handed to GX
    validate = runner._validate
    monkeypatch.setattr(runner, "_validate", lambda groups, table, *a: seen.append(tuple(table.column_names)) or validate(groups, table, *a))
    settings = make_settings(tmp_path / "wh").model_copy(update={"quality_chunk_rows": 2, "data_docs": False, "quality_processes": False})

    def run(tag, expect):
        results = run_quality(con, tag, settings, suites={"t": {"table": "s.t", "expect": expect}})
        return [(q["expectation"], q["column"], q["unexpected_count"], q["success"]) for q in results]

    assert run("r1", [reference]) == [("expect_column_values_to_be_in_set", "grp ∈ reference", 1, False)]
    assert seen and set(seen) == {("grp ∈ reference",)}  # three chunks of the five rows, none with grp itself
    seen.clear()
    not_null = {"type": "expect_column_values_to_not_be_null", "column": "grp", "severity": "critical"}
    assert run("r2", [reference, not_null]) == [
        ("expect_column_values_to_be_in_set", "grp ∈ reference", 1, False),
        ("expect_column_values_to_not_be_null", "grp", 1, False),
    ]
    assert set(seen) == {("grp", "grp ∈ reference")}  # read by another check: it travels


@pytest.mark.parametrize("processes", [False, True])
def test_data_docs_have_one_page_per_suite_with_the_whole_tables_counts(tmp_path, processes):
    """A table read in chunks gets one Data Docs page for its suite, not one per chunk and group of columns, and the
    page counts every row: 2 of 5 ``txt`` values missing, one in the first chunk and one in the third; 'k9' the one
    value outside the set, in the second; a repeated key found on the fingerprints and counted on the values."""
    import re

    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.build import ensure_tables

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_tables(con)
    con.execute("create schema s")
    con.execute(
        "create table s.t as select * from (values (1, null, 'k1'), (2, 'b', 'k2'), (3, 'c', 'k9'), (3, 'd', 'k1'), (5, null, 'k2')) v(id, txt, grp)"
    )
    expect = [
        {"type": "expect_column_values_to_not_be_null", "column": "txt", "severity": "critical"},
        {"type": "expect_column_values_to_be_in_set", "column": "grp", "value_set": ["k1", "k2"], "severity": "warning"},
        {"type": "expect_column_values_to_be_unique", "column": "id", "severity": "critical"},
    ]
    settings = make_settings(tmp_path / "wh").model_copy(
        update={"quality_chunk_rows": 2, "data_docs": True, "quality_processes": processes}
    )
    results = run_quality(con, "r1", settings, suites={"t": {"table": "s.t", "key": "id", "expect": expect}})
    assert [(q["expectation"], q["unexpected_count"], q["element_count"]) for q in results] == [
        ("expect_column_values_to_not_be_null", 2, 5),
        ("expect_column_values_to_be_in_set", 1, 5),
        ("expect_column_values_to_be_unique", 2, 5),
    ]
    site = settings.warehouse / "gx" / "uncommitted" / "data_docs" / "local_site"
    assert {p.name for p in (site / "validations").iterdir()} == {"t"}
    pages = list((site / "validations" / "t").rglob("*.html"))
    assert len(pages) == 1
    text = " ".join(re.sub(r"<[^>]+>", " ", pages[0].read_text()).split())  # the page as it reads
    assert "Run Name r1 " in text and "part" not in text
    assert "Evaluated Expectations 3 Successful Expectations 0" in text
    # as GX words its counts: 1 of the 5 rows outside the set ('k9', from the second chunk), 2 repeated ids, 2 nulls
    assert "values must belong to this set: k1 k2 . 1 unexpected values found. 20% of 5 total rows." in text
    assert "Unexpected Value Count k9 1" in text
    assert "values must be unique. 2 unexpected values found. 40% of 5 total rows." in text
    assert "values must never be null. 2 unexpected values found. 40% of 5 total rows." in text
