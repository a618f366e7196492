"""Completeness: every staging model and mart has a quality suite of the same name, with critical checks."""

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
    import shutil

    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.publish import current_paths

    settings, result, _ = demo_run
    path = tmp_path / "w.duckdb"
    shutil.copyfile(current_paths(settings.warehouse)[0], path)
    con = duckdb.connect(str(path))
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
    import shutil

    import duckdb
    from conftest import make_settings

    from expectations.runner import run_quality
    from warehouse.publish import current_paths

    settings, result, _ = demo_run
    path = tmp_path / "w.duckdb"
    shutil.copyfile(current_paths(settings.warehouse)[0], path)
    con = duckdb.connect(str(path))
    clean = run_quality(con, result.run_id, make_settings(tmp_path / "wh"))
    scans = [q for q in clean if q["suite"] == "mart__privacy"]
    assert len(scans) == 2 and all(q["success"] for q in scans)
    con.execute("update mart.patrol_sessions set worker_id = '11010519491231002X' where rowid = 0")
    con.execute("update mart.ticket_facts set category = '+8613812345678' where rowid = 3")
    results = run_quality(con, result.run_id, make_settings(tmp_path / "wh"))
    failed = {q["column"] for q in results if not q["success"]}
    assert {"no ID number in mart", "no mobile phone number in mart"} <= failed
    assert all(q["severity"] == "critical" for q in results if q["column"] in failed and q["suite"] == "mart__privacy")
