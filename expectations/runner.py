"""Run the Great Expectations suites on a warehouse version; store the results; render Data Docs (SPEC §3).

Suites are data: ``expectations/<table>.toml``, named like the table they check. Each ``[[expect]]``
is a GX expectation (its ``type`` and arguments) plus ``severity`` = critical | warning; a
``value_set_sql`` argument is a reference check: DuckDB works out, per row, whether the value is in
that query's result (a boolean column ``<column> ∈ reference``, null where the value is null), and
GX checks that column against ``[True]`` — so a million-value reference never travels into GX,
which copies and serialises its arguments on every run. Each ``[[reconcile]]``
compares two SQL counts; all of them are checked together by GX, as the ``reconciliation`` suite,
on a one-row frame. ``{run_id}`` in SQL is this run. An empty table passes its row-level
expectations vacuously (a source may be missing, SPEC §2); its reconciliations still run.

GX runs on its pandas path. Its SQL path fails on DuckDB as shipped (GX issues #10738, #11579); made to
run with two adapters, it cost 110 CPU s on the district warehouse against 69 here (README). Tables are
handed over in bounded chunks, only the columns a suite reads; with a ``key`` the chunks are split
by the key's hash, so a key's rows share a chunk and uniqueness holds across the whole table, and
without one streamed in order. A suite with a uniqueness expectation must have its key among that
expectation's columns, or ``whole = true`` (one chunk, for a table small by construction); ``load_suites``
refuses it otherwise. Within a chunk, expectations reading the same columns run together on a frame of
just those columns; a table of up to ``WHOLE_FRAME_ROWS`` rows in one chunk is one frame of all its columns,
validated by one checkpoint. In a chunked table a uniqueness expectation runs on a 64-bit fingerprint of
its columns, and a piece whose fingerprints repeat is checked again on its values (``_fingerprint_sql``).
Tables are validated ``settings.quality_threads`` at a time (``run_quality``).
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import threading
import tomllib
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

SUITES = Path(__file__).parent
SEVERITIES = ("critical", "warning")
COLUMN_ARGS = ("column", "column_A", "column_B", "column_list")
UNIQUE_TYPES = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
WHOLE_FRAME_ROWS = 200_000  # up to this many rows (and one chunk), a suite runs as one checkpoint on one frame of all its columns


def load_suites(folder: Path = SUITES) -> dict[str, dict]:
    """The suites in ``folder``, refused with the reason when one could pass a table that breaks it: a
    uniqueness expectation needs the suite's ``key`` among its columns (or ``whole = true`` for a table
    bounded by construction), because a table bigger than a chunk is otherwise split into pieces that
    each hold only part of the rows, and a value repeated across two pieces is never compared. ``mostly``
    is refused for the same reason: each piece would pass or fail on its own share of the rows."""
    suites = {}
    for path in sorted(Path(folder).glob("*.toml")):
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
        for e in spec.get("expect", []) + spec.get("reconcile", []):
            if e.get("severity") not in SEVERITIES:
                raise ValueError(f"{path}: every expectation needs severity critical|warning: {e}")
        for e in spec.get("expect", []):
            if "mostly" in e:  # each chunk would pass or fail on its own share, not the table's
                raise ValueError(f"{path}: mostly is not supported (suites run in chunks; a chunk's share is not the table's): {e}")
            cols = _columns_used({"expect": [e]})
            if e["type"] in UNIQUE_TYPES and not spec.get("whole") and spec.get("key") not in cols:
                raise ValueError(
                    f"{path}: {e['type']}({', '.join(cols)}) needs key = one of {cols}, so that a value's rows share "
                    "a chunk (or whole = true for a table small by construction)"
                )
        suites[path.stem] = spec
    return suites


def _context(root: Path):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("TQDM_DISABLE", "1")
    import great_expectations as gx
    import great_expectations.execution_engine.pandas_execution_engine as pandas_engine

    # GX fingerprints every frame it is given below this size (hash of every value, then MD5): a second
    # per million ticket rows, for a marker nothing here reads. Chunks and runs are named by run id instead.
    pandas_engine.HASH_THRESHOLD = 0
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # An in-memory context: a file context rewrote great_expectations.yml (every asset so far) on each
    # asset, suite and checkpoint added, and re-read its variables file on every lookup — 157 s of a
    # district run's quality step went to YAML. The suites are data here (expectations/*.toml), results
    # go to meta.quality_results, and Data Docs are still written to disk, for this run's results.
    ctx = gx.get_context(mode="ephemeral")
    # absolute: GX refuses a relative base directory when the site is built (the default warehouse,
    # warehouse_data, is relative to where the CLI runs)
    docs = (root / "gx" / "uncommitted" / "data_docs" / "local_site").resolve()
    docs.mkdir(parents=True, exist_ok=True)
    ctx.update_data_docs_site(  # the in-memory context's default site, moved to the warehouse folder
        "local_site",
        {
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
        },
    )
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    return gx, ctx


def _expectation(conf: dict, position: int, fingerprint: bool = False):
    """``conf`` as a GX expectation. Its meta keeps its position in the suite: results are matched to
    expectations by it, not by the order GX lists them in. With ``fingerprint``, a uniqueness expectation
    becomes GX's uniqueness check of its ``_fingerprint_column`` (see ``_fingerprint_sql``); its meta names
    the expectation it stands for."""
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    kwargs = {k: v for k, v in conf.items() if k not in ("type", "severity", "value_set_sql")}
    meta = {"severity": conf["severity"], "position": position}
    kind = conf["type"]
    if "value_set_sql" in conf:
        kwargs["column"], kwargs["value_set"] = _reference_column(conf["column"]), [True]
        meta["reference"] = conf["value_set_sql"]
    if fingerprint and _fingerprinted(conf):
        kind, kwargs = "expect_column_values_to_be_unique", {"column": _fingerprint_column(conf)}
        meta |= {"stands_for": conf["type"], "column": _column_of(conf)}
    return ExpectationConfiguration(type=kind, kwargs=kwargs, meta=meta).to_domain_obj()


def _fingerprinted(conf: dict) -> bool:
    return conf["type"] in UNIQUE_TYPES


def _fingerprint_column(conf: dict) -> str:
    return f"hash({', '.join(_columns_used({'expect': [conf]}))})"


def _fingerprint_sql(conf: dict) -> str:
    """A uniqueness expectation's columns as one 64-bit number per row (DuckDB's ``hash`` of them), null
    where GX would leave the row out (a null value; for a compound key, by its ``ignore_row_if``).

    Rows with different values and different fingerprints are different, so a column of distinct
    fingerprints passes its expectation exactly; two equal fingerprints may be a repeat or a collision
    (about 1 in 370,000 for 10M distinct keys), so a chunk that fails is checked again on its own values
    (``_suite_results``), and the result stored is always the check of the values. GX's uniqueness check of
    text keys is pandas factorising Arrow strings: district staging tickets' ticket_id 4.2 s, person_tags'
    three-column key 7.2 s of their suites' 16.9 and 12.7 s; on numbers it is a fraction of that."""
    cols = [f'"{c}"' for c in _columns_used({"expect": [conf]})]
    skip = "any_value_is_missing" if conf["type"] == "expect_column_values_to_be_unique" else conf.get("ignore_row_if", "all_values_are_missing")
    missing = {"any_value_is_missing": " or ", "all_values_are_missing": " and "}.get(skip)
    digest = f"hash({', '.join(cols)})"
    if missing is None:  # "never"
        return digest
    return f"case when {missing.join(f'{c} is null' for c in cols)} then null else {digest} end"


def _reference_column(column: str) -> str:
    return f"{column} ∈ reference"


def _select_list(spec: dict, fingerprint: bool = False) -> str:
    """The columns a suite reads, plus one boolean per reference check, computed by DuckDB; with
    ``fingerprint``, each uniqueness expectation's fingerprint instead of the columns only it reads."""
    confs = spec.get("expect", [])
    plain = [e for e in confs if not (fingerprint and _fingerprinted(e))]
    items = [f'"{c}"' for c in _columns_used({"expect": plain})]
    for e in confs:
        if "value_set_sql" in e:
            c = e["column"]
            items.append(
                f'case when "{c}" is null then null else "{c}" in ({e["value_set_sql"]}) end as "{_reference_column(c)}"'
            )
        elif fingerprint and _fingerprinted(e):
            items.append(f'{_fingerprint_sql(e)} as "{_fingerprint_column(e)}"')
    return ", ".join(dict.fromkeys(items)) or "1 as _"


def _column_groups(confs: list[dict], fingerprint: bool = False) -> dict[tuple[str, ...], list[int]]:
    """Expectations (by position) grouped by the columns they read. Each group gets a frame of its own
    columns only: GX's pandas engine filters the whole frame it is given for every expectation (rows
    with a null dropped, rows of a set kept), so one wide frame of a ticket table cost 5.6 s per
    million rows, nearly all of it copying columns the expectation never reads."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for j, conf in enumerate(confs):
        if "value_set_sql" in conf:
            cols = (_reference_column(conf["column"]),)
        elif fingerprint and _fingerprinted(conf):
            cols = (_fingerprint_column(conf),)
        else:
            cols = tuple(_columns_used({"expect": [conf]}))
        groups.setdefault(cols, []).append(j)
    return groups


def _columns_used(spec: dict) -> list[str]:
    cols: list[str] = []
    for e in spec.get("expect", []):
        for arg in COLUMN_ARGS:
            v = e.get(arg)
            for c in v if isinstance(v, list) else [v] if v else []:
                if c not in cols:
                    cols.append(c)
    return cols


def _chunks(con, table: str, select: str, key: str | None, chunk_rows: int, rows: int | None = None):
    """``table`` in about ``chunk_rows`` pieces: by the key's hash when there is a key (one scan of the
    table per piece, so a key's rows share a piece), else streamed in pieces of ``chunk_rows`` rows by
    one scan (a staging view has no row ids to split on). ``rows``: the table's row count, if counted."""
    n = con.execute(f"select count(*) from {table}").fetchall()[0][0] if rows is None else rows
    parts = max(1, -(-n // chunk_rows))
    if parts > 1 and not key:
        reader = con.sql(f"select {select} from {table}").to_arrow_reader(chunk_rows)
        buf, rows, i = [], 0, 0
        for batch in reader:  # DuckDB's batches may be smaller than asked: gather them into pieces
            buf.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                whole = pa.Table.from_batches(buf, schema=reader.schema)
                yield i, parts, _frame(whole.slice(0, chunk_rows))
                i += 1
                rest = whole.slice(chunk_rows)
                buf, rows = rest.to_batches(), rest.num_rows
        if rows:
            yield i, parts, _frame(pa.Table.from_batches(buf, schema=reader.schema))
        return
    for i in range(parts):
        yield i, parts, _frame(con.sql(f"select {select} from {table} {_piece(key, i, parts)}").to_arrow_table())


def _piece(key: str | None, i: int, parts: int) -> str:
    """The WHERE clause of a keyed table's piece ``i`` of ``parts`` (``_chunks``)."""
    return f'where hash("{key}") % {parts} = {i}' if parts > 1 else ""


def _frame(table: pa.Table) -> pd.DataFrame:
    """Text and boolean columns Arrow-backed, the rest numpy. A boolean with nulls (every reference check's
    column) became a numpy array of Python objects, which GX's set check compared one value at a time
    (the handler check of 10M staging tickets 1.54 → 0.48 s). DuckDB's own .df() made every string a Python object
    (5.8 s per 2M ticket rows, against 0.3 s), while GX compares values in Python, one call per value,
    unless a column is numpy int/float/datetime (the suites with between checks took 76.8 s on the district
    warehouse with Arrow-backed numbers, 41.8 s with numpy). Decimals become floats for the same reason."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
    arrow = (pa.string(), pa.large_string(), pa.string_view(), pa.bool_())
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if t in arrow else None)


def _checkpoint(gx, ctx, ds, name: str, expectations: list):
    suite = gx.ExpectationSuite(name=name)
    for e in expectations:
        suite.add_expectation(e)
    suite = ctx.suites.add_or_update(suite)
    try:
        asset = ds.get_asset(name)
    except LookupError:
        asset = ds.add_dataframe_asset(name)
    try:
        bd = asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        bd = asset.add_batch_definition_whole_dataframe("whole")
    vd = ctx.validation_definitions.add_or_update(gx.ValidationDefinition(name=name, data=bd, suite=suite))
    return ctx.checkpoints.add_or_update(gx.Checkpoint(name=name, validation_definitions=[vd], actions=[]))


class _Workers:
    """One GX context (and pandas data source) per validating thread: a data source's execution engine holds
    the batch it is validating, so threads must not share one. ``contexts`` lists them for the Data Docs."""

    def __init__(self, root: Path):
        self.root, self.local, self.lock, self.contexts = root, threading.local(), threading.Lock(), []

    def get(self):
        if not hasattr(self.local, "gx"):
            gx, ctx = _context(self.root)
            self.local.gx = gx, ctx, ctx.data_sources.add_or_update_pandas("warehouse")
            with self.lock:
                self.contexts.append(ctx)
        return self.local.gx


def _suite_results(
    con: duckdb.DuckDBPyConnection, name: str, spec: dict, rows: int, run_id: str, run_time, chunk_rows: int, workers: _Workers
) -> list[dict]:
    """The results of one suite's expectations (not its reconciliations) on the ``rows`` rows of its table, on
    this thread's GX context and a cursor of its own."""
    from great_expectations.core.run_identifier import RunIdentifier

    confs = spec["expect"]
    agg: dict[int, dict] = {}
    if rows == 0:
        for j, conf in enumerate(confs):
            agg[j] = _result(conf["type"], _column_of(conf), conf["severity"], observed="empty table")
        return [a | {"suite": name} for _, a in sorted(agg.items())]
    gx, ctx, ds = workers.get()
    checkpoints = []
    # a small table is validated as one frame by one checkpoint: each checkpoint costs GX 20–50 ms of Python
    # bookkeeping per run and per chunk, more than copying a small frame's columns for every expectation
    whole = rows <= min(WHOLE_FRAME_ROWS, chunk_rows)
    # uniqueness on a fingerprint of the key (``_fingerprint_sql``) where a failing piece can be read again:
    # a keyed table's pieces, or a whole one's; a small table's one frame has the values themselves
    fingerprint = not whole and bool(spec.get("key") or spec.get("whole"))
    groups = {(): list(range(len(confs)))} if whole else _column_groups(confs, fingerprint)

    def part_name(cols) -> str:
        return name if not cols else f"{name}.{re.sub(r'[^A-Za-z0-9_]+', '_', '+'.join(cols)).strip('_')}"

    for cols, idxs in groups.items():
        made = _checkpoint(gx, ctx, ds, part_name(cols), [_expectation(confs[j], j, fingerprint) for j in idxs])
        checkpoints.append((list(cols), made))
    exact: dict[int, object] = {}  # per fingerprinted expectation, a checkpoint of it on its own values
    cur = con.cursor()
    try:
        table = spec.get("table", f"staging.{name}")
        size = max(rows, 1) if spec.get("whole") else chunk_rows
        key = spec.get("key")
        for i, parts, df in _chunks(cur, table, _select_list(spec, fingerprint), key, size, rows):
            run = RunIdentifier(run_name=run_id + (f"-part{i + 1}of{parts}" if parts > 1 else ""), run_time=run_time)
            for cols, checkpoint in checkpoints:
                out = checkpoint.run(batch_parameters={"dataframe": df[cols] if cols else df}, run_id=run)
                for vr in out.run_results.values():
                    for x in vr.results:
                        j = x.expectation_config.meta["position"]
                        if not (x.expectation_config.meta.get("stands_for") and not x.success):
                            _merge(agg, j, x)
                            continue
                        # two equal fingerprints, a repeat or a collision: this piece's values decide
                        own = _columns_used({"expect": [confs[j]]})
                        if j not in exact:
                            exact[j] = _checkpoint(gx, ctx, ds, part_name(own) + ".values", [_expectation(confs[j], j)])
                        select = ", ".join(f'"{c}"' for c in own)
                        values = _frame(cur.sql(f"select {select} from {table} {_piece(key, i, parts)}").to_arrow_table())
                        for vr2 in exact[j].run(batch_parameters={"dataframe": values}, run_id=run).run_results.values():
                            for x2 in vr2.results:
                                _merge(agg, j, x2)
    finally:
        cur.close()
    return [a | {"suite": name} for _, a in sorted(agg.items())]


def run_quality(
    con: duckdb.DuckDBPyConnection, run_id: str, settings, progress=None, suites: dict[str, dict] | None = None
) -> list[dict]:
    """Validate every suite (by default ``expectations/*.toml``) against this version; write
    ``meta.quality_results``; return one dict per expectation, in the suites' order.

    The suites' expectations run on ``settings.quality_threads`` threads, the biggest table first, each
    thread on a GX context of its own: GX's pandas work is mostly NumPy and Arrow, which let go of Python's
    lock, so two threads validate two tables at once (the staging tickets' and person_tags' suites:
    13.7 s one after the other, 8.3 s side by side). The reconciliations' counts run on the pool beside the
    suites, the scans (DuckDB on both cores) last, once the registries' copy into the analytics file beside the suites is done."""
    gx, ctx = _context(Path(settings.warehouse))  # Data Docs go to <warehouse>/gx/uncommitted/data_docs/
    from great_expectations.core.run_identifier import RunIdentifier

    # GX reads a run name without a run time as a date (dateutil): "…-3851ad" became the year 1 AD at
    # UTC-38:51 and failed one run in about a thousand. The run time is given, so the name is only a name.
    run_time = datetime.datetime.now(datetime.UTC)
    suites = load_suites() if suites is None else suites
    task = progress.add_task("质量检查 (quality)", total=len(suites) + 1) if progress else None
    results: list[dict] = []
    recon_frame: dict[str, list] = {}
    recon_expectations, recon_suite_of = [], []

    def pair(name: str, check: dict, left_value, right_value) -> None:
        left, right = f"{name}: {check['name']} (left)", f"{name}: {check['name']} (right)"
        recon_frame[left], recon_frame[right] = [left_value], [right_value]
        meta = {"severity": check["severity"], "name": check["name"], "position": len(recon_expectations)}
        recon_expectations.append(gx.expectations.ExpectColumnPairValuesToBeEqual(column_A=left, column_B=right, meta=meta))
        recon_suite_of.append(name)

    def reconcile_counts() -> list[tuple]:
        cur = con.cursor()
        try:
            return [
                (name, r, *(cur.execute(r[side].format(run_id=run_id)).fetchall()[0][0] for side in ("left", "right")))
                for name, spec in suites.items()
                for r in spec.get("reconcile", [])
            ]
        finally:
            cur.close()

    tables = {n: s.get("table", f"staging.{n}") for n, s in suites.items() if s.get("expect")}
    rows = {n: con.execute(f"select count(*) from {t}").fetchall()[0][0] for n, t in tables.items()}
    workers = _Workers(Path(settings.warehouse))
    pool = ThreadPoolExecutor(max_workers=max(1, settings.quality_threads), thread_name_prefix="quality")
    try:
        # the reconciliations' counts (DuckDB; district: 2.0 s, 1.2 of it the distinct loaded ticket ids) on a
        # thread of the pool, beside the first suite's GX work rather than before every suite
        counts = pool.submit(reconcile_counts)
        futures = [
            pool.submit(
                _suite_results, con, n, suites[n], rows[n], run_id, run_time, settings.quality_chunk_rows, workers
            )
            for n in sorted(tables, key=lambda n: -rows[n])
        ]
        if progress:
            for f in futures:
                f.add_done_callback(lambda _: progress.advance(task))
        for f in futures:
            results.extend(f.result())
        for name, r, left, right in counts.result():
            pair(name, r, left, right)
    finally:  # an error leaves no suite running on the connection
        pool.shutdown(wait=True, cancel_futures=True)
    scans = [(name, sc) for name, spec in suites.items() for sc in spec.get("scan", [])]
    for schema in dict.fromkeys(sc["schema"] for _, sc in scans):  # every pattern of a schema in one pass
        mine = [(name, sc) for name, sc in scans if sc["schema"] == schema]
        for (name, sc), count in zip(mine, _scan_counts(con, schema, [sc["pattern"] for _, sc in mine]), strict=True):
            pair(name, sc, count, 0)
    if progress:
        progress.advance(task, sum(1 for name in suites if name not in tables))
    if recon_expectations:
        checkpoint = _checkpoint(gx, ctx, ctx.data_sources.add_or_update_pandas("warehouse"), "reconciliation", recon_expectations)
        out = checkpoint.run(
            batch_parameters={"dataframe": pd.DataFrame(recon_frame)}, run_id=RunIdentifier(run_name=run_id, run_time=run_time)
        )
        agg = {}
        for vr in out.run_results.values():
            for x in vr.results:
                _merge(agg, x.expectation_config.meta["position"], x)
        for j, a in sorted(agg.items()):
            a["suite"] = recon_suite_of[j]
            a["expectation"] = "reconcile"
            results.append(a)
    if progress:
        progress.advance(task)
    rank = {name: k for k, name in enumerate(suites)}
    results.sort(key=lambda a: (a["expectation"] == "reconcile", rank[a["suite"]]))  # stable within a suite
    _store(con, run_id, results)
    if settings.data_docs:
        for other in workers.contexts:  # every thread's suites and results, in one site
            for suite in other.suites.all():
                ctx.suites.add_or_update(suite)
            store = other.validation_results_store
            for key in store.list_keys():
                ctx.validation_results_store.set(key, store.get(key))
        ctx.build_data_docs()
    return results


def _length_bounds(pattern: str) -> tuple[int, int | None]:
    """How many characters a full match of ``pattern`` can have, at least and at most (None: no limit), as
    Python's regular-expression parser works it out; (0, None) — no length test — when it cannot parse the
    pattern, or warns about it, or the pattern holds what the two read differently: DuckDB's RE2 reads
    ``[[:digit:]]`` as one character where Python reads a set and a literal ``]`` (and warns), and ``{,3}``
    as text where Python reads a repeat."""
    if re.search(r"\[[:.=]|\{,", pattern):  # POSIX classes; {,n}, a repeat to Python 3.11 but text to RE2
        return 0, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            low, high = re._parser.parse(pattern).getwidth()  # noqa: SLF001 — the parser's own width of a pattern
    except (re.error, AttributeError, ValueError, Warning):
        return 0, None
    return low, (None if high >= re._parser.MAXREPEAT else high)  # noqa: SLF001


def _scan_counts(con: duckdb.DuckDBPyConnection, schema: str, patterns: list[str]) -> list[int]:
    """Per pattern, how many text values in any table of ``schema`` fully match it (e.g. an ID number).

    One pass per table for all patterns and text columns. A value is tested against a pattern only if its
    length allows a match (``_length_bounds``: its bytes first, which DuckDB stores with the string, then its
    characters), and only rows with such a value are counted, as a WHERE that DuckDB filters on before the
    counts: the ID and phone patterns over the district marts took 6.3 s and 12.2 CPU s as two passes that
    ran every regular expression on every value, and take 0.4 s and 0.8 CPU s this way (the same counts)."""
    cols = con.execute(
        "select table_name, column_name from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and data_type = 'VARCHAR' order by all",
        [schema],
    ).fetchall()
    by_table: dict[str, list[str]] = {}
    for table, column in cols:
        by_table.setdefault(table, []).append(column)

    bounds = [_length_bounds(p) for p in patterns]

    def match(column: str, k: int) -> str:
        low, high = bounds[k]
        c = f'"{column}"'
        tests = [f"strlen({c}) >= {low}", f"length({c}) >= {low}"] if low else []
        if high is not None:  # a character is 1–4 bytes in UTF-8
            tests = [f"strlen({c}) between {low} and {4 * high}", f"length({c}) between {low} and {high}"]
        return " and ".join([*tests, f"regexp_full_match({c}, $p{k})"])

    totals = [0] * len(patterns)
    params = {f"p{k}": p for k, p in enumerate(patterns)}
    for table, columns in by_table.items():
        tests = [[match(c, k) for c in columns] for k in range(len(patterns))]
        counts = ", ".join(" + ".join(f"count(*) filter (where {t})" for t in per) for per in tests)
        where = " or ".join(f"({t})" for per in tests for t in per)
        row = con.execute(f'select {counts} from {schema}."{table}" where {where}', params).fetchall()[0]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
    return totals


def _column_of(conf: dict) -> str | None:
    cols = conf.get("column_list") or [conf[k] for k in ("column_A", "column_B") if k in conf]
    return conf.get("column") or ",".join(map(str, cols)) or None


def _result(expectation: str, column, severity: str, observed=None) -> dict:
    return {
        "expectation": expectation,
        "column": column,
        "severity": severity,
        "success": True,
        "unexpected_count": 0,
        "element_count": 0,
        "observed": observed,
        "details": [],
    }


def _merge(agg: dict[int, dict], j: int, x) -> None:
    conf = x.expectation_config
    res = x.result or {}
    column = _column_of(conf.kwargs)
    meta = conf.meta or {}
    if "name" in meta:
        column = meta["name"]
    kind = meta.get("stands_for", conf.type)  # a fingerprint's check is stored as the expectation it stands for
    column = meta.get("column", column)
    a = agg.setdefault(j, _result(kind, column, meta.get("severity", "warning")))
    a["success"] = a["success"] and bool(x.success)
    a["unexpected_count"] += int(res.get("unexpected_count") or 0)
    a["element_count"] += int(res.get("element_count") or 0)
    if res.get("observed_value") is not None:
        a["observed"] = str(res["observed_value"])
    if not x.success and res.get("partial_unexpected_list"):
        a["details"] = (a["details"] + [str(v) for v in res["partial_unexpected_list"][:5]])[:10]
    if x.exception_info and x.exception_info.get("raised_exception"):
        a["success"] = False
        a["details"].append(str(x.exception_info.get("exception_message"))[:300])


def _store(con: duckdb.DuckDBPyConnection, run_id: str, results: list[dict]) -> None:
    con.execute("delete from meta.quality_results where run_id = ?", [run_id])
    con.executemany(
        "insert into meta.quality_results values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                run_id,
                r["suite"],
                r["expectation"],
                r["column"],
                r["severity"],
                r["success"],
                r["observed"],
                r["unexpected_count"],
                r["element_count"],
                json.dumps(r["details"], ensure_ascii=False, default=str),
            ]
            for r in results
        ],
    )
