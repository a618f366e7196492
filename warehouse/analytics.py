"""The analytics file: what analysts' SQL may read — no raw ID number, phone or name anywhere (SPEC §5, §8).

It is a separate DuckDB file, so that a query that reads the file's bytes finds nothing more
than the tables below. Persons appear by ``person_key`` (a keyed hash) only. The models write their
analyst-safe tables into it themselves (``warehouse.build.in_analytics``); ``copy_layers`` copies what
they did not.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.schema import PII_COLUMNS
from warehouse.build import analytics_views
from warehouse.catalog import apply_comments

COPIED_SCHEMAS = ("staging", "mart")
META_TABLES = ("runs", "load_runs", "quality_results", "params", "category_weights", "appraisal_weights")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? order by column_index",
        [schema, table],
    ).fetchall()
    return [r[0] for r in rows]


def safe_columns(table: str, columns: list[str]) -> list[str]:
    """``table`` is a staging model (stg_<source>__<entity>) or a meta table."""
    pii = PII_COLUMNS.get(table.removeprefix("stg_"), ())
    return [c for c in columns if c not in pii]


def _copy(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str, str | None]]) -> None:
    for schema, table, comment in tables:
        cols = ", ".join(f'"{c}"' for c in safe_columns(table, _columns(con, schema, table)))
        con.execute(f"create or replace table analytics.{schema}.{table} as select {cols} from {schema}.{table}")
        if comment:
            con.execute(f"comment on table analytics.{schema}.{table} is '{comment.replace(chr(39), chr(39) * 2)}'")


def attach(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Attach the version's analytics file as ``analytics``, with the schemas it holds."""
    con.execute(f"attach '{path}' as analytics")
    for schema in (*COPIED_SCHEMAS, "meta"):
        con.execute(f"create schema if not exists analytics.{schema}")


def copy_layers(con: duckdb.DuckDBPyConnection) -> None:
    """Copy into the attached analytics file every staging and mart table or view the models did not write
    there themselves (``warehouse.build.in_analytics``): the person and worker registries, minus their
    person-identifying columns. It only reads those layers, so it may run on its own cursor while the
    quality suites read them (the suites are GX in Python threads, the copy is DuckDB's).
    ``finish_analytics`` then adds the meta tables."""
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        f"where database_name = current_database() and schema_name in {COPIED_SCHEMAS} "
        "union all select schema_name, view_name, comment from duckdb_views() "
        f"where database_name = current_database() and schema_name in {COPIED_SCHEMAS} order by all"
    ).fetchall()
    written = analytics_views(con)
    _copy(con, [(s, t, c) for s, t, c in tables if (s, t) not in written])


def finish_analytics(con: duckdb.DuckDBPyConnection) -> None:
    """After the quality step: the meta tables as they stand then (runs, load runs, quality results),
    the column comments, a checkpoint; detaches the file."""
    try:
        _copy(con, [("meta", t, None) for t in META_TABLES])
        missing = apply_comments(con, "analytics", ("raw", *COPIED_SCHEMAS, "meta"))
        if missing:
            raise ValueError(f"columns without a comment in warehouse/catalog.toml: {missing}")
        con.execute("checkpoint analytics")
    finally:
        con.execute("detach analytics")
