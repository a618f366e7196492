"""自助查询: analysts' SQL over the analytics file — editor, schema browser, run / cancel, results,
export, per-user history and saved queries. Queries run in a sandboxed worker process
(cockpit/sqlworker.py); every query is written to the audit log."""

import json
import time

import polars as pl
import streamlit as st

from cockpit import store, ui
from cockpit.data import warehouse
from cockpit.sqlworker import Limits, QueryHandle, SqlRefused, check_sql
from warehouse.publish import current_paths

user = ui.require("sql")
cfg = ui.settings()
state = ui.state_dir()
st.title("自助查询")
st.markdown(
    f"<div class='cockpit-banner'>只读查询分析库（仅汇总表与脱敏视图，不含身份证号、电话、姓名）· 每次一条 SELECT · "
    f"超过 {cfg.sql_timeout_seconds:.0f} 秒自动停止 · 显示前 {cfg.sql_max_rows_shown:,} 行 · 最多导出 {cfg.sql_max_rows_export:,} 行</div>",
    unsafe_allow_html=True,
)
aw = warehouse(cfg.warehouse, analytics=True)
st.session_state.setdefault("sql_text", "select grid_code, month, tickets, satisfaction_rate\nfrom mart.kpi_grid_month\norder by month desc, grid_code\nlimit 100")
st.session_state.setdefault("sql_editor_version", 0)


def load(sql: str) -> None:
    st.session_state["sql_text"] = sql
    st.session_state["sql_editor_version"] += 1


def cancel() -> None:
    job = st.session_state.get("sql_job")
    if job is not None:
        job["handle"].cancel()
        job["cancel_clicked"] = time.time()


browser, main = st.columns([1, 3])
with browser:
    st.markdown("##### 数据表")
    cols = aw.frame(
        "select t.schema_name || '.' || t.table_name as tbl, t.comment as table_comment, c.column_name, c.data_type, c.comment "
        "from (select database_name, schema_name, table_name, comment, table_oid from duckdb_tables() "
        "      union all select database_name, schema_name, view_name, comment, view_oid from duckdb_views() where not internal) t "
        "join duckdb_columns() c on c.table_oid = t.table_oid "  # a view's columns carry its oid (the raw sensor events' staging view)
        "where t.database_name = current_database() order by t.schema_name, t.table_name, c.column_index"
    )
    search = st.text_input("查找表或列", key="schema_search", placeholder="例如 满意率、grid_code")
    tables = cols.group_by("tbl", maintain_order=True).agg(pl.first("table_comment"))
    if search:
        hit = cols.filter(
            pl.col("tbl").str.contains(search, literal=True) | pl.col("column_name").str.contains(search, literal=True)
            | pl.col("comment").fill_null("").str.contains(search, literal=True)
            | pl.col("table_comment").fill_null("").str.contains(search, literal=True)
        )["tbl"].unique()
        tables = tables.filter(pl.col("tbl").is_in(hit))
    labels = {t: f"{t} — {(c or '')[:24]}" for t, c in tables.iter_rows()}
    st.caption(f"{len(labels)} 张表")
    tbl = st.selectbox("表", list(labels), format_func=labels.get, key="schema_table") if labels else None
    if tbl:
        st.caption(tables.filter(pl.col("tbl") == tbl)["table_comment"][0] or "")
        st.dataframe(
            cols.filter(pl.col("tbl") == tbl).select(
                pl.col("column_name").alias("列"), pl.col("data_type").alias("类型"), pl.col("comment").alias("说明")
            ),
            hide_index=True, height=320,
        )
        b1, b2 = st.columns(2)
        sample = b1.button("示例数据", key="schema_sample")
        if b2.button("插入查询", key="schema_use"):
            load(f"select *\nfrom {tbl}\nlimit 100")
            st.rerun()
        if sample:
            st.dataframe(aw.frame(f"select * from {tbl} limit 5"), hide_index=True)

with main:
    try:
        from streamlit_ace import st_ace

        text = st_ace(
            value=st.session_state["sql_text"], language="sql", theme="tomorrow_night", font_size=15, height=220,
            auto_update=True, key=f"ace_{st.session_state['sql_editor_version']}", placeholder="select …",
        )
    except Exception:  # noqa: BLE001 — the component failed to load: a plain editor still works
        text = st.text_area("SQL", st.session_state["sql_text"], height=220, key=f"sql_plain_{st.session_state['sql_editor_version']}")
    if text is not None:
        st.session_state["sql_text"] = text
    job = st.session_state.get("sql_job")
    c1, c2, c3, c4 = st.columns([1, 1, 2, 1])
    run_clicked = c1.button("▶ 运行", type="primary", key="sql_run", disabled=job is not None)
    c2.button("■ 取消", key="sql_cancel", on_click=cancel, disabled=job is None)
    name = c3.text_input("名称", key="sql_save_name", label_visibility="collapsed", placeholder="查询名称")
    if c4.button("保存查询", key="sql_save") and name.strip():
        store.save_query(state, user.username, name.strip(), st.session_state["sql_text"])
        st.toast(f"已保存：{name.strip()}")

    if run_clicked and job is None:
        sql = st.session_state["sql_text"]
        try:
            checked = check_sql(sql)
        except SqlRefused as e:
            store.add_history(state, user.username, sql, "refused", None, 0.0, str(e))
            ui.audit("sql_query", "sql", None, None, json.dumps({"sql": sql, "outcome": "refused", "message": str(e)}, ensure_ascii=False))
            st.error(str(e))
            if e.line and e.col:
                line = sql.splitlines()[e.line - 1] if e.line <= len(sql.splitlines()) else ""
                st.code(f"{line}\n{' ' * max(e.col - 1, 0)}^", language=None)
        else:
            limits = Limits(cfg.sql_timeout_seconds, cfg.sql_memory_limit, cfg.sql_threads, cfg.sql_max_rows_export, cfg.sql_count_cap)
            job = {"handle": QueryHandle(current_paths(cfg.warehouse)[1], checked, limits), "sql": sql}
            st.session_state["sql_job"] = job
            st.session_state.pop("sql_result", None)
            st.session_state.pop("sql_cancel_seconds", None)
            st.rerun()  # draw 取消 enabled while it runs

    if job is not None:
        status = st.empty()
        result = None
        while result is None:
            h = job["handle"]
            status.info(f"运行中… {time.time() - h.started:.1f} 秒" + ("（正在取消）" if h.cancelled_at else ""))
            result = h.wait(poll=0.25)
        status.empty()
        st.session_state.pop("sql_job", None)
        if job.get("cancel_clicked"):
            st.session_state["sql_cancel_seconds"] = time.time() - job["cancel_clicked"]
        store.add_history(state, user.username, job["sql"], result.outcome, result.rows_total, result.seconds, result.message)
        ui.audit("sql_query", "sql", None, result.rows_total,
                 json.dumps({"sql": job["sql"], "outcome": result.outcome, "seconds": round(result.seconds, 3),
                             "message": result.message[:300]}, ensure_ascii=False))
        st.session_state["sql_result"] = result
        st.rerun()

    result = st.session_state.get("sql_result")
    if result is not None:
        if result.outcome == "ok":
            df = result.table()
            count = f"超过 {result.rows_total:,}" if result.count_capped else f"{result.rows_total:,}"
            shown = min(df.height, cfg.sql_max_rows_shown)
            st.success(f"共 {count} 行，用时 {result.seconds:.2f} 秒" + (f"；显示前 {shown:,} 行" if result.rows_total > shown else ""))
            st.dataframe(df.head(cfg.sql_max_rows_shown), hide_index=True, height=420)
            if df.height:
                note = f"（导出前 {df.height:,} 行）" if result.rows_total > df.height else ""
                st.caption(f"导出{note}")
                ui.export_buttons(df, "查询结果", "sql", person_level=True, filter={"sql": st.session_state["sql_text"][:2000]})
        elif result.outcome in ("timeout", "cancelled", "killed"):
            st.warning(result.message)
        else:
            st.error(f"查询出错：{result.message}")
        if "sql_cancel_seconds" in st.session_state:
            st.caption(f"从点击取消到页面可用：{st.session_state['sql_cancel_seconds']:.2f} 秒")

    t1, t2 = st.tabs(["查询历史", "已保存的查询"])
    with t1:
        hist = store.history(state, user.username)
        if hist:
            h = pl.DataFrame(hist)
            st.dataframe(h.rename({"ts": "时间", "sql": "SQL", "outcome": "结果", "rows": "行数", "seconds": "秒"}), hide_index=True, height=min(38 + 35 * h.height, 240))
            pick = st.selectbox("载入历史查询", range(len(hist)), format_func=lambda i: f"{hist[i]['ts']} · {hist[i]['sql'][:60]}", key="hist_pick")
            st.button("载入到编辑器", key="hist_load", on_click=load, args=(hist[pick]["sql"],))
        else:
            st.caption("还没有查询记录。")
    with t2:
        saved = store.saved_queries(state, user.username)
        for q in saved:
            a, b, c = st.columns([3, 1, 1])
            a.markdown(f"**{q['name']}** · {q['saved_at']}  \n`{q['sql'][:80]}`")
            b.button("载入", key=f"load_{q['name']}", on_click=load, args=(q["sql"],))
            if c.button("删除", key=f"del_{q['name']}"):
                store.delete_query(state, user.username, q["name"])
                st.rerun()
        if not saved:
            st.caption("还没有保存的查询。")
