"""自助查询's sandbox: analysts' SQL in a separate worker process on the analytics file only (SPEC §8).

Layers, each enough on its own for what it guards:
1. ``check_sql`` (sqlglot): exactly one statement, and it must be a query (SELECT / WITH / set
   operations). SET, PRAGMA, ATTACH, COPY, INSTALL, CREATE … never reach DuckDB.
2. The worker opens the analytics file directly with ``read_only=True`` (not ATTACHed), with
   ``enable_external_access=false`` (no file, glob, network or extension access), extension
   autoload and autoinstall off, a memory and a thread limit, and ``lock_configuration=true``.
3. The worker is a separate process: the app's memory and its connection to the full warehouse
   are out of reach, the query is interrupted at the time limit, and the process is killed if it
   does not stop. The file itself holds nothing an analyst may not see (no ID number, phone, name).

Results come back as an Arrow IPC file of at most ``max_rows_export`` rows, read into memory and
deleted as soon as the worker is done (whatever the outcome); the row count is counted by
streaming the rest, up to ``count_cap``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError


class SqlRefused(ValueError):
    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.line, self.col = line, col


ALLOWED = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)


def check_sql(sql: str) -> str:
    """The one query to run, or SqlRefused (with the position of a syntax error)."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise SqlRefused("请输入一条 SELECT 查询。")
    try:
        statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        line, col = err.get("line"), err.get("col")
        where = f"第 {line} 行第 {col} 列附近" if line else ""
        raise SqlRefused(f"语法错误{where}：{err.get('description') or e}", line, col) from None
    if len(statements) != 1:
        raise SqlRefused(f"一次只能执行一条语句（收到 {len(statements)} 条）。")
    stmt = statements[0]
    if not isinstance(stmt, ALLOWED):
        kind = stmt.key.upper() if not isinstance(stmt, exp.Command) else str(stmt.this).upper()
        raise SqlRefused(f"只允许查询（SELECT / WITH），不允许 {kind} 语句。")
    return text


@dataclass
class Limits:
    timeout: float = 30.0
    memory_limit: str = "1GB"
    threads: int = 1
    max_rows_export: int = 100_000
    count_cap: int = 10_000_000
    grace: float = 5.0  # after the interrupt, before the kill


@dataclass
class Result:
    outcome: str  # ok | error | refused | timeout | cancelled | killed
    message: str = ""
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    rows_total: int | None = None  # rows the query gave; None when it gave none (error, refused, cancelled, …)
    count_capped: bool = False
    arrow_path: str | None = None
    seconds: float = 0.0
    peak_rss_mb: float | None = None
    line: int | None = None
    col: int | None = None
    frame: object = field(default=None, repr=False)  # the rows, read from arrow_path before it is deleted

    def table(self):
        """The fetched rows (≤ max_rows_export) as a Polars DataFrame."""
        import polars as pl

        return self.frame if self.frame is not None else pl.DataFrame()


class QueryHandle:
    """A running query: ``wait()`` for its Result, ``cancel()`` to interrupt it (kill after the grace)."""

    def __init__(self, analytics_path: Path, sql: str, limits: Limits):
        self.limits = limits
        self.started = time.time()
        self.out = tempfile.NamedTemporaryFile(prefix="cockpit_sql_", suffix=".arrow", delete=False).name
        request = {"path": str(analytics_path), "sql": sql, "out": self.out, **limits.__dict__}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cockpit.sqlproc"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={k: v for k, v in os.environ.items() if not k.startswith("COCKPIT_")},
        )
        self.proc.stdin.write(json.dumps(request))
        self.proc.stdin.close()
        self.cancelled_at: float | None = None

    def running(self) -> bool:
        return self.proc.poll() is None

    def cancel(self) -> None:
        if self.running():
            self.cancelled_at = time.time()
            self.proc.send_signal(signal.SIGINT)

    def wait(self, poll: float | None = None) -> Result | None:
        """The Result when done; with ``poll`` seconds, None if still running after them."""
        hard = self.started + self.limits.timeout + self.limits.grace + 5
        deadline = time.time() + poll if poll is not None else hard
        while self.running() and time.time() < min(deadline, hard):
            if self.cancelled_at and time.time() > self.cancelled_at + self.limits.grace:
                break
            time.sleep(0.05)
        if self.running():
            if poll is not None and time.time() < hard and not (
                self.cancelled_at and time.time() > self.cancelled_at + self.limits.grace
            ):
                return None
            self.proc.kill()
            self.proc.wait()
            self._remove_out()
            return Result("killed", "查询未能及时停止，查询进程已被终止。", seconds=time.time() - self.started)
        stdout = self.proc.stdout.read()
        try:
            data = json.loads(stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self._remove_out()
            if self.cancelled_at:  # cancelled while it started, before it could catch the signal
                return Result("cancelled", "查询已取消。", seconds=time.time() - self.started)
            err = self.proc.stderr.read()[-500:]
            return Result("error", f"查询进程异常退出（{self.proc.returncode}）：{err}", seconds=time.time() - self.started)
        result = Result(**data)
        try:
            if result.outcome == "ok" and result.arrow_path:
                import polars as pl
                import pyarrow.ipc as ipc

                with ipc.open_file(result.arrow_path) as r:
                    result.frame = pl.from_arrow(r.read_all())
        finally:
            self._remove_out()
        return result

    def _remove_out(self) -> None:
        """The worker's result file is only a hand-over: it never outlives the query."""
        try:
            os.unlink(self.out)
        except FileNotFoundError:
            pass


def run_query(analytics_path: Path, sql: str, limits: Limits | None = None, *, validate: bool = True) -> Result:
    """Check, run in a worker process, wait: the whole round trip (``validate=False`` only in tests,
    to show the DuckDB layer refusing on its own)."""
    limits = limits or Limits()
    t0 = time.time()
    if validate:
        try:
            sql = check_sql(sql)
        except SqlRefused as e:
            return Result("refused", str(e), seconds=time.time() - t0, line=e.line, col=e.col)
    return QueryHandle(analytics_path, sql, limits).wait()
