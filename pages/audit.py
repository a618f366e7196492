"""审计日志 (admin): every view and export of person-level data, logins, freezes; and the user list."""

import polars as pl
import streamlit as st

from cockpit import auth, store, ui

user = ui.require("audit")
st.title("审计日志")
who = st.text_input("按用户筛选", key="audit_user")
log = store.read_audit(ui.state_dir(), limit=2000, username=who.strip() or None)
ui.table(pl.DataFrame(log, infer_schema_length=None) if log else pl.DataFrame({"ts": []}), "审计日志", "audit", height=480)
st.subheader("用户")
users = auth.list_users(ui.state_dir())
ui.table(pl.DataFrame(users) if users else pl.DataFrame({"username": []}), "用户", "audit")
st.caption("用户用命令行管理：`cockpit users add|passwd|disable|list`。")
