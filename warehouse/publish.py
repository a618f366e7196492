"""Versioned DuckDB files and the atomic pointer that publishes them (SPEC §3).

Layout of a warehouse folder::

    versions/<version>/warehouse.duckdb   the full warehouse (raw, staging, meta); its analyst-safe staging
                                          and mart relations are views over the analytics file's tables
    versions/<version>/analytics.duckdb   staging, marts and meta only (no ID number, phone or name)
    live -> versions/<version>            the one atomic switch
    current.duckdb   -> live/warehouse.duckdb
    analytics.duckdb -> live/analytics.duckdb
    versions/<version>/PUBLISHED          marker: this version was live once
    runs/<run_id>.json                    every run's report, published or not
    ingest.lock                           one writer at a time

A run never writes a published file: it copies the live warehouse into a new version folder,
loads into the copy, and renames a new ``live`` link over the old one. Readers resolve the links
each time they connect and open that version's file read-only, so a reader never sees a
half-loaded state and a new connection after a publish sees the new data.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb

WAREHOUSE_FILE = "warehouse.duckdb"
ANALYTICS_FILE = "analytics.duckdb"


class WarehouseBusy(Exception):
    pass


def live_version(root: Path) -> Path | None:
    link = root / "live"
    if not link.is_symlink():
        return None
    target = (root / os.readlink(link)).resolve()
    return target if (target / WAREHOUSE_FILE).exists() else None


def current_paths(root: Path) -> tuple[Path, Path] | None:
    """The published (warehouse, analytics) pair, resolved to the versioned files; None before any publish."""
    v = live_version(Path(root))
    return (v / WAREHOUSE_FILE, v / ANALYTICS_FILE) if v else None


def open_pair(warehouse: Path, analytics: Path) -> duckdb.DuckDBPyConnection:
    """The full file read-only, with its version's analytics file attached read-only as ``analytics``:
    the full file's analyst-safe staging and mart relations are views over the analytics file's tables
    (``warehouse.build.build_models``), so they resolve only with it beside them."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        # DuckDB shares one database per path within a process: a second connection finds it attached
        con.execute(f"attach if not exists '{analytics}' as analytics (read_only)")
    except BaseException:
        con.close()
        raise
    return con


def connect_current(root: Path, analytics: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published file (opened by its versioned name, never the link); the full
    file comes with its analytics file attached (``open_pair``)."""
    paths = current_paths(Path(root))
    if paths is None:
        raise FileNotFoundError(
            f"{root}: nothing published yet — run `cockpit ingest` or `cockpit demo` first"
        )
    return duckdb.connect(str(paths[1]), read_only=True) if analytics else open_pair(*paths)


@contextmanager
def writer_lock(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "ingest.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise WarehouseBusy(f"{root}: another ingest run holds ingest.lock") from e
        yield


def new_version(root: Path) -> Path:
    """A fresh version folder holding a copy of the live pair (or nothing, on the first run)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    folder = root / "versions" / f"{stamp}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    live = live_version(root)
    if live is not None:  # the analytics file holds raw rows too (warehouse.build.raw_in_analytics)
        shutil.copyfile(live / WAREHOUSE_FILE, folder / WAREHOUSE_FILE)
        shutil.copyfile(live / ANALYTICS_FILE, folder / ANALYTICS_FILE)
    return folder


def publish(root: Path, version: Path) -> None:
    """Switch ``live`` to ``version`` in one rename; make sure the fixed links exist."""
    tmp = root / f".live-{uuid.uuid4().hex}"
    os.symlink(os.path.relpath(version, root), tmp)
    os.replace(tmp, root / "live")
    (version / "PUBLISHED").touch()
    for name, target in (("current.duckdb", WAREHOUSE_FILE), ("analytics.duckdb", ANALYTICS_FILE)):
        link = root / name
        if not link.is_symlink():
            tmp = root / f".{name}-{uuid.uuid4().hex}"
            os.symlink(os.path.join("live", target), tmp)
            os.replace(tmp, link)
    _fsync_dir(root)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` versions (never the live one, never one being built).
    Readers holding an older file open keep reading it: an unlinked file lives until closed."""
    live = live_version(root)
    versions = sorted((root / "versions").iterdir()) if (root / "versions").exists() else []
    published = [v for v in versions if (v / "PUBLISHED").exists() or v == live]
    removed = []
    for v in published[:-keep] if keep > 0 else published:
        if v != live:
            shutil.rmtree(v, ignore_errors=True)
            removed.append(v)
    return removed


def discard(version: Path) -> None:
    shutil.rmtree(version, ignore_errors=True)


def sweep_unfinished(root: Path) -> None:
    """Version folders a killed or failed run left behind (never published). Called under the writer lock."""
    live = live_version(root)
    for v in (root / "versions").iterdir() if (root / "versions").exists() else []:
        if v != live and not (v / "PUBLISHED").exists():
            shutil.rmtree(v, ignore_errors=True)
