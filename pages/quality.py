"""数据质量 (admin): per run and file the reconciliation, the quarantine by reason (masked), the Great
Expectations results and where the Data Docs are."""

import re

import polars as pl
import streamlit as st

from cockpit import ui
from pipelines.schema import REASONS

user = ui.require("quality")
w = ui.wh()
st.title("数据质量")

runs = w.frame("select run_id, as_of, started_at, finished_at, status, version from meta.runs order by started_at desc")
ui.table(runs, "运行记录", "quality", height=min(38 + 35 * runs.height, 240))
if not runs.height:
    st.stop()
run = st.selectbox("运行", runs["run_id"].to_list(), key="quality_run")

st.subheader("对账：读入 = 加载 + 隔离")
files = w.frame(
    "select file, source, entity, status, rows_in, loaded, quarantined, rows_in = loaded + quarantined as balanced, warnings "
    "from meta.load_runs where run_id = ? order by file",
    [run],
)
bad = files.filter(~pl.col("balanced")).height
(st.success if bad == 0 else st.error)(f"{files.height} 个文件，{bad} 个对不上账。")
ui.table(files, "文件对账", "quality", height=300)

st.subheader("隔离数据")
reasons = w.frame("select reason, count(*) as n from meta.quarantine where run_id = ? group by reason order by n desc", [run])
if reasons.height:
    label = {r: f"{r} {REASONS.get(r, '')}（{n}）" for r, n in reasons.iter_rows()}
    reason = st.selectbox("原因", list(label), format_func=label.get, key="quarantine_reason")
    rows = w.frame(
        "select file, row_number, reason, raw_row from meta.quarantine where run_id = ? and reason = ? order by file, row_number limit 500",
        [run, reason],
    )
    ID = re.compile(r"(\d{6})\d{7,8}([\dXx]{4})")
    PHONE = re.compile(r"(1[3-9]\d)\d{4}(\d{4})")
    rows = rows.with_columns(
        pl.col("raw_row").map_elements(lambda t: PHONE.sub(r"\1****\2", ID.sub(r"\1********\2", t or "")), return_dtype=pl.String)
    )
    st.caption("原始内容中的身份证号与手机号已脱敏；查看记入审计日志。")
    ui.table(rows, "隔离行", "quality", person_level=True, filter={"run": run, "reason": reason}, height=300)
else:
    st.info("本次运行没有隔离数据。")

st.subheader("质量检查结果（Great Expectations）")
res = w.frame(
    "select suite, expectation, column_name, severity, success, unexpected_count, element_count, observed, details "
    "from meta.quality_results where run_id = ? order by success, severity, suite",
    [run],
)
failed = res.filter(~pl.col("success"))
c = st.columns(3)
c[0].metric("检查项", f"{res.height:,}")
c[1].metric("未通过（关键）", f"{failed.filter(pl.col('severity') == 'critical').height:,}")
c[2].metric("未通过（警告）", f"{failed.filter(pl.col('severity') == 'warning').height:,}")
ui.table(res, "质量检查", "quality", height=360)
docs = ui.settings().warehouse / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
st.markdown(f"Data Docs：`{docs.resolve()}`" + ("" if docs.exists() else "（未生成：data_docs 设置为关闭）"))
