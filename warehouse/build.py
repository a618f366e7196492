"""Create the raw and meta tables, and build the SQL models layer by layer (SPEC §5).

Models are SQL files under ``warehouse/models/<layer>/``; a file's stem is its table's name
(``staging.stg_complaints__tickets``) and the name of the quality suite that checks it. The
first ``--`` comment line of a model states its grain and becomes the table's comment; a staging or
intermediate model with a line ``-- materialized: view`` is built as a view; a line ``-- stored plain: a, b``
names text columns written without compression (``plain_columns``). Within a
layer, a model that names another (``intermediate.int_x``) is built after it. ``/* metrics:<set> */``
in a model is replaced by the column list of that metric set from ``warehouse/metrics.py``, so each
KPI is written once; ``/* haversine_km(lat1, lon1, lat2, lon2) */`` becomes the great-circle distance.
Models read the run's parameters (as-of date, SLA hours) from ``meta.params``.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import duckdb

from pipelines.schema import ENTITIES, PII_COLUMNS, Entity

MODELS = Path(__file__).parent / "models"
LAYERS = ("staging", "intermediate", "mart")

DUCK_TYPES = {
    "ts": "TIMESTAMP",
    "float": "DOUBLE",
    "lon": "DOUBLE",
    "lat": "DOUBLE",
    "int": "BIGINT",
    "tags": "VARCHAR[]",
}

# Text columns written without DuckDB's dictionary-and-FSST compression (``USING COMPRESSION uncompressed``):
# identifiers with a value per row, or tens of thousands per row group, in the big tables. There that compression
# costs about three times the CPU of writing the text as it is, for about half the bytes (district, per column
# written: sensor events' device_id 7.2 → 2.3 CPU s, 205 → 410 MiB; a ticket_id copy 1.8 → 0.6 CPU s, 48 →
# 130 MiB). Raw tables here, models by a ``-- stored plain:`` line in their SQL. Not a key the table is sorted
# by: person_tags' person_key compresses 10× for the same CPU.
RAW_PLAIN: dict[str, tuple[str, ...]] = {
    "complaints__tickets": ("ticket_id", "reporter_id_number", "reporter_person_key"),
    "sensors__events": ("device_id",),
    "volunteers__records": ("record_id", "id_number", "person_key"),
}

META_DDL = """
create schema if not exists raw;
create schema if not exists staging;
create schema if not exists meta;
create table if not exists meta.runs (
    run_id varchar primary key, as_of date, started_at timestamp, finished_at timestamp,
    status varchar, version varchar, message varchar
);
create table if not exists meta.load_runs (
    run_id varchar, file varchar, file_hash varchar, source varchar, entity varchar, status varchar,
    rows_in bigint, loaded bigint, quarantined bigint, warnings varchar,
    started_at timestamp, finished_at timestamp
);
create table if not exists meta.quarantine (
    run_id varchar, file varchar, file_hash varchar, source varchar, entity varchar,
    row_number bigint, reason varchar, raw_row varchar
);
create table if not exists meta.quality_results (
    run_id varchar, suite varchar, expectation varchar, column_name varchar, severity varchar,
    success boolean, observed varchar, unexpected_count bigint, element_count bigint, details varchar
);
"""


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    cols = []
    for c in entity.columns:
        t = DUCK_TYPES.get(c.kind, "VARCHAR")
        if entity.name == "persons" and c.name == "birth_date":
            t = "DATE"
        cols.append((c.name, t))
        if c.kind == "id":
            cols.append(
                ("reporter_person_key" if c.name == "reporter_id_number" else "person_key", "VARCHAR")
            )
    return cols + [("_file_hash", "VARCHAR"), ("_row", "BIGINT"), ("_run_id", "VARCHAR")]


def raw_in_analytics(entity: Entity) -> bool:
    """Whether an entity's raw rows are kept in the analytics file: its staging model passes raw's rows
    through as a view (``-- materialized: view``) and it has no person-identifying column. The analytics
    file would otherwise get those rows as a copy: the 32.9M district sensor events cost 17 CPU s to
    write a second time."""
    return materialized(MODELS / "staging" / f"stg_{entity.table}.sql") == "view" and not PII_COLUMNS.get(entity.table)


def column_ddl(columns: list[tuple[str, str]], plain: tuple[str, ...], table: str) -> str:
    """A table's column definitions, the ``plain`` ones (text) without compression. A plain column the table
    does not have as text is an error, so a misspelt name cannot quietly leave it compressed."""
    types = dict(columns)
    wrong = [c for c in plain if types.get(c) != "VARCHAR"]
    if wrong:
        raise ValueError(f"{table}: stored plain needs text columns of the table: {', '.join(wrong)}")
    return ", ".join(f'"{n}" {t}' + (" using compression uncompressed" if n in plain else "") for n, t in columns)


def plain_columns(path: Path) -> tuple[str, ...]:
    """The columns a model's ``-- stored plain: a, b`` line names (see ``RAW_PLAIN``)."""
    m = re.search(r"^-- stored plain:(.*)$", path.read_text(encoding="utf-8"), re.M)
    return tuple(c.strip() for c in m.group(1).split(",") if c.strip()) if m else ()


def ensure_tables(con: duckdb.DuckDBPyConnection, analytics: str | None = None) -> None:
    """The raw and meta tables. With ``analytics`` (the attached analytics file's name), an entity
    ``raw_in_analytics`` has its table there and a view of it here; rows a full file of the older layout
    holds in its own table are moved there first."""
    con.execute(META_DDL)
    for e in ENTITIES:
        cols = column_ddl(raw_columns(e), RAW_PLAIN.get(e.table, ()), f"raw.{e.table}")
        if not (analytics and raw_in_analytics(e)):
            con.execute(f"create table if not exists raw.{e.table} ({cols})")
            continue
        con.execute(f"create schema if not exists {analytics}.raw")
        con.execute(f"create table if not exists {analytics}.raw.{e.table} ({cols})")
        if _kind(con, "raw", e.table) == "table":
            con.execute(f"insert into {analytics}.raw.{e.table} select * from raw.{e.table}")
            con.execute(f"drop table raw.{e.table}")
        con.execute(f"create or replace view raw.{e.table} as select * from {analytics}.raw.{e.table}")


def raw_table(con: duckdb.DuckDBPyConnection, entity: Entity) -> str:
    """Where an entity's loaded rows are inserted: ``raw.<table>``, or the analytics file's table that a
    view of that name reads (``ensure_tables``)."""
    return f"analytics.raw.{entity.table}" if _kind(con, "raw", entity.table) == "view" else f"raw.{entity.table}"


def _kind(con: duckdb.DuckDBPyConnection, schema: str, name: str, database: str | None = None) -> str | None:
    """``table``, ``view`` or None: what ``schema.name`` is in ``database`` (None: the connection's own file)."""
    row = con.execute(
        "select 'table' from duckdb_tables() where database_name = coalesce($d, current_database()) "
        "and schema_name = $s and table_name = $n union all select 'view' from duckdb_views() "
        "where database_name = coalesce($d, current_database()) and schema_name = $s and view_name = $n",
        {"d": database, "s": schema, "n": name},
    ).fetchall()
    return row[0][0] if row else None


def analytics_views(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """The staging and mart views of the full file that read the same-named relation of the analytics file
    (``build_models``): their rows are there already."""
    return {
        (s, v)
        for s, v, sql in con.execute(
            "select schema_name, view_name, sql from duckdb_views() where database_name = current_database() "
            "and schema_name in ('staging', 'mart')"
        ).fetchall()
        if sql.strip().rstrip(";").endswith(f"FROM analytics.{s}.{v}")
    }


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def model_files(layer: str) -> list[Path]:
    return sorted((MODELS / layer).glob("*.sql"))


def grain(path: Path) -> str:
    first = path.read_text(encoding="utf-8").lstrip().splitlines()[0]
    return first.removeprefix("--").strip() if first.startswith("--") else ""


def write_params(con: duckdb.DuckDBPyConnection, as_of, settings) -> None:
    """The one-row ``meta.params`` the models read: this run's as-of date and the SLA settings."""
    con.execute(
        """create or replace table meta.params as select
            cast(? as date) as as_of,
            cast(? as double) as sla_response_hours_normal, cast(? as double) as sla_response_hours_urgent,
            cast(? as double) as sla_resolution_hours_normal, cast(? as double) as sla_resolution_hours_urgent,
            cast(? as integer) as repeat_window_days, cast(? as integer) as annoyance_window_days,
            cast(? as double) as patrol_gap_minutes, cast(? as double) as patrol_max_speed_kmh""",
        [
            as_of,
            settings.sla_response_hours_normal,
            settings.sla_response_hours_urgent,
            settings.sla_resolution_hours_normal,
            settings.sla_resolution_hours_urgent,
            settings.repeat_window_days,
            settings.annoyance_window_days,
            settings.patrol_gap_minutes,
            settings.patrol_max_speed_kmh,
        ],
    )
    from warehouse.metrics import APPRAISAL_INDICATORS

    con.execute(
        "create or replace table meta.appraisal_weights (indicator varchar primary key, label varchar, weight double)"
    )
    con.executemany(
        "insert into meta.appraisal_weights values (?, ?, ?)",
        [(i.key, i.label, float(settings.appraisal_weights.get(i.key, 0.0))) for i in APPRAISAL_INDICATORS],
    )
    con.execute("create or replace table meta.category_weights (category varchar primary key, weight double)")
    if settings.category_weights:
        con.executemany(
            "insert into meta.category_weights values (?, ?)", list(settings.category_weights.items())
        )


def haversine_km(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """SQL for the great-circle distance in km between two points given in degrees (mean Earth radius)."""
    return (
        f"(2 * 6371.0088 * asin(sqrt(power(sin(radians({lat2} - {lat1}) / 2), 2)"
        f" + cos(radians({lat1})) * cos(radians({lat2})) * power(sin(radians({lon2} - {lon1}) / 2), 2))))"
    )


def render(path: Path) -> str:
    from warehouse.metrics import PLACEHOLDERS, metric_columns

    sql = path.read_text(encoding="utf-8")
    sql = re.sub(r"/\* metrics:(\w+) \*/", lambda m: metric_columns(m.group(1)), sql)
    sql = re.sub(r"/\* haversine_km\(([\w.]+), ([\w.]+), ([\w.]+), ([\w.]+)\) \*/", lambda m: haversine_km(*m.groups()), sql)
    return re.sub(r"/\* (appraisal:\w+) \*/", lambda m: PLACEHOLDERS[m.group(1)](), sql)


def ordered(layer: str) -> list[Path]:
    """The layer's models, each after the models of the same layer it names."""
    files = {p.stem: p for p in model_files(layer)}
    deps = {
        n: {
            d
            for d in re.findall(rf"\b{layer}\.(\w+)", p.read_text(encoding="utf-8"))
            if d in files and d != n
        }
        for n, p in files.items()
    }
    out: list[str] = []
    while deps:
        ready = sorted(n for n, d in deps.items() if d <= set(out))
        if not ready:
            raise ValueError(f"models in {layer} refer to each other in a cycle: {sorted(deps)}")
        out += ready
        for n in ready:
            del deps[n]
    return [files[n] for n in out]


def materialized(path: Path) -> str:
    """``view`` for a model marked ``-- materialized: view`` (a staging or intermediate step cheap to
    recompute that would otherwise be written out in full: the 32.9M sensor events copied from raw as
    they are), else ``table``. Marts stay tables: pages read them, some in their stored order. A staging
    view's raw rows are loaded into the analytics file, with the view there too (``raw_in_analytics``)."""
    text = path.read_text(encoding="utf-8")
    if not re.search(r"^-- materialized: view\s*$", text, re.M):
        return "table"
    if path.parent.name not in ("staging", "intermediate"):
        raise ValueError(f"{path}: only staging and intermediate models may be views")
    return "view"


def _drop_other_kind(con: duckdb.DuckDBPyConnection, database: str | None, schema: str, name: str, kind: str) -> None:
    """Drop ``schema.name`` in ``database`` (None: the connection's own file) if it is not a ``kind``."""
    found = _kind(con, schema, name, database)
    if found not in (None, kind):
        con.execute(f"drop {found} {database + '.' if database else ''}{schema}.{name}")


def in_analytics(con: duckdb.DuckDBPyConnection, layer: str, name: str, kind: str, sql: str) -> bool:
    """Whether a model is built straight into the attached analytics file (SPEC §5, §8): a staging or mart
    table none of whose columns identifies a person (``PII_COLUMNS``: a staging model of persons or workers
    stays in the full file, and ``analytics.copy_layers`` copies it without those columns), or a staging
    view of raw rows kept there (``raw_in_analytics``). Columns are found by binding the query, which reads
    no rows."""
    if layer == "staging" and kind == "view":  # raw's rows passed through: a view there over its own raw table
        entity = next((e for e in ENTITIES if e.table == name.removeprefix("stg_")), None)
        return entity is not None and raw_in_analytics(entity)
    if layer not in ("staging", "mart") or kind != "table":
        return False
    columns = {r[0] for r in con.execute(f"describe select * from (\n{sql}\n)").fetchall()}
    return not columns & set(PII_COLUMNS.get(name.removeprefix("stg_"), ()))


def _create(con: duckdb.DuckDBPyConnection, kind: str, name: str, sql: str, path: Path) -> None:
    """``create or replace <kind> name as sql``; a table with ``plain_columns`` is declared first (the query's
    columns, found by binding it) and filled by an insert, in the query's order, as fast as the one statement."""
    plain = plain_columns(path)
    if plain and kind != "table":
        raise ValueError(f"{path}: only a table's columns can be stored plain")
    if not plain:
        con.execute(f"create or replace {kind} {name} as {sql}")
        return
    columns = [(r[0], r[1]) for r in con.execute(f"describe select * from (\n{sql}\n)").fetchall()]
    con.execute(f"create or replace table {name} ({column_ddl(columns, plain, name)})")
    con.execute(f"insert into {name} {sql}")


def build_models(
    con: duckdb.DuckDBPyConnection, layers: tuple[str, ...] = LAYERS, analytics: str | None = None
) -> dict[str, float]:
    """(Re)build every model of the given layers as a table (or a view, if marked); returns the qualified names built, in
    build order, with the wall seconds each took (the run report keeps them: where the models' time goes).

    With ``analytics`` (the name the analytics file is attached under), a model ``in_analytics`` is written
    there, and the full file gets a view of the same name over it: the rows are written once, where the
    analysts' SQL reads them, instead of once here and again by a copy (district: the copy took 66 CPU s).
    Whoever opens the full file attaches the analytics file beside it (``warehouse.publish.open_pair``)."""
    built: dict[str, float] = {}
    for layer in layers:
        con.execute(f"create schema if not exists {layer}")
        for path in ordered(layer):
            name = f"{layer}.{path.stem}"
            kind = materialized(path)
            t0 = time.perf_counter()
            sql = render(path)
            target = f"{analytics}.{name}" if analytics and in_analytics(con, layer, path.stem, kind, sql) else None
            here = "view" if target else kind
            # the previous version's copy may hold a name as the other kind (in the full file, or, from before
            # the models wrote it, a copied staging view's rows as a table in the analytics file): replace
            # cannot change a kind
            _drop_other_kind(con, None, layer, path.stem, here)
            if target:  # the analytics file gets the schemas it holds tables of (no empty intermediate)
                con.execute(f"create schema if not exists {analytics}.{layer}")
                _drop_other_kind(con, analytics, layer, path.stem, kind)
                # a view's SQL names raw.<table>: read in the analytics file alone, that is its own raw table
                _create(con, kind, target, sql, path)
                con.execute(f"comment on {kind} {target} is {sql_string(grain(path))}")
                con.execute(f"create or replace view {name} as select * from {target}")
            else:
                _create(con, kind, name, sql, path)
            con.execute(f"comment on {here} {name} is {sql_string(grain(path))}")
            built[name] = round(time.perf_counter() - t0, 2)
    from warehouse.catalog import apply_comments

    apply_comments(con)
    return built
