"""Local users with Argon2id password hashes (argon2-cffi), roles of SPEC §1, idle expiry.

Roles: leader, grid_worker (bound to one grid), analyst, reviewer, admin. Which pages each role
opens and how person-level values are masked for it are decided here, in one place.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cockpit import store

ROLES = {
    "leader": "街道领导",
    "grid_worker": "网格员",
    "analyst": "数据分析员",
    "reviewer": "考核评审",
    "admin": "系统管理员",
}

# page key → roles that may open it
PAGE_ROLES: dict[str, set[str]] = {
    "overview": {"leader", "grid_worker", "analyst", "reviewer", "admin"},
    "complaints": {"leader", "grid_worker", "analyst", "admin"},
    "appraisal": {"leader", "grid_worker", "reviewer", "admin"},
    "people": {"leader", "grid_worker", "analyst", "admin"},
    "map": {"leader", "grid_worker", "analyst", "admin"},
    "volunteers": {"leader", "grid_worker", "analyst", "admin"},
    "sensors": {"leader", "grid_worker", "analyst", "admin"},
    "sql": {"analyst", "admin"},
    "quality": {"admin"},
    "audit": {"admin"},
}

# which person-level fields a role sees unmasked (SPEC §8): grid workers serve their own grid's
# residents (name and phone), leaders see names; nobody sees a raw ID number on a page.
UNMASKED: dict[str, set[str]] = {
    "leader": {"name"},
    "grid_worker": {"name", "phone"},
    "analyst": set(),
    "reviewer": set(),
    "admin": set(),
}

MIN_PASSWORD = 10
_hasher = PasswordHasher()


class AuthError(ValueError):
    pass


@dataclass(frozen=True)
class User:
    username: str
    role: str
    grid_code: str | None = None
    display_name: str | None = None

    @property
    def role_label(self) -> str:
        return ROLES[self.role]

    def may_open(self, page: str) -> bool:
        return self.role in PAGE_ROLES.get(page, set())


def _check(username: str, role: str, grid_code: str | None, password: str | None) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{2,64}", username):
        raise AuthError("用户名只能包含字母、数字和 _.@-，2–64 位")
    if role not in ROLES:
        raise AuthError(f"未知角色 {role!r}；可选：{', '.join(ROLES)}")
    if role == "grid_worker" and not grid_code:
        raise AuthError("网格员账号必须绑定网格 (--grid)")
    if password is not None and len(password) < MIN_PASSWORD:
        raise AuthError(f"密码至少 {MIN_PASSWORD} 位")


def add_user(
    state_dir: Path,
    username: str,
    password: str,
    role: str,
    grid_code: str | None = None,
    display_name: str | None = None,
) -> User:
    _check(username, role, grid_code, password)
    with closing(store.connect(state_dir)) as con:
        try:
            con.execute(
                "insert into users (username, password_hash, role, grid_code, display_name, created_at, updated_at) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                [username, _hasher.hash(password), role, grid_code, display_name, store.now(), store.now()],
            )
        except sqlite3.IntegrityError as e:
            raise AuthError(f"用户 {username} 已存在") from e
    return User(username, role, grid_code, display_name)


def set_password(state_dir: Path, username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AuthError(f"密码至少 {MIN_PASSWORD} 位")
    with closing(store.connect(state_dir)) as con:
        n = con.execute(
            "update users set password_hash = ?, updated_at = ? where username = ?",
            [_hasher.hash(password), store.now(), username],
        ).rowcount
    if n == 0:
        raise AuthError(f"没有用户 {username}")


def set_disabled(state_dir: Path, username: str, disabled: bool) -> None:
    with closing(store.connect(state_dir)) as con:
        n = con.execute(
            "update users set disabled = ?, updated_at = ? where username = ?", [int(disabled), store.now(), username]
        ).rowcount
    if n == 0:
        raise AuthError(f"没有用户 {username}")


def list_users(state_dir: Path) -> list[dict]:
    with closing(store.connect(state_dir)) as con:
        con.row_factory = sqlite3.Row
        return [
            dict(r)
            for r in con.execute(
                "select username, role, grid_code, display_name, disabled, created_at from users order by username"
            )
        ]


def get_user(state_dir: Path, username: str) -> User | None:
    with closing(store.connect(state_dir)) as con:
        row = con.execute(
            "select username, role, grid_code, display_name from users where username = ? and disabled = 0", [username]
        ).fetchone()
    return User(*row) if row else None


def authenticate(state_dir: Path, username: str, password: str) -> User | None:
    """The user, or None for an unknown user, a wrong password or a disabled account."""
    with closing(store.connect(state_dir)) as con:
        row = con.execute(
            "select password_hash, role, grid_code, display_name, disabled from users where username = ?", [username]
        ).fetchone()
        if row is None:
            _hasher.hash(password)  # same work for unknown users: no timing oracle
            return None
        hashed, role, grid, display, disabled = row
        try:
            _hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if disabled:
            return None
        if _hasher.check_needs_rehash(hashed):
            con.execute("update users set password_hash = ? where username = ?", [_hasher.hash(password), username])
    return User(username, role, grid, display)
