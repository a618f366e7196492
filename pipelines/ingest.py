"""One ingest run: inbox files → a new warehouse version → quality gate → atomic publish (SPEC §2, §3, §6).

Every input row ends in exactly one place — ``raw.<table>`` (loaded) or ``meta.quarantine`` — and
``meta.load_runs`` records rows_in = loaded + quarantined per file and run.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
from rich.progress import Progress

from pipelines.geo import Area
from pipelines.normalize import PersonKeys
from pipelines.readers import FileRejected, Mapping, canonicalise, is_readable, read_any
from pipelines.schema import ENTITIES, SOURCES, Entity, entity_for
from pipelines.settings import Settings
from pipelines.validate import Refs, mark_duplicates, transform
from warehouse import publish as pub
from warehouse.analytics import attach as attach_analytics
from warehouse.analytics import copy_layers, finish_analytics
from warehouse.appraisal import load_frozen
from warehouse.build import build_models, ensure_tables, raw_columns, raw_table, write_params

LOAD_MEMORY_LIMIT = "1GB"  # DuckDB's share while files are read (it only appends then)
# and while the suites read the version: what the models' buffer pool kept cached is let go before the GX workers
# take their chunks (it is in the page cache still)
QUALITY_MEMORY_LIMIT = "2GB"
TRANSFORM_SLICE_ROWS = 1_000_000  # rows typed and checked at a time; bounds the ingest's memory on big files


class InboxError(Exception):
    """The inbox cannot be read, or a file in it is refused: nothing is published (exit 2)."""


class QualityGateFailed(Exception):
    """A critical expectation failed: nothing is published (exit 1)."""


@dataclass
class FileResult:
    file: str
    source: str
    entity: str
    file_hash: str
    status: str  # loaded | skipped | rejected
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    run_id: str
    as_of: date
    status: str  # published | quality_failed | rejected
    version: str | None
    files: list[FileResult]
    missing_sources: list[str]
    unrecognised: list[str]
    quality: list[dict]
    errors: list[str]
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per step of the run
    stage_peak_rss_mib: dict[str, int] = field(default_factory=dict)  # the process's peak RSS at the end of each step
    stage_cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds of each step, every thread (÷ wall = cores busy)
    model_seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per model built

    @property
    def critical_failures(self) -> list[dict]:
        return [q for q in self.quality if q["severity"] == "critical" and not q["success"]]


def _cpu_seconds() -> float:
    """This process's CPU seconds and its GX workers' (``expectations.runner.gx_pool``)."""
    from expectations.runner import worker_cpu_seconds

    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime + worker_cpu_seconds()


def _fault(stage: str) -> None:
    """Fault injection for the kill tests: COCKPIT_FAULT_AT=<stage> kills this process with SIGKILL there."""
    if os.environ.get("COCKPIT_FAULT_AT") == stage:
        os.kill(os.getpid(), signal.SIGKILL)


def discover(inbox: Path) -> tuple[list[tuple[Entity, Path]], list[str], list[str]]:
    """Files per entity in dependency order, the sources that are missing or empty, and unrecognised files."""
    if not inbox.is_dir():
        raise InboxError(f"收件箱不存在或不是目录 (inbox is not a readable folder): {inbox}")
    try:
        os.listdir(inbox)
    except OSError as e:
        raise InboxError(f"收件箱无法读取 (cannot read inbox) {inbox}: {e}") from e
    found: dict[str, list[Path]] = {}
    missing, unrecognised = [], []
    for source in SOURCES:
        folder = inbox / source
        files = sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []
        data = [p for p in files if is_readable(p)]
        if not data:
            missing.append(source)
        for p in files:
            if p.name == "mapping.toml" or p.name.startswith("."):
                continue
            e = entity_for(source, p.name) if is_readable(p) else None
            if e is None:
                unrecognised.append(str(p.relative_to(inbox)))
            else:
                found.setdefault(e.table, []).append(p)
    ordered = [(e, p) for e in ENTITIES for p in found.get(e.table, [])]
    return ordered, missing, unrecognised


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_refs(con: duckdb.DuckDBPyConnection) -> Refs:
    """Reference sets from everything loaded so far (newest version of each key)."""
    grids = con.execute(
        """select grid_code, any_value(boundary order by _run_id desc, _file_hash desc, _row desc),
                  any_value(lon order by _run_id desc, _file_hash desc, _row desc),
                  any_value(lat order by _run_id desc, _file_hash desc, _row desc)
           from raw.registry__grids group by grid_code order by grid_code"""
    ).fetchall()
    bgrid = con.execute(
        """select building_code, any_value(grid_code order by _run_id desc, _file_hash desc, _row desc)
           from raw.registry__buildings group by building_code"""
    ).fetchall()

    def keys(sql: str) -> set[str]:
        return {r[0] for r in con.execute(sql).fetchall()}

    area = Area([g[0] for g in grids], [g[1] for g in grids], [g[2] for g in grids], [g[3] for g in grids])
    return Refs(
        grids={g[0] for g in grids},
        building_grid=dict(bgrid),
        activities=keys("select distinct activity_id from raw.volunteers__activities"),
        devices=keys("select distinct device_id from raw.sensors__devices"),
        workers=keys("select distinct worker_id from raw.registry__workers"),
        area=area,
    )


def _raw_json(original: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """The quarantined records as read (the file's own headers), one JSON object each."""
    sub = original[original.get_column("__row").is_in(rows.implode()).arg_true()]  # gathers those rows only
    data_cols = [c for c in sub.columns if not c.startswith("__")]
    js = pl.struct(data_cols).struct.json_encode() if data_cols else pl.lit(None, pl.String)
    return sub.select(
        pl.col("__row").alias("row_number"),
        pl.when(pl.col("__raw").is_not_null()).then(pl.col("__raw")).otherwise(js).alias("raw_row"),
    )


def load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    entity: Entity,
    refs: Refs,
    mapping: Mapping,
    *,
    inbox: Path,
    run_id: str,
    digest: str,
    settings: Settings,
    keys: PersonKeys,
) -> FileResult:
    rel = str(path.relative_to(inbox))
    original = read_any(path, entity)
    result = FileResult(rel, entity.source, entity.name, digest, "loaded")
    cols = [n for n, _ in raw_columns(entity) if not n.startswith("_")]
    keep = list(dict.fromkeys([*cols, *entity.key, *([entity.version_col] if entity.version_col else []), "__row", "__reason"]))
    # a big file is canonicalised, typed and checked in slices (the checks' helper columns of 16M
    # rows cost GiBs); the same-key-twice check then runs once over the whole file, as for a small one
    parts, ignored = [], []
    for start in range(0, max(original.height, 1), TRANSFORM_SLICE_ROWS):
        canon, ignored = canonicalise(original.slice(start, TRANSFORM_SLICE_ROWS), entity, mapping, path)
        typed_part = transform(
            canon,
            entity,
            refs,
            mapping,
            tz=settings.timezone,
            keys=keys,
            margin_km=settings.area_margin_km,
            dedupe=False,
        )
        parts.append(typed_part.select(keep))
        del canon, typed_part
    if ignored:
        result.warnings.append("忽略未知列 (ignored unknown columns): " + ", ".join(ignored))
    typed = mark_duplicates(pl.concat(parts, rechunk=False) if len(parts) > 1 else parts[0], entity)
    del parts
    # the two columns as they are: a select or filter on the frame of slices first joined every column into
    # one piece (+1.3 GiB for 16M events)
    bad = pl.DataFrame([typed.get_column("__row"), typed.get_column("__reason")]).filter(pl.col("__reason").is_not_null())
    if bad.height:  # the quarantined records as read, before the file's text is let go
        q = bad.join(
            _raw_json(original, bad["__row"]), left_on="__row", right_on="row_number", how="left"
        ).select(
            pl.lit(run_id).alias("run_id"),
            pl.lit(rel).alias("file"),
            pl.lit(digest).alias("file_hash"),
            pl.lit(entity.source).alias("source"),
            pl.lit(entity.name).alias("entity"),
            pl.col("__row").alias("row_number"),
            pl.col("__reason").alias("reason"),
            pl.col("raw_row"),
        )
        con.register("quarantined_rows", q.to_arrow(compat_level=pl.CompatLevel.newest()))
        con.execute("insert into meta.quarantine by name select * from quarantined_rows")
        con.unregister("quarantined_rows")
        del q
    # the file as read (2.5 GB for 16M event lines) is not held while the rows are written, and the loaded
    # rows are picked slice by slice rather than copied whole: a 708 MB event file peaked at 5.2 GiB, now ≈ 3
    del original
    rows_in = typed.height
    target = raw_table(con, entity)
    for start in range(0, rows_in, TRANSFORM_SLICE_ROWS):
        piece = typed.slice(start, TRANSFORM_SLICE_ROWS)
        if bad.height:
            piece = piece.filter(pl.col("__reason").is_null())
        chunk = piece.select(*cols, pl.col("__row").alias("_row"))
        # Polars' own string views handed over as they are: the default, oldest Arrow form copied every text value into a
        # large string first (0.75–1.5 CPU s per 3.3M ticket rows; DuckDB reads either form at the same cost)
        con.register("loaded_rows", chunk.to_arrow(compat_level=pl.CompatLevel.newest()))
        # the file's hash and the run id are constants of the insert, not text copied into every Arrow row
        # (4M sensor events: 1.17 → 1.06 s)
        con.execute(
            f"insert into {target} by name select *, $hash as _file_hash, $run as _run_id from loaded_rows",
            {"hash": digest, "run": run_id},
        )
        con.unregister("loaded_rows")
    del typed
    result.rows_in = rows_in
    result.loaded = rows_in - bad.height
    result.quarantined = bad.height
    result.reasons = dict(sorted(bad.group_by("__reason").len().iter_rows()))
    return result


def text_bytes(path: Path) -> int:
    """About how many bytes of text a file holds: its size, or for gzip the size its trailer states
    (mod 4 GiB, so never less than the compressed size is taken)."""
    size = path.stat().st_size
    if path.name.lower().endswith(".gz") and size >= 18:
        with path.open("rb") as f:
            f.seek(-4, os.SEEK_END)
            return max(size, int.from_bytes(f.read(4), "little"))
    return size


def depends_on(entity: Entity) -> tuple[str, ...]:
    """The tables a file's rows are checked against (``load_refs``), as tables that must be loaded first:
    every registry entity before it, and every entity of its own source before it. After the registry,
    the four other sources load independently of each other."""
    before = ENTITIES[: ENTITIES.index(entity)]
    return tuple(e.table for e in before if e.source in ("registry", entity.source))


GROWTH = {"tickets": 8.0, "events": 4.5, "tracks": 3.5, "records": 3.0}  # see memory_weight


def memory_weight(entity: Entity, path: Path) -> int:
    """About how much memory loading the file takes at its peak: its text times what the text of that
    kind of file grew to when checked (district, measured: a ticket file 7.3×, events 4.3× as CSV and
    2.4× as JSON lines — every line repeats its keys —, GPS points 3.1×, volunteer records 2.6×); 8× for
    the rest."""
    growth = GROWTH.get(entity.name, 8.0)
    if path.name.lower().endswith((".jsonl", ".jsonl.gz")):
        growth = min(growth, 3.0)
    return int(text_bytes(path) * growth)


def load_priority(files: list[tuple[Entity, Path]], todo: list[int], weight: dict[int, int]) -> dict[int, int]:
    """Per file to load: its ``memory_weight`` plus the largest priority among the files that wait for its
    table (``depends_on``) — the heaviest chain of work that cannot start before it. The ready file with
    the highest priority starts first: a small file others wait for (sensor devices before 33M events,
    volunteer activities before 5M records) goes before a heavier ticket file, so the heavy files that
    wait for it do not end the load alone on one core (district: the last 22 s of the load were one
    event file; the load 119 → 108 s simulated from the measured file times)."""
    memo: dict[int, int] = {}

    def level(i: int) -> int:
        if i not in memo:
            table = files[i][0].table
            memo[i] = weight[i] + max(
                (level(j) for j in todo if table in depends_on(files[j][0])), default=0
            )
        return memo[i]

    return {i: level(i) for i in todo}


def _load_files(
    con: duckdb.DuckDBPyConnection,
    files: list[tuple[Entity, Path]],
    seen: set[str],
    *,
    inbox: Path,
    run_id: str,
    settings: Settings,
    keys: PersonKeys,
    progress: Progress | None = None,
    task=None,
    tail: Callable[[], None] | None = None,
) -> list[tuple[FileResult, datetime, datetime, str | None]]:
    """Load the inbox's files ``settings.ingest_load_threads`` at a time, each on a cursor of its own; (result, started, finished,
    why it was refused) per file, in the order given. A file starts once the tables it is checked against
    are loaded (``depends_on``), the ready one with the highest ``load_priority`` first, beside the running ones only while
    their ``memory_weight`` together stays within ``settings.ingest_parallel_load_mib`` (alone, any file may start), and not
    while a file of higher priority waits only for files loading now and would then not fit beside it (``held``:
    district, the 33M-event file waited behind GPS tracks and volunteer records and ended the load alone; a
    simulation of the measured file times put the load at 142.9 s before, 140.6 s with it, against 140 s of
    work on 1.9 cores). A file already loaded — before, or earlier in the list — is skipped.

    Reading and checking one file keeps about 1.4 of the 2 cores busy (Polars' parser and expressions
    are parallel, the Python around them is not); two at once kept 1.82 cores busy at district scale and
    three 1.88 (the Python of one runs while the others' Polars and DuckDB work does), and the big event
    files load beside ticket files rather than alone. ``tail`` is called once, as the load's tail begins: every
    file started and one done, so a core would wait for the last files (district: the 16M-event CSV alone for
    its last 6 s)."""
    threads = max(1, settings.ingest_load_threads)
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="load")
    try:
        digests = list(pool.map(file_hash, [path for _, path in files]))
        out: dict[int, tuple[FileResult, datetime, datetime, str | None]] = {}
        todo: list[int] = []
        for i, ((entity, path), digest) in enumerate(zip(files, digests, strict=True)):
            if digest in seen:
                fr = FileResult(str(path.relative_to(inbox)), entity.source, entity.name, digest, "skipped")
                fr.warnings.append("内容与已加载文件相同，跳过 (same content loaded before)")
                out[i] = (fr, datetime.now(), datetime.now(), None)
            else:
                seen.add(digest)
                todo.append(i)
        if progress:
            progress.advance(task, len(out))
        mappings: dict[str, Mapping | FileRejected] = {}
        for i in todo:
            source = files[i][0].source
            if source not in mappings:
                try:
                    mappings[source] = Mapping.load(inbox / source)
                except FileRejected as e:
                    mappings[source] = e  # every file of the source is refused for it
        refs: dict[str, Refs] = {}  # per entity, read once what it depends on is loaded

        def one(i: int) -> tuple[FileResult, datetime, datetime, str | None]:
            (entity, path), digest, t0, error = files[i], digests[i], datetime.now(), None
            mapping = mappings[entity.source]
            cur = con.cursor()
            try:
                if isinstance(mapping, FileRejected):
                    raise mapping
                fr = load_file(
                    cur,
                    path,
                    entity,
                    refs[entity.table],
                    mapping,
                    inbox=inbox,
                    run_id=run_id,
                    digest=digest,
                    settings=settings,
                    keys=keys,
                )
            except FileRejected as e:
                seen.discard(digest)
                fr = FileResult(str(path.relative_to(inbox)), entity.source, entity.name, digest, "rejected")
                error = str(e)
            finally:
                cur.close()
            return fr, t0, datetime.now(), error

        weight = {i: memory_weight(*files[i]) for i in todo}
        budget = settings.ingest_parallel_load_mib << 20
        unfinished = {e.table: sum(1 for i in todo if files[i][0].table == e.table) for e in ENTITIES}
        priority = load_priority(files, todo, weight)
        waiting = sorted(todo, key=lambda i: -priority[i])
        futures: dict[int, Future] = {}
        running: dict[Future, int] = {}

        def held(i: int) -> bool:
            """Whether starting ``i`` now would keep a file of higher priority out once the files it waits for,
            all of them loading now, are done: the two would not fit beside what else is loading."""
            for g in waiting:
                if priority[g] <= priority[i]:
                    return False
                tables = [t for t in depends_on(files[g][0]) if unfinished[t]]
                if not tables or any(files[j][0].table in tables for j in waiting):
                    continue  # ready already (the fit decides), or not about to be
                staying = sum(weight[j] for j in running.values() if files[j][0].table not in tables)
                if staying + weight[i] + weight[g] > budget:
                    return True
            return False

        while waiting or running:
            ready = [i for i in waiting if not any(unfinished[t] for t in depends_on(files[i][0]))]
            fits = [i for i in ready if not running or sum(weight[j] for j in running.values()) + weight[i] <= budget]
            fits = [i for i in fits if not held(i)]
            if fits and len(running) < threads:
                i = fits[0]
                waiting.remove(i)
                entity = files[i][0]
                if entity.table not in refs:
                    refs[entity.table] = load_refs(con)
                if progress:
                    progress.update(task, description=f"读取 {files[i][1].name}")
                futures[i] = pool.submit(one, i)
                running[futures[i]] = i
                if progress:
                    futures[i].add_done_callback(lambda _: progress.advance(task))
                continue
            if tail is not None and not waiting and len(running) < threads:
                tail()
                tail = None
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                unfinished[files[running.pop(f)][0].table] -= 1
                f.result()  # an unexpected error fails the run now, not after the rest
        for i in todo:
            out[i] = futures[i].result()
        return [out[i] for i in range(len(files))]
    finally:  # an error leaves no load running on the connection
        pool.shutdown(wait=True, cancel_futures=True)


class _Copier(threading.Thread):
    """``copy_layers`` on a cursor of its own, in a thread; ``join`` re-raises its error."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        super().__init__(name="analytics-copy", daemon=True)
        self.cur, self.error = con.cursor(), None
        self.start()

    def run(self) -> None:
        try:
            copy_layers(self.cur)
        except BaseException as e:  # noqa: BLE001 — handed to join
            self.error = e

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        self.cur.close()
        if self.error is not None:
            raise self.error


def run_ingest(
    inbox: Path,
    settings: Settings,
    as_of: date | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Ingest ``inbox`` into a new version of ``settings.warehouse`` and publish it if the quality gate passes."""
    from expectations.runner import (  # GX is heavy to import; only a run needs it
        gx_context,
        gx_pool,
        run_quality,
        stop_gx_pool,
    )

    started = datetime.now()
    root = Path(settings.warehouse)
    inbox = Path(inbox)
    as_of = as_of or date.today()
    run_id = started.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    ordered, missing, unrecognised = discover(inbox)
    with pub.writer_lock(root):
        pub.sweep_unfinished(root)
        version = pub.new_version(root)
        _fault("after_copy")
        result = RunResult(run_id, as_of, "rejected", version.name, [], missing, unrecognised, [], [])
        clock = [datetime.now(), _cpu_seconds()]

        def lap(stage: str) -> None:
            now, cpu = datetime.now(), _cpu_seconds()
            result.stages[stage] = round((now - clock[0]).total_seconds(), 2)
            result.stage_cpu_s[stage] = round(cpu - clock[1], 2)
            result.stage_peak_rss_mib[stage] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            clock[:] = [now, cpu]

        lap("copy_previous")
        try:
            con = duckdb.connect(
                str(version / pub.WAREHOUSE_FILE),
                # loading only appends, and Python holds the file's frames meanwhile: DuckDB gets 1 GB
                # then, and ingest_memory_limit from the models on
                config={"memory_limit": LOAD_MEMORY_LIMIT, "temp_directory": str(version / "spill")},
            )
            # the models write their analyst-safe tables straight into the analytics file, and the raw rows
            # that staging passes through as they are load there; the full file's views of them (copied from
            # the live version with the analytics file) resolve as soon as it is attached
            attach_analytics(con, version / pub.ANALYTICS_FILE)
            ensure_tables(con, analytics="analytics")
            con.execute(
                "insert into meta.runs values (?, ?, ?, null, 'running', ?, null)",
                [run_id, as_of, started, version.name],
            )
            seen = {
                r[0]
                for r in con.execute(
                    "select file_hash from meta.load_runs where status = 'loaded'"
                ).fetchall()
            }
            task = progress.add_task("读取与校验 (loading)", total=len(ordered)) if progress else None
            keys = PersonKeys(settings.key_secret())
            # the GX workers start as the load's tail begins, on the core the last files leave idle, not beside the
            # load's peak (two big files at once): their fork server imports GX then (3.5 s), and this process's GX
            # context (the reconciliations, the Data Docs) is made beside them. Both on threads: the pool's first
            # worker waits for the fork server's import. Until the nineteenth stop they started with the models,
            # whose DuckDB work keeps both cores busy
            making = ThreadPoolExecutor(2, thread_name_prefix="gx")
            gx_started: dict[str, Future | None] = {}

            def start_gx() -> None:
                gx_started["pool"] = making.submit(gx_pool, max(1, settings.quality_threads)) if settings.quality_processes else None
                gx_started["context"] = making.submit(gx_context, root)

            try:
                loads = _load_files(
                    con, ordered, seen, inbox=inbox, run_id=run_id, settings=settings, keys=keys, progress=progress,
                    task=task, tail=start_gx,
                )
                if not gx_started:  # no file loaded (none, or every one skipped), or one load thread: no tail
                    start_gx()
            finally:
                making.shutdown(wait=False)  # what was started finishes on its own
            pooled, context = gx_started["pool"], gx_started["context"]
            for fr, t0, t1, error in loads:
                if error:
                    result.errors.append(error)
                result.files.append(fr)
                con.execute(
                    "insert into meta.load_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        run_id,
                        fr.file,
                        fr.file_hash,
                        fr.source,
                        fr.entity,
                        fr.status,
                        fr.rows_in,
                        fr.loaded,
                        fr.quarantined,
                        "; ".join(fr.warnings) or None,
                        t0,
                        t1,
                    ],
                )
            lap("read_validate_load")
            _fault("after_load")
            if result.errors:
                raise InboxError("\n".join(result.errors))
            if progress:
                task2 = progress.add_task("构建模型 (models)", total=None)
            con.execute(f"set memory_limit = '{settings.ingest_memory_limit}'")
            write_params(con, as_of, settings)
            load_frozen(con, settings.warehouse)
            result.model_seconds = build_models(con, analytics="analytics")
            if progress:
                progress.update(task2, total=1, completed=1)
            lap("models")
            _fault("after_models")
            if pooled is not None:
                pooled.result()  # its error, if any, now
            # what the models did not write into the analytics file is copied there on its own cursor beside
            # the quality suites
            con.execute(f"set memory_limit = '{QUALITY_MEMORY_LIMIT}'")
            copier = _Copier(con)
            try:
                result.quality = run_quality(con, run_id, settings, progress=progress, context=context)
            finally:
                lap("quality")
                stop_gx_pool()  # what the workers hold is let go before the analytics file's last writes
                copier.join()
            _fault("after_quality")
            if result.critical_failures:
                result.status = "quality_failed"
                raise QualityGateFailed(
                    "关键质量检查未通过，未发布 (critical expectations failed; nothing published): "
                    + "; ".join(
                        f"{q['suite']}.{q['expectation']}({q['column'] or ''})"
                        for q in result.critical_failures
                    )
                )
            con.execute(
                "update meta.runs set finished_at = ?, status = 'published', message = ? where run_id = ?",
                [
                    datetime.now(),
                    json.dumps(
                        {"missing_sources": missing, "unrecognised": unrecognised}, ensure_ascii=False
                    ),
                    run_id,
                ],
            )
            con.execute("checkpoint")
            finish_analytics(con)
            con.close()
            lap("analytics")
            _fault("before_switch")
            pub.publish(root, version)
            _fault("after_switch")
            result.status = "published"
            pub.prune(root, settings.keep_versions)
            lap("publish")
        except BaseException:
            try:
                con.close()
            except Exception:
                pass
            pub.discard(version)
            raise
        finally:
            result.seconds = (datetime.now() - started).total_seconds()
            _write_report(root, result)
    return result


def _write_report(root: Path, result: RunResult) -> None:
    """Every run's report survives outside the versions, published or not (``runs/<run_id>.json``)."""
    folder = root / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    data = asdict(result)
    data["as_of"] = result.as_of.isoformat()
    tmp = folder / f".{result.run_id}.json"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, folder / f"{result.run_id}.json")
