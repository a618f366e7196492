"""Shared Streamlit pieces: settings, login gate, role checks, filters, KPI cards, tables with export and audit."""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import threading
import time
from collections.abc import Callable
from datetime import date

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from cockpit import auth, store
from cockpit.data import warehouse
from cockpit.queries import Scope
from pipelines.settings import Settings, get_settings
from warehouse.privacy import mask_id, mask_name, mask_phone

COLUMN_LABELS = {
    "grid_code": "网格编码", "grid_name": "网格名称", "community": "社区", "street": "街道", "month": "月份",
    "quarter": "季度", "tickets": "诉求量", "responded": "已响应", "responded_on_time": "及时响应",
    "resolved": "已办结", "resolved_on_time": "按时办结", "rated": "已评价", "satisfied": "满意",
    "repeats": "重复诉求", "sla_breaches": "超时工单", "response_rate": "响应率", "timely_response_rate": "及时响应率",
    "closure_rate": "办结率", "on_time_closure_rate": "按时办结率", "satisfaction_rate": "满意率",
    "rating_rate": "参评率", "repeat_rate": "重复诉求率", "median_response_hours": "响应时长中位数(h)",
    "p90_resolution_hours": "办结时长P90(h)", "avg_response_hours": "平均响应时长(h)",
    "ticket_id": "工单编号", "source": "来源", "category": "诉求类型", "urgency": "紧急程度",
    "building_code": "楼栋编码", "handler_id": "处理人", "reported_at": "上报时间", "resolved_at": "办结时间",
    "response_hours": "响应时长(h)", "resolution_hours": "办结时长(h)", "is_repeat": "重复诉求",
    "last_reported_at": "最近上报", "name": "姓名", "id_number": "身份证号", "phone": "联系电话",
    "gender": "性别", "age": "年龄", "household_id": "户号", "residence_type": "居住类型", "tags": "标签",
    "persons": "人数", "tag": "标签", "device_id": "设备编号", "device_type": "设备类型", "devices": "设备数",
    "online": "在线", "alarms": "告警", "effective": "有效", "false_alarms": "误报", "faults": "故障",
    "alarms_30d": "近30天告警", "faults_30d": "近30天故障", "day": "日期", "since": "无用水起始",
    "hours_without_usage": "无用水时长(h)", "earned": "获得积分", "redeemed": "兑换积分", "balance": "余额",
    "hours": "时长(h)", "overdrawn_redemptions": "透支兑换次数", "activity_type": "活动类型",
    "activities": "活动数", "records": "签到记录", "participants": "参与人数", "points_earned": "获得积分",
    "points_redeemed": "兑换积分", "redemptions": "兑换次数", "registry_participants": "辖区参与人数",
    "worker_id": "人员编号", "worker_name": "姓名", "score": "总分", "rank": "排名", "index": "烦恼指数",
    "residents": "实有人口", "households": "户数", "weighted_tickets": "加权诉求量", "session_id": "巡查段",
    "started_at": "开始", "ended_at": "结束", "km": "里程(km)", "points": "轨迹点", "kept_points": "有效点",
    "file": "文件", "rows_in": "读入行", "loaded": "加载", "quarantined": "隔离", "status": "状态",
    "reason": "原因", "row_number": "行号", "raw_row": "原始内容", "suite": "质量套件",
    "expectation": "检查项", "column_name": "列", "severity": "级别", "success": "通过",
    "unexpected_count": "不符合行数", "element_count": "检查行数", "observed": "观测值", "details": "示例",
    "ts": "时间", "username": "用户", "role": "角色", "action": "操作", "page": "页面", "filter": "筛选条件",
    "rows": "行数", "detail": "详情", "last_loaded_at": "最近加载", "files_loaded": "文件数",
    "rows_loaded": "加载行数", "rows_quarantined": "隔离行数", "warnings_failed": "未通过的警告",
    "entity": "实体", "balanced": "对账平", "warnings": "警告", "note": "事项", "visited_at": "走访时间",
    "address": "地址", "lon": "经度", "lat": "纬度", "installed_at": "安装时间", "last_event_at": "最近事件",
    "run_id": "运行编号", "as_of": "数据截止日", "finished_at": "完成时间", "version": "版本",
}

CSS = """
<style>
div[data-testid="stMetric"] {background: rgba(34,211,238,0.06); border: 1px solid rgba(34,211,238,0.25);
  border-radius: 10px; padding: 10px 14px;}
div[data-testid="stMetricValue"] {font-size: 2.1rem; font-weight: 700; color: #67e8f9;}
div[data-testid="stMetricLabel"] p {font-size: 0.95rem;}
.cockpit-banner {font-size: 0.9rem; color: #9fb3c8; margin-top: -0.6rem;}
.formula {font-size: 0.8rem; color: #9fb3c8;}
.block-container {padding-top: 2.2rem;}
</style>
"""


@st.cache_resource
def settings() -> Settings:
    return get_settings()


def state_dir():
    return settings().state_path()


def wh():
    return warehouse(settings().warehouse)


def current_user() -> auth.User | None:
    return st.session_state.get("user")


def audit(action: str, page: str | None = None, filter: dict | None = None, rows: int | None = None, detail: str | None = None):
    u = current_user()
    store.audit(state_dir(), u.username if u else "anonymous", u.role if u else None, action, page, filter, rows, detail)


# ---------- login ----------
def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def login_gate() -> auth.User:
    """The logged-in user; otherwise the login form, and the run stops. Expires idle sessions."""
    user = current_user()
    idle = settings().session_idle_minutes * 60
    now = time.time()
    if user is not None:
        if now - st.session_state.get("last_seen", now) > idle:
            audit("session_expired")
            for k in ("user", "last_seen"):
                st.session_state.pop(k, None)
            st.session_state["expired"] = True
        else:
            st.session_state["last_seen"] = now
            return user
    st.markdown("## 🏙️ 社区治理数字驾驶舱")
    if st.session_state.pop("expired", False):
        st.warning("会话因长时间未操作已过期，请重新登录。")
    with st.form("login"):
        username = st.text_input("用户名", key="login_username")
        password = st.text_input("密码", type="password", key="login_password")
        ok = st.form_submit_button("登录", type="primary")
    if ok:
        u = auth.authenticate(state_dir(), username.strip(), password)
        if u is None:
            store.audit(state_dir(), username.strip() or "?", None, "login_failed")
            st.error("用户名或密码错误，或账号已停用。")
        else:
            st.session_state["user"] = u
            st.session_state["last_seen"] = now
            audit("login")
            st.rerun()
    if _oidc_configured():
        if getattr(st.user, "is_logged_in", False):
            u = auth.get_user(state_dir(), st.user.get("email", ""))
            if u is None:
                st.error("单点登录账号未在本系统授权，请联系管理员。")
            else:
                st.session_state["user"] = u
                st.session_state["last_seen"] = now
                audit("login_oidc")
                st.rerun()
        elif st.button("单点登录 (OIDC)"):
            st.login()
    st.stop()


def logout() -> None:
    audit("logout")
    for k in ("user", "last_seen"):
        st.session_state.pop(k, None)
    if _oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def require(page: str) -> auth.User:
    """Stop the page unless the logged-in user's role may open it (checked again inside every page)."""
    user = current_user()
    if user is None:
        st.error("请先登录。")
        st.stop()
    if not user.may_open(page):
        audit("denied", page)
        st.error(f"无权访问：{user.role_label}角色不能打开此页面。")
        st.stop()
    return user


# ---------- filters ----------
def scope() -> Scope:
    return st.session_state.get("scope") or Scope()


def sidebar_filters(user: auth.User) -> Scope:
    from cockpit import queries as q

    w = wh()
    months = q.months(w)
    grid_df = q.grids(w)
    with st.sidebar:
        st.markdown("### 筛选")
        if months:
            labels = [m.strftime("%Y-%m") for m in months]
            default = (labels[max(0, len(labels) - 3)], labels[-1])
            lo, hi = st.select_slider("期间（月）", options=labels, value=st.session_state.get("f_period", default), key="f_period")
            month_from, month_to = months[labels.index(lo)], months[labels.index(hi)]
        else:
            month_from = month_to = None
        if user.role == "grid_worker":
            st.info(f"本人网格：{user.grid_code}")
            s = Scope(month_from, month_to, pinned_grid=user.grid_code)
        else:
            communities = sorted(grid_df["community"].unique().to_list())
            chosen_c = st.multiselect("社区", communities, key="f_communities", placeholder="全部社区")
            options = grid_df.filter(pl.col("community").is_in(chosen_c)) if chosen_c else grid_df
            grid_labels = {r["grid_code"]: f"{r['grid_code']} {r['grid_name']}" for r in options.iter_rows(named=True)}
            kept = [g for g in st.session_state.get("f_grids", []) if g in grid_labels]
            st.session_state["f_grids"] = kept
            chosen_g = st.multiselect(
                "网格", list(grid_labels), format_func=grid_labels.get, key="f_grids", placeholder="全部网格"
            )
            s = Scope(month_from, month_to, tuple(chosen_c), tuple(chosen_g))
    st.session_state["scope"] = s
    return s


def header(user: auth.User) -> None:
    from cockpit import queries as q

    info = q.as_of_and_publish(wh())
    published = info["published_at"].strftime("%Y-%m-%d %H:%M") if info["published_at"] else "—"
    with st.sidebar:
        st.markdown(
            f"**数据截止：{info['as_of']}**  \n最近发布：{published}  \n"
            f"用户：{user.display_name or user.username}（{user.role_label}）"
        )
        if st.button("退出登录", key="logout"):
            logout()
            st.rerun()


def no_data() -> None:
    st.error("尚无已发布的数据：请先运行 `cockpit demo` 或 `cockpit ingest`。")
    st.stop()


# ---------- figures ----------
def fmt_int(v) -> str:
    return "—" if v is None else f"{int(v):,}"


def fmt_rate(v) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def rate_delta(now, before) -> dict:
    """``st.metric`` arguments for a rate's change against the previous period, in percentage points to
    0.1: a change that rounds to nothing reads 持平 without arrow or colour (it showed "-0.0 个百分点" in
    red for −0.04 points)."""
    if now is None or before is None:
        return {"delta": None}
    points = round((now - before) * 100, 1)
    if points == 0:
        return {"delta": "持平", "delta_color": "off", "delta_arrow": "off"}
    return {"delta": f"{points:+.1f} 个百分点"}


def delta_count(now, before) -> str | None:
    if now is None or before is None:
        return None
    return f"{int(now) - int(before):+,}"


def date_axis(fig: go.Figure, by: str = "month") -> go.Figure:
    """A date x axis labelled the Chinese way: by month 2026-09, one tick a month; by day 09-06 (Plotly's
    default is English: "Aug 23 2026, Sep 6 …", every two weeks for monthly data)."""
    if by == "month":
        fig.update_xaxes(tickformat="%Y-%m", dtick="M1")
    else:
        fig.update_xaxes(tickformat="%m-%d")
    return fig


def style(fig: go.Figure, height: int = 340) -> go.Figure:
    fig.update_layout(
        template="plotly_dark",
        height=height,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        legend={"orientation": "h", "y": -0.2},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, sans-serif"},
    )
    return fig


# ---------- tables ----------
def zh(df: pl.DataFrame) -> pl.DataFrame:
    """Chinese headers; months shown as 2026-11."""
    months = [pl.col(c).dt.strftime("%Y-%m") for c in ("month",) if c in df.columns and df.schema[c] == pl.Date]
    if months:
        df = df.with_columns(months)
    return df.rename({c: COLUMN_LABELS.get(c, c) for c in df.columns})


def display_config(
    df: pl.DataFrame, rates: list[str] | None = None, one_decimal: list[str] | None = None
) -> tuple[pl.DataFrame, dict]:
    """A table's numbers as shown (exports keep the values): a rate as a percentage with one decimal, as the
    KPI cards show it (0.925 → 92.5%), and hours (or km) with one decimal. By default the rates are the
    float ``*_rate`` columns and the one-decimal ones the float ``*_hours``; missing text shows blank. Returns
    the frame to show (rates × 100) and its column config, keyed by the Chinese header."""
    floats = [c for c, t in df.schema.items() if t.is_float()]
    rates = [c for c in floats if c.endswith("_rate")] if rates is None else rates
    one_decimal = [c for c in floats if c.endswith("_hours")] if one_decimal is None else one_decimal
    config = {COLUMN_LABELS.get(c, c): st.column_config.NumberColumn(format="%.1f%%") for c in rates}
    config |= {COLUMN_LABELS.get(c, c): st.column_config.NumberColumn(format="%.1f") for c in one_decimal}
    # an empty text cell is blank, not Streamlit's "None" (志愿之星's grid of a volunteer from outside)
    return df.with_columns(pl.col(rates) * 100, pl.col(pl.String).fill_null("")), config


def excel_bytes(df: pl.DataFrame, sheet: str = "数据") -> bytes:
    buf = io.BytesIO()
    df.write_excel(buf, worksheet=sheet[:31], autofit=True)
    return buf.getvalue()


def table(
    df: pl.DataFrame,
    name: str,
    page: str,
    *,
    person_level: bool = False,
    filter: dict | None = None,
    total: int | None = None,
    height: int | None = None,
) -> None:
    """A table with Chinese headers and CSV / Excel export. Person-level tables are audited when
    shown (once per filter per session) and on every export."""
    shown, config = display_config(df)
    st.dataframe(zh(shown), hide_index=True, height=height or "auto", column_config=config)
    f = {**(filter or {}), "scope": scope_dict()}
    if person_level:
        key = "audited:" + hashlib.sha1(json.dumps([name, f], default=str, ensure_ascii=False).encode()).hexdigest()
        if not st.session_state.get(key):
            audit("view", page, f, df.height if total is None else total, name)
            st.session_state[key] = True
    export_buttons(df, name, page, person_level=person_level, filter=f, audit_rows=df.height)


# not streamlit_ace: a component declared outside a script run fails to load in the browser
HEAVY_MODULES = ("pandas", "plotly.express", "pydeck", "shapely.wkt", "xlsxwriter", "cockpit.sqlworker")


@st.cache_resource(show_spinner=False)
def warm_up() -> threading.Thread:
    """Import what the pages import, on a background thread started once per server process: a
    page's first visit otherwise pays ~1–2 s of imports (pandas, plotly.express, pydeck, shapely; sqlglot
    for 自助查询's checks)."""

    def run() -> None:
        for name in HEAVY_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:  # an optional page's module: that page says so itself
                pass

    t = threading.Thread(target=run, name="cockpit-warm-up", daemon=True)
    t.start()
    return t


def csv_bytes(df: pl.DataFrame) -> bytes:
    """CSV with Chinese headers, UTF-8 with a BOM so Excel opens it in the right encoding."""
    return zh(df).write_csv().encode("utf-8-sig")


def export_buttons(
    df: pl.DataFrame | Callable[[], pl.DataFrame], name: str, page: str, *, person_level: bool = False,
    filter: dict | None = None, audit_rows: int | None = None,
) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and Excel downloads with Chinese headers; audited for person-level data.

    The files are made when the button is clicked (a callable ``data``), not on every render: an
    Excel of a few thousand rows costs seconds, and a page shows several tables. ``df`` may itself
    be a callable, for an export bigger than what the page shows (every person of a filter)."""
    frame = df if callable(df) else (lambda: df)
    f = filter if filter is not None else {"scope": scope_dict()}
    c1, c2, _ = st.columns([1, 1, 6])
    stem = f"{name}_{date.today():%Y%m%d}"
    rows = audit_rows if audit_rows is not None else (None if callable(df) else df.height)
    args = lambda kind: (kind, page, f, rows, name)  # noqa: E731
    c1.download_button(
        "导出 CSV", lambda: csv_bytes(frame()), f"{stem}.csv", "text/csv", key=f"csv_{name}",
        on_click=audit if person_level else "ignore", args=args("export_csv") if person_level else None,
    )
    c2.download_button(
        "导出 Excel", lambda: excel_bytes(zh(frame()), name), f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"xlsx_{name}",
        on_click=audit if person_level else "ignore", args=args("export_xlsx") if person_level else None,
    )


def scope_dict() -> dict:
    s = scope()
    return {
        "months": [str(s.month_from) if s.month_from else None, str(s.month_to) if s.month_to else None],
        "communities": list(s.communities), "grids": list(s.grids), "pinned_grid": s.pinned_grid,
    }


def mask_frame(df: pl.DataFrame, unmasked: set[str]) -> pl.DataFrame:
    """Mask name / id_number / phone columns a role may not see in clear (values already masked stay so)."""
    fns = {"name": mask_name, "id_number": mask_id, "phone": mask_phone}
    cols = [
        pl.col(c).map_elements(fn, return_dtype=pl.String)
        for c, fn in fns.items()
        if c in df.columns and c not in unmasked and "*" not in "".join(df[c].drop_nulls().head(5).to_list())
    ]
    return df.with_columns(cols) if cols else df

