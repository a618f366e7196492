"""Local users: Argon2id hashes, refusals, the `cockpit users` commands."""

import sqlite3

import pytest
from typer.testing import CliRunner

from cockpit import auth, store
from pipelines.cli import app


def test_passwords_are_argon2id_hashes_and_verified(tmp_path):
    auth.add_user(tmp_path, "alice", "a long password", "analyst")
    stored = sqlite3.connect(store.db_path(tmp_path)).execute("select password_hash from users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a long password" not in stored
    assert auth.authenticate(tmp_path, "alice", "a long password") == auth.User("alice", "analyst")
    assert auth.authenticate(tmp_path, "alice", "a long passworD") is None
    assert auth.authenticate(tmp_path, "nobody", "a long password") is None
    auth.set_disabled(tmp_path, "alice", True)
    assert auth.authenticate(tmp_path, "alice", "a long password") is None


@pytest.mark.parametrize(
    "args, message",
    [
        (("bob", "short", "analyst"), "至少"),
        (("bob", "a long password", "boss"), "未知角色"),
        (("bob", "a long password", "grid_worker"), "绑定网格"),
        (("b b", "a long password", "analyst"), "用户名"),
    ],
)
def test_bad_users_are_refused(tmp_path, args, message):
    with pytest.raises(auth.AuthError, match=message):
        auth.add_user(tmp_path, *args)


def test_cli_users_add_list_passwd_disable(tmp_path, monkeypatch):
    from pipelines.settings import get_settings

    monkeypatch.setenv("COCKPIT_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    r = CliRunner()
    try:
        assert r.invoke(app, ["users", "add", "w1", "--role", "grid_worker", "--grid", "G001", "--password", "0123456789ab"]).exit_code == 0
        again = r.invoke(app, ["users", "add", "w1", "--role", "grid_worker", "--grid", "G001", "--password", "0123456789ab"])
        assert again.exit_code == 2 and "已存在" in again.output
        listed = r.invoke(app, ["users", "list"])
        assert "w1" in listed.output and "G001" in listed.output and "argon2" not in listed.output
        assert r.invoke(app, ["users", "passwd", "w1", "--password", "another password"]).exit_code == 0
        assert auth.authenticate(tmp_path, "w1", "another password").grid_code == "G001"
        assert r.invoke(app, ["users", "disable", "w1"]).exit_code == 0
        assert auth.authenticate(tmp_path, "w1", "another password") is None
    finally:
        get_settings.cache_clear()
