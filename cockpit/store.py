"""The app's own store: users, audit log, query history and saved queries (SQLite).

It lives in ``settings.state_path()`` — outside the versioned warehouse files that every publish
replaces — so users and the audit trail survive publishes. SQLite (WAL) serialises writers from
several Streamlit processes safely; every write is its own short transaction.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

SCHEMA = """
create table if not exists users (
    username text primary key,
    password_hash text not null,
    role text not null,
    grid_code text,
    display_name text,
    disabled integer not null default 0,
    created_at text not null,
    updated_at text not null
);
create table if not exists audit (
    id integer primary key autoincrement,
    ts text not null,
    username text not null,
    role text,
    action text not null,
    page text,
    filter text,
    rows integer,
    detail text
);
create index if not exists audit_ts on audit (ts);
create table if not exists query_history (
    id integer primary key autoincrement,
    username text not null,
    ts text not null,
    sql text not null,
    outcome text not null,
    rows integer,
    seconds real,
    message text
);
create table if not exists saved_queries (
    username text not null,
    name text not null,
    sql text not null,
    saved_at text not null,
    primary key (username, name)
);
"""


def db_path(state_dir: Path) -> Path:
    return Path(state_dir) / "app.sqlite"


def connect(state_dir: Path) -> sqlite3.Connection:
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(db_path(state_dir), timeout=30, isolation_level=None)
    con.execute("pragma journal_mode=wal")
    con.execute("pragma busy_timeout=30000")
    con.executescript(SCHEMA)
    return con


def now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def audit(
    state_dir: Path,
    username: str,
    role: str | None,
    action: str,
    page: str | None = None,
    filter: dict | None = None,
    rows: int | None = None,
    detail: str | None = None,
) -> None:
    """Write one audit record: who, when, what (action and page), which filter, how many rows."""
    with closing(connect(state_dir)) as con:
        con.execute(
            "insert into audit (ts, username, role, action, page, filter, rows, detail) values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                now(),
                username,
                role,
                action,
                page,
                json.dumps(filter, ensure_ascii=False, default=str) if filter is not None else None,
                rows,
                detail,
            ],
        )


def read_audit(state_dir: Path, limit: int = 1000, username: str | None = None) -> list[dict]:
    with closing(connect(state_dir)) as con:
        con.row_factory = sqlite3.Row
        sql = "select * from audit"
        args: list = []
        if username:
            sql += " where username = ?"
            args.append(username)
        sql += " order by id desc limit ?"
        args.append(limit)
        return [dict(r) for r in con.execute(sql, args).fetchall()]


def add_history(state_dir: Path, username: str, sql: str, outcome: str, rows: int | None, seconds: float, message: str = "") -> None:
    with closing(connect(state_dir)) as con:
        con.execute(
            "insert into query_history (username, ts, sql, outcome, rows, seconds, message) values (?, ?, ?, ?, ?, ?, ?)",
            [username, now(), sql, outcome, rows, seconds, message[:500]],
        )


def history(state_dir: Path, username: str, limit: int = 50) -> list[dict]:
    with closing(connect(state_dir)) as con:
        con.row_factory = sqlite3.Row
        return [
            dict(r)
            for r in con.execute(
                "select ts, sql, outcome, rows, round(seconds, 2) as seconds from query_history "
                "where username = ? order by id desc limit ?",
                [username, limit],
            )
        ]


def save_query(state_dir: Path, username: str, name: str, sql: str) -> None:
    with closing(connect(state_dir)) as con:
        con.execute(
            "insert into saved_queries (username, name, sql, saved_at) values (?, ?, ?, ?) "
            "on conflict (username, name) do update set sql = excluded.sql, saved_at = excluded.saved_at",
            [username, name, sql, now()],
        )


def saved_queries(state_dir: Path, username: str) -> list[dict]:
    with closing(connect(state_dir)) as con:
        con.row_factory = sqlite3.Row
        return [
            dict(r)
            for r in con.execute(
                "select name, sql, saved_at from saved_queries where username = ? order by name", [username]
            )
        ]


def delete_query(state_dir: Path, username: str, name: str) -> None:
    with closing(connect(state_dir)) as con:
        con.execute("delete from saved_queries where username = ? and name = ?", [username, name])
