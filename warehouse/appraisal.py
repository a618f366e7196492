"""Quarterly grid-worker appraisal: frozen snapshots, loading a quarter, the Excel export (SPEC §4, §6).

``mart.appraisal_quarter`` is rebuilt in every publish. Freezing a quarter writes its rows to
``<warehouse>/frozen/appraisal_<quarter>.parquet`` — outside the versioned files that each publish
replaces — and every later build takes that quarter's rows from the snapshot (``frozen = true``)
instead of recomputing them, so later loads cannot change a frozen ranking.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from warehouse.metrics import APPRAISAL_INDICATORS, SCORE_FORMULA
from warehouse.publish import connect_current

QUARTER = re.compile(r"^(\d{4})Q([1-4])$")

COLUMNS: tuple[tuple[str, str], ...] = (
    ("quarter", "VARCHAR"),
    ("worker_id", "VARCHAR"),
    ("grid_code", "VARCHAR"),
    *((i.key, "BIGINT" if i.unit == "" else "DOUBLE") for i in APPRAISAL_INDICATORS),
    *((f"{i.key}_score", "DOUBLE") for i in APPRAISAL_INDICATORS),
    ("score", "DOUBLE"),
    ("rank", "BIGINT"),
    ("frozen", "BOOLEAN"),
)


class AppraisalError(ValueError):
    """A usage problem (bad quarter, no data, nothing published): the CLI exits 2."""


@dataclass
class Quarter:
    quarter: str
    rows: pl.DataFrame  # mart.appraisal_quarter rows, ranked, plus the worker's name
    as_of: str
    frozen: bool
    frozen_at: str | None = None
    frozen_by: str | None = None
    weights: dict[str, float] | None = None


def check_quarter(quarter: str) -> str:
    q = quarter.strip().upper()
    if not QUARTER.match(q):
        raise AppraisalError(f"季度格式应为 YYYYQn，例如 2026Q3 (quarter must look like 2026Q3): {quarter!r}")
    return q


def frozen_dir(root: Path) -> Path:
    return Path(root) / "frozen"


def frozen_path(root: Path, quarter: str) -> Path:
    return frozen_dir(root) / f"appraisal_{quarter}.parquet"


def frozen_quarters(root: Path) -> list[str]:
    return sorted(p.stem.removeprefix("appraisal_") for p in frozen_dir(root).glob("appraisal_*.parquet"))


def load_frozen(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """(Re)create ``meta.appraisal_frozen`` from the snapshots, for the model to take frozen quarters from."""
    cols = ", ".join(f'"{n}" {t}' for n, t in COLUMNS)
    con.execute(f"create or replace table meta.appraisal_frozen ({cols})")
    names = ", ".join(f'"{n}"' for n, _ in COLUMNS)
    for q in frozen_quarters(root):
        con.execute(
            f"insert into meta.appraisal_frozen select {names} from read_parquet(?)", [str(frozen_path(root, q))]
        )


def _meta(root: Path, quarter: str) -> dict:
    side = frozen_path(root, quarter).with_suffix(".json")
    return json.loads(side.read_text(encoding="utf-8")) if side.exists() else {}


def load_quarter(root: Path, quarter: str, con: duckdb.DuckDBPyConnection | None = None) -> Quarter:
    """The quarter's ranking: from its frozen snapshot if there is one, else from the published mart."""
    quarter = check_quarter(quarter)
    own = con is None
    if own:
        try:
            con = connect_current(root)
        except FileNotFoundError as e:
            raise AppraisalError(str(e)) from e
    try:
        names = con.sql("select worker_id, name as worker_name from staging.stg_registry__workers").pl()
        as_of = str(con.execute("select as_of from meta.params").fetchone()[0])
        weights = dict(con.execute("select indicator, weight from meta.appraisal_weights").fetchall())
        path = frozen_path(root, quarter)
        if path.exists():
            rows = pl.read_parquet(path)
            meta = _meta(root, quarter)
            as_of, weights = meta.get("as_of", as_of), meta.get("weights", weights)
        else:
            rows = con.sql(
                "select * from mart.appraisal_quarter where quarter = ? order by rank, worker_id",
                params=[quarter],
            ).pl()
            meta = {}
    finally:
        if own:
            con.close()
    if rows.is_empty():
        raise AppraisalError(f"{quarter}: 该季度没有考核数据 (no appraisal rows for this quarter)")
    rows = rows.join(names, on="worker_id", how="left").sort(["rank", "worker_id"])
    return Quarter(
        quarter,
        rows,
        as_of,
        bool(path.exists()),
        meta.get("frozen_at"),
        meta.get("frozen_by"),
        weights,
    )


def freeze(root: Path, quarter: str, by: str = "cli") -> Quarter:
    """Snapshot the published quarter (idempotent: a frozen quarter stays as first frozen)."""
    quarter = check_quarter(quarter)
    path = frozen_path(root, quarter)
    if path.exists():
        return load_quarter(root, quarter)
    q = load_quarter(root, quarter)
    path.parent.mkdir(parents=True, exist_ok=True)
    snapshot = q.rows.select([n for n, _ in COLUMNS]).with_columns(pl.lit(True).alias("frozen"))
    tmp = path.with_suffix(".parquet.tmp")
    snapshot.write_parquet(tmp)
    meta = {
        "quarter": quarter,
        "frozen_at": datetime.now().isoformat(timespec="seconds"),
        "frozen_by": by,
        "as_of": q.as_of,
        "weights": q.weights,
    }
    side = path.with_suffix(".json")
    side.write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, path)  # the parquet file appearing is the moment of freezing
    return load_quarter(root, quarter)


def ranking_frame(q: Quarter) -> pl.DataFrame:
    """The ranking with Chinese headers: rank, worker, grid, score, each indicator's value and score."""
    cols = [
        pl.col("rank").alias("排名"),
        pl.col("worker_id").alias("人员编号"),
        pl.col("worker_name").alias("姓名"),
        pl.col("grid_code").alias("网格编码"),
        pl.col("score").round(2).alias("总分"),
    ]
    for i in APPRAISAL_INDICATORS:
        cols.append(pl.col(i.key).alias(i.label))
        cols.append(pl.col(f"{i.key}_score").round(2).alias(f"{i.label}得分"))
    return q.rows.select(cols)


def indicator_frame(q: Quarter, key: str) -> pl.DataFrame:
    ind = next(i for i in APPRAISAL_INDICATORS if i.key == key)
    return q.rows.select(
        pl.col("worker_id").alias("人员编号"),
        pl.col("worker_name").alias("姓名"),
        pl.col("grid_code").alias("网格编码"),
        pl.col(key).alias(f"{ind.label}（原始值）"),
        pl.col(f"{key}_score").round(2).alias("得分"),
        pl.col("rank").alias("总排名"),
    ).sort("得分", "人员编号", descending=[True, False])


def weights_frame(q: Quarter) -> pl.DataFrame:
    w = q.weights or {}
    return pl.DataFrame(
        {
            "指标": [i.key for i in APPRAISAL_INDICATORS],
            "名称": [i.label for i in APPRAISAL_INDICATORS],
            "说明": [i.description for i in APPRAISAL_INDICATORS],
            "方向": ["越少越好" if i.inverted else "越多越好" for i in APPRAISAL_INDICATORS],
            "权重": [float(w.get(i.key, 0.0)) for i in APPRAISAL_INDICATORS],
        }
    )


def export_xlsx(q: Quarter, out: Path) -> Path:
    """One workbook: 排名, one sheet per indicator, 权重, 说明 (quarter, as-of date, frozen)."""
    import xlsxwriter

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with xlsxwriter.Workbook(tmp) as wb:
        ranking_frame(q).write_excel(wb, worksheet="排名", autofit=True)
        for i in APPRAISAL_INDICATORS:
            indicator_frame(q, i.key).write_excel(wb, worksheet=i.label[:31], autofit=True)
        weights_frame(q).write_excel(wb, worksheet="权重", autofit=True)
        info = pl.DataFrame(
            {
                "项目": ["季度", "数据截止日", "状态", "冻结时间", "冻结人", "导出时间", "人数", "计分方法"],
                "内容": [
                    q.quarter,
                    q.as_of,
                    "已冻结 frozen" if q.frozen else "未冻结（后续数据更新会改变结果）",
                    q.frozen_at or "",
                    q.frozen_by or "",
                    datetime.now().isoformat(timespec="seconds"),
                    str(q.rows.height),
                    SCORE_FORMULA,
                ],
            }
        )
        info.write_excel(wb, worksheet="说明", autofit=True)
    os.replace(tmp, out)
    return out
