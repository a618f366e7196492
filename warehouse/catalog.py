"""Chinese comments for every table column the analytics file holds (the SQL page's schema browser).

Sources, in order: ``catalog.toml``'s per-table entry, its shared ``[columns]`` entry, the metric
and appraisal definitions (``warehouse/metrics.py``) and, for staging tables, the inbox contract.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.schema import ENTITIES
from warehouse.metrics import APPRAISAL_INDICATORS, BY_KEY, TICKET_COUNTS


@lru_cache
def _catalog() -> dict:
    return tomllib.loads((Path(__file__).parent / "catalog.toml").read_text(encoding="utf-8"))


@lru_cache
def _contract() -> dict[str, dict[str, str]]:
    # a raw table in the analytics file (warehouse.build.raw_in_analytics) has its staging view's columns
    return {
        name: {c.name: c.zh for c in e.columns} for e in ENTITIES for name in (f"staging.stg_{e.table}", f"raw.{e.table}")
    }


def column_comment(table: str, column: str) -> str | None:
    """``table`` is ``schema.name``."""
    cat = _catalog()
    if column in cat.get(table, {}):
        return cat[table][column]
    if table == "mart.appraisal_quarter":
        for i in APPRAISAL_INDICATORS:
            if column == i.key:
                return f"{i.label}：{i.description}"
            if column == f"{i.key}_score":
                return f"{i.label}得分（0–100，季度内 min–max{'，反向' if i.inverted else ''}；缺失为 0）"
    metrics = {**BY_KEY, **{m.key: m for m in TICKET_COUNTS}}
    if column in metrics and table.startswith("mart."):
        m = metrics[column]
        return f"{m.label}：{m.description}（{m.formula}）"
    if column in _contract().get(table, {}):
        return _contract()[table][column]
    return cat["columns"].get(column)


def table_comment(table: str) -> str | None:
    return _catalog().get("tables", {}).get(table)


def apply_comments(
    con: duckdb.DuckDBPyConnection, database: str | None = None, schemas: tuple[str, ...] = ("staging", "mart", "meta")
) -> list[str]:
    """Comment every column that has a catalog entry; return ``table.column`` names left without one."""
    db = database or con.execute("select current_database()").fetchall()[0][0]
    cols = con.execute(
        "select schema_name, table_name, column_name from duckdb_columns() "
        "where database_name = ? and list_contains(?, schema_name) order by all",
        [db, list(schemas)],
    ).fetchall()
    missing = []
    for schema, table in sorted({(s, t) for s, t, _ in cols}):
        text = table_comment(f"{schema}.{table}")
        if text is not None:
            quoted = text.replace("'", "''")
            con.execute(f"comment on table {db}.{schema}.{table} is '{quoted}'")
    for schema, table, column in cols:
        text = column_comment(f"{schema}.{table}", column)
        if text is None:
            missing.append(f"{schema}.{table}.{column}")
            continue
        quoted = text.replace("'", "''")
        con.execute(f'comment on column {db}.{schema}.{table}."{column}" is \'{quoted}\'')
    return missing
