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

    def _current(self) -> tuple[Path, duckdb.DuckDBPyConnection]:
        """The published version's file and its connection, read together."""
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
            return self._path, self._con

    def connection(self) -> duckdb.DuckDBPyConnection:
        return self._current()[1]

    @property
    def version(self) -> str:
        return self._current()[0].parent.name

    def pinned(self) -> Warehouse:
        """This warehouse held at the version it reads now: every query through the result runs on that
        version's connection, whatever is published meanwhile. For an answer made of several queries that
        must agree: the tag filter's bit masks come from ``mart.tag_dictionary`` and are tested on
        ``mart.person_profile``'s tag words, and a publish that adds a tag renumbers the others — one
        version's masks on the next version's words pick the wrong people. The connection stays open until
        the version after the next is published (``_current``); a request that outlives two publishes fails
        rather than mixing them."""
        return _Pinned(self, *self._current())

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


class _Pinned(Warehouse):
    """``Warehouse.pinned``: one version's connection, whatever ``live`` names later."""

    def __init__(self, of: Warehouse, path: Path, con: duckdb.DuckDBPyConnection):
        super().__init__(of.root, of.analytics)
        self._path, self._con = path, con

    def _current(self) -> tuple[Path, duckdb.DuckDBPyConnection]:
        return self._path, self._con


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
