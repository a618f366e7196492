"""Every table and column of the analytics file carries a Chinese comment for the schema browser (issue 3.7)."""

import re

from warehouse.catalog import column_comment
from warehouse.publish import connect_current


def test_every_table_and_column_of_the_analytics_file_has_a_comment(demo_run):
    settings, _, _ = demo_run
    with connect_current(settings.warehouse, analytics=True) as con:
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() where database_name = current_database() "
            "union all select schema_name, view_name, comment from duckdb_views() where database_name = current_database()"
        ).fetchall()
        cols = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database()"
        ).fetchall()
    assert {s for s, _, _ in tables} == {"raw", "staging", "mart", "meta"}  # raw: the sensor events and GPS points
    assert ("staging", "stg_sensors__events") in {(s, t) for s, t, _ in tables}
    assert [f"{s}.{t}" for s, t, c in tables if not c] == []
    assert len(cols) > 300
    assert [f"{s}.{t}.{c}" for s, t, c, x in cols if not x] == []
    cjk = re.compile(r"[\u4e00-\u9fff]")
    assert [f"{s}.{t}" for s, t, c in tables if not cjk.search(c)] == []  # Chinese, for the schema browser
    assert [f"{s}.{t}.{c}" for s, t, c, x in cols if not cjk.search(x)] == []


def test_comments_come_from_the_one_definition():
    assert column_comment("mart.kpi_grid_month", "satisfaction_rate").startswith("满意率：")
    assert column_comment("mart.appraisal_quarter", "satisfaction_rate").startswith("满意率：本人办结工单")
    assert column_comment("mart.appraisal_quarter", "overdue_open_score").endswith("反向；缺失为 0）")
    assert column_comment("staging.stg_registry__persons", "household_id") == "户号"
    assert column_comment("mart.nothing", "no_such_column") is None
