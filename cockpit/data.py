"""Data access for the cockpit: one DuckDB connection per process, a cursor per query (SPEC §9).

The connection is opened on the *versioned* file that ``live`` names. Every query checks the
pointer first (one readlink); after a publish the next query opens the new version, so the app
picks up new data without a restart. The previous connection is kept open for queries still
running on it, and closed when the version after that arrives.
"""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import polars as pl

from warehouse.publish import current_paths, open_pair


class NotPublished(RuntimeError):
    pass


class Warehouse:
    def __init__(self, root: Path, analytics: bool = False):
        self.root = Path(root)
        self.analytics = analytics  # the analytics file (schema browser of 自助查询) instead of the full one
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._previous: duckdb.DuckDBPyConnection | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        paths = current_paths(self.root)
        if paths is None:
            raise NotPublished(f"{self.root}: 尚无已发布的数据 (nothing published yet) — run `cockpit demo` or `cockpit ingest`")
        with self._lock:
            path = paths[1] if self.analytics else paths[0]
            if path != self._path:
                con = duckdb.connect(str(path), read_only=True) if self.analytics else open_pair(*paths)
                if self._previous is not None:
                    self._previous.close()
                self._previous, self._con, self._path = self._con, con, path
            return self._con

    @property
    def version(self) -> str:
        self.connection()
        return self._path.parent.name if self._path else ""

    def frame(self, sql: str, params: list | None = None) -> pl.DataFrame:
        cur = self.connection().cursor()
        try:
            return _plain(cur.sql(sql, params=params or None).pl())
        finally:
            cur.close()

    def rows(self, sql: str, params: list | None = None) -> list[tuple]:
        cur = self.connection().cursor()
        try:
            return cur.execute(sql, params or []).fetchall()
        finally:
            cur.close()

    def scalar(self, sql: str, params: list | None = None):
        r = self.rows(sql, params)
        v = r[0][0] if r else None
        return int(v) if type(v).__name__ == "Decimal" and v == int(v) else v


def _plain(df: pl.DataFrame) -> pl.DataFrame:
    """Sums of integers come back as DECIMAL(38,0) / HUGEINT: make them plain integers (floats if scaled)."""
    fix = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Decimal):
            fix.append(pl.col(name).cast(pl.Int64 if (dtype.scale or 0) == 0 else pl.Float64))
        elif dtype == pl.Int128:
            fix.append(pl.col(name).cast(pl.Int64))
    return df.with_columns(fix) if fix else df


_instances: dict[tuple[Path, bool], Warehouse] = {}
_instances_lock = threading.Lock()


def warehouse(root: Path, analytics: bool = False) -> Warehouse:
    """The process-wide Warehouse for ``root`` (its full file, or its analytics file)."""
    key = (Path(root).resolve(), analytics)
    with _instances_lock:
        if key not in _instances:
            _instances[key] = Warehouse(key[0], analytics)
        return _instances[key]
