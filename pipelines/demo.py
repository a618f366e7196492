"""The demo street: a realistic, messy inbox generated deterministically from a seed (SPEC §2, §6).

Shaped like the seeds: one street of ~16 residential areas and ~40 micro-grids, ~650 buildings,
~35k residents with registry tags, workers per grid, a year of tickets over all four channels,
volunteer activities/records/redemptions, IoT devices and events, GPS patrol tracks and visits.
Every kind of mess of SPEC §2 is written, and bad rows of every SPEC §3 reason are planted with
known counts, returned (and written beside the inbox) as a manifest that the tests compare with.
The tests' fixtures come from this same code (``scale="tiny"``).
"""

from __future__ import annotations

import gzip
import io
import json
import math
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter
from faker import Faker

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK_CHARS = np.array(list("10X98765432"))
COUNTIES = ("310101", "310104", "310105", "310106", "310107", "310109", "310110")
LON0, LAT0 = 121.4560, 31.2050  # south-west corner of the demo street (瑞金二路 area, Shanghai)
CELL_LON, CELL_LAT = 0.0026, 0.00225  # one micro-grid ≈ 250 m × 250 m
STREET = "瑞金二路街道"
COMMUNITY_NAMES = (
    "瑞金一村",
    "瑞金二村",
    "思南",
    "复兴中路",
    "永嘉路",
    "建国中路",
    "太原路",
    "陕南村",
    "茂名南路",
    "绍兴路",
    "南昌路",
    "淮海中路",
    "长乐路",
    "锦江",
    "重庆南路",
    "嘉善路",
)
REGISTRY_TAGS = (
    "党员",
    "残疾人",
    "低保户",
    "退役军人",
    "独居老人",
    "慢性病患者",
    "失业人员",
    "育龄妇女",
    "楼组长",
    "志愿者骨干",
    "特扶家庭",
    "重点关注",
    "困境儿童",
    "优抚对象",
    "空巢老人",
    "高龄补贴",
    "新就业群体",
    "社区能人",
    "租户",
    "侨眷",
)
CATEGORIES = (
    "噪音扰民",
    "垃圾分类",
    "违章搭建",
    "楼道堆物",
    "电动车违规充电",
    "占道经营",
    "绿化养护",
    "路灯损坏",
    "下水道堵塞",
    "房屋漏水",
    "宠物扰民",
    "停车管理",
    "高空抛物",
    "电梯故障",
    "消防通道堵塞",
    "物业服务",
)
DEPARTMENTS = ("城管中队", "房管办", "市容所", "居委会", "物业公司", "市场监管所", "派出所", "绿化所")
ACTIVITY_TYPES = ("助老服务", "环境整治", "垃圾分类督导", "文明交通", "文化活动", "邻里互助", "防疫宣传")
OVERDRAWN_PLANTED = 3  # demo redemptions made before any points were earned: what 透支兑换 flags
ITEMS = (("大米5kg", 50), ("食用油", 40), ("理发券", 20), ("洗衣液", 30), ("电影票", 60), ("体检套餐", 120))
DEVICE_MIX = (
    ("烟感", 0.35),
    ("电动车充电", 0.08),
    ("电梯", 0.12),
    ("消防通道", 0.08),
    ("井盖", 0.07),
    ("水表", 0.2),
    ("电表", 0.1),
)


@dataclass(frozen=True)
class Scale:
    communities: int
    grids: int
    buildings: int
    persons: int
    tickets: int
    activities: int
    records: int
    redemptions: int
    devices: int
    event_days: int
    track_days: int
    tags_per_person: float
    tag_kinds: int
    xlsx: bool = True


SCALES = {
    "tiny": Scale(2, 4, 24, 600, 500, 12, 200, 40, 60, 10, 7, 1.2, 20),
    "street": Scale(16, 40, 650, 35_000, 20_000, 300, 8_000, 2_000, 3_000, 30, 90, 1.5, 20),
    "district": Scale(
        160, 600, 15_000, 1_000_000, 10_000_000, 8_000, 5_000_000, 500_000, 150_000, 120, 90, 20.0, 300, False
    ),
}

# Bad rows planted at every scale: (entity table, reason) → count. The tests compare meta.quarantine with this.
PLANTED: dict[tuple[str, str], int] = {
    ("registry__persons", "bad_id_checksum"): 12,
    ("registry__persons", "bad_id_format"): 3,
    ("registry__persons", "id_gender_mismatch"): 7,
    ("registry__persons", "id_birth_mismatch"): 5,
    ("registry__persons", "missing_required"): 4,
    ("registry__persons", "unknown_building"): 5,
    ("registry__persons", "duplicate_key"): 6,
    ("registry__persons", "bad_encoding_row"): 3,
    ("complaints__tickets", "missing_required"): 9,
    ("complaints__tickets", "bad_timestamp"): 6,
    ("complaints__tickets", "timestamps_out_of_order"): 8,
    ("complaints__tickets", "unknown_grid"): 6,
    ("complaints__tickets", "coordinates_out_of_area"): 5,
    ("complaints__tickets", "duplicate_key"): 4,
    ("complaints__tickets", "invalid_value"): 3,
    ("volunteers__records", "timestamps_out_of_order"): 3,
    ("volunteers__records", "negative_points"): 4,
    ("volunteers__records", "unknown_activity"): 2,
    ("volunteers__records", "bad_id_checksum"): 2,
    ("volunteers__redemptions", "negative_points"): 2,
    ("sensors__devices", "unknown_building"): 2,
    ("sensors__events", "bad_timestamp"): 5,
    ("sensors__events", "unknown_device"): 7,
    ("patrols__tracks", "coordinates_out_of_area"): 5,
    ("patrols__tracks", "unknown_worker"): 2,
    ("patrols__visits", "missing_required"): 3,
}


def id_numbers(county: np.ndarray, birth: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """Valid 18-digit ID numbers (GB 11643 check digit) from county codes, birth dates and 3-digit sequences."""
    body = np.char.add(
        np.char.add(
            county.astype(str),
            np.array([d.strftime("%Y%m%d") for d in birth.astype("datetime64[D]").astype(object)]),
        ),
        np.char.zfill(seq.astype(str), 3),
    )
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(-1, 17) - 48
    check = CHECK_CHARS[(digits @ ID_WEIGHTS) % 11]
    return np.char.add(body, check)


TS_STYLES = {
    "iso": "%Y-%m-%d %H:%M:%S",
    "slash": "%Y/%-m/%-d %-H:%M",
    "cn": "%Y年%-m月%-d日 %H:%M",
    "zoned": "%Y-%m-%dT%H:%M:%S+08:00",
}


def fmt_ts(col: pl.Expr, style: str) -> pl.Expr:
    """Local timestamps as text in one of the export styles of SPEC §2 ("utc": converted to UTC, with Z)."""
    if style == "utc":
        return (col - pl.duration(hours=8)).dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return col.dt.strftime(TS_STYLES[style])


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _unique_variant(v: str) -> str:
    """A different valid ID number of the same county, birth date and gender (so the planted row is new)."""
    v = "".join(chr(ord(c) - 0xFEE0) if "！" <= c <= "～" else c for c in v).strip().upper()  # full-width too
    seq = (int(v[14:17]) + 500) % 1000
    body = v[:14] + f"{seq:03d}"
    check = CHECK_CHARS[int(np.dot(np.frombuffer(body.encode(), np.uint8) - 48, ID_WEIGHTS)) % 11]
    return body + check


class Generator:
    def __init__(self, scale: str, seed: int, as_of: date):
        self.s = SCALES[scale]
        self.scale = scale
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.as_of = as_of
        self.end = np.datetime64(as_of + timedelta(days=1), "s")  # data up to the as-of date's end
        fake = Faker("zh_CN")
        fake.seed_instance(seed)
        self.surnames = sorted({fake.last_name() for _ in range(400)})
        self.given = sorted({c for _ in range(600) for c in fake.first_name()})
        self.files: dict[str, int] = {}

    # ---------- helpers ----------
    def names(self, n: int) -> np.ndarray:
        s = self.rng.choice(self.surnames, n)
        g1 = self.rng.choice(self.given, n)
        g2 = np.where(self.rng.random(n) < 0.7, self.rng.choice(self.given, n), "")
        return np.char.add(np.char.add(s, g1), g2)

    def phones(self, n: int) -> np.ndarray:
        p = self.rng.choice(["13", "15", "17", "18", "19"], n)
        return np.char.add(p, np.char.zfill(self.rng.integers(0, 10**9, n).astype(str), 9))

    def times(self, n: int, days: int) -> np.ndarray:
        """Random local times in the ``days`` dates ending on the as-of date, busier in the daytime."""
        day = self.rng.integers(0, days, n)
        hour = np.clip(self.rng.normal(13, 4, n), 0, 23.99)
        secs = (hour * 3600).astype(np.int64) // 60 * 60
        return (
            self.end
            - np.timedelta64(days, "D")
            + day.astype("timedelta64[D]")
            + secs.astype("timedelta64[s]")
        )

    def write(
        self,
        folder: Path,
        name: str,
        df: pl.DataFrame,
        *,
        encoding="utf-8",
        sep=",",
        gz=False,
        title: str | None = None,
        corrupt_rows: list[int] | None = None,
    ) -> None:
        path = folder / name
        folder.mkdir(parents=True, exist_ok=True)
        df = df.with_columns(pl.col(pl.Float64).fill_nan(None))
        if name.endswith(".xlsx"):
            self._xlsx(path, df, title)
        elif name.endswith((".jsonl", ".jsonl.gz")):
            text = (
                "\n".join(
                    json.dumps({k: v for k, v in r.items() if v is not None}, ensure_ascii=False)
                    for r in df.iter_rows(named=True)
                )
                + "\n"
            )
            data = text.encode("utf-8")
            path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        else:
            buf = io.StringIO()
            df.write_csv(buf, separator=sep, null_value="")
            text = buf.getvalue()
            if encoding == "utf-8-sig":
                data = b"\xef\xbb\xbf" + text.encode("utf-8")
            else:
                data = text.encode(encoding)
            if corrupt_rows:
                lines = data.split(b"\n")
                for r in corrupt_rows:  # r is the 0-based data record: line r + 1
                    lines[r + 1] = lines[r + 1].replace(sep.encode(), sep.encode() + b"\xff\xfe", 1)
                data = b"\n".join(lines)
            path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        self.files[str(path)] = df.height

    def _xlsx(self, path: Path, df: pl.DataFrame, title: str | None) -> None:
        wb = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "constant_memory": True})
        ws = wb.add_worksheet("Sheet1")
        datefmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        r = 0
        if title:
            ws.write(0, 0, title)
            r = 2  # a title row and a blank row above the header
        for c, h in enumerate(df.columns):
            ws.write_string(r, c, h)
        for row in df.iter_rows():
            r += 1
            for c, v in enumerate(row):
                if v is None:
                    continue
                if isinstance(v, datetime):
                    ws.write_datetime(r, c, v, datefmt)
                elif isinstance(v, float | int):
                    ws.write_number(r, c, v)
                else:
                    ws.write_string(r, c, str(v))
        wb.close()

    # ---------- registry ----------
    def registry(self, out: Path) -> None:
        s, rng = self.s, self.rng
        cols = math.ceil(math.sqrt(s.grids))
        gi = np.arange(s.grids)
        x0 = LON0 + (gi % cols) * CELL_LON
        y0 = LAT0 + (gi // cols) * CELL_LAT
        self.grid_codes = np.array([f"G{i + 1:03d}" for i in gi])
        community_of = gi * s.communities // s.grids
        cnames = [
            COMMUNITY_NAMES[c] if c < len(COMMUNITY_NAMES) else f"第{c + 1}社区" for c in range(s.communities)
        ]
        self.grid_cell = np.column_stack([x0, y0])
        wkt = [
            f"POLYGON(({a:.6f} {b:.6f}, {a + CELL_LON:.6f} {b:.6f}, {a + CELL_LON:.6f} {b + CELL_LAT:.6f}, "
            f"{a:.6f} {b + CELL_LAT:.6f}, {a:.6f} {b:.6f}))"
            for a, b in zip(x0, y0, strict=True)
        ]
        grids = pl.DataFrame(
            {
                "网格编码": self.grid_codes,
                "网格名称": [f"{cnames[c]}第{i + 1}网格" for i, c in zip(gi, community_of, strict=True)],
                "社区": [cnames[c] for c in community_of],
                "街道": STREET,
                "中心经度": np.round(x0 + CELL_LON / 2, 6),
                "中心纬度": np.round(y0 + CELL_LAT / 2, 6),
                "边界": wkt,
            }
        )
        self.write(out / "registry", "grids.csv", grids, encoding="utf-8-sig")

        # workers: one 网格长 and two 网格员 per grid, plus a 社工 and a 包挂干部
        posts = ["网格长", "网格员", "网格员", "社工", "包挂干部"]
        w_grid = np.repeat(self.grid_codes, len(posts))
        w_post = np.tile(posts, s.grids)
        self.worker_ids = np.array([f"W{i + 1:05d}" for i in range(len(w_grid))])
        self.worker_grid = w_grid
        self.worker_post = w_post
        phones = self.phones(len(w_grid))
        phones = np.array(
            [f"+86 {p[:3]}-{p[3:7]}-{p[7:]}" if i % 3 == 0 else p for i, p in enumerate(phones)]
        )
        workers = pl.DataFrame(
            {
                "人员编号": self.worker_ids,
                "姓名": self.names(len(w_grid)),
                "岗位": w_post,
                "网格编码": w_grid,
                "联系电话": phones,
            }
        )
        if s.xlsx:
            self.write(out / "registry", "workers.xlsx", workers, title=f"{STREET}网格人员信息表")
        else:
            self.write(out / "registry", "workers.csv", workers)

        # buildings spread over the grids, inside their cells
        b_grid_i = np.sort(rng.integers(0, s.grids, s.buildings))
        b_grid_i[: s.grids] = np.arange(min(s.grids, s.buildings))  # every grid has a building
        b_grid_i = np.sort(b_grid_i)
        self.b_codes = np.array([f"B{i + 1:05d}" for i in range(s.buildings)])
        self.b_grid = self.grid_codes[b_grid_i]
        self.b_lon = x0[b_grid_i] + rng.uniform(0.1, 0.9, s.buildings) * CELL_LON
        self.b_lat = y0[b_grid_i] + rng.uniform(0.1, 0.9, s.buildings) * CELL_LAT
        estates = np.array([f"{cnames[community_of[g]]}小区" for g in b_grid_i])
        self.b_estate = estates
        buildings = pl.DataFrame(
            {
                "楼栋编码": self.b_codes,
                "地址": [f"{e}{n % 60 + 1}号" for n, e in enumerate(estates)],
                "网格编码": self.b_grid,
                "小区": estates,
                "经度": np.round(self.b_lon, 6),
                "纬度": np.round(self.b_lat, 6),
                "户数": np.maximum(
                    1, (s.persons / s.buildings / 2.4 * rng.uniform(0.5, 1.5, s.buildings))
                ).astype(int),
            }
        )
        self.write(out / "registry", "buildings.csv", buildings, encoding="gbk", sep="\t")
        self.persons(out)

    def persons(self, out: Path) -> None:
        s, rng = self.s, self.rng
        n = s.persons
        # households of 1-5 people; about a fifth of the people aged 60+ live alone
        sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.22, 0.33, 0.25, 0.14, 0.06])
        hh_of = np.repeat(np.arange(n), sizes)[:n]
        n_hh = hh_of.max() + 1
        hh_building = rng.integers(0, s.buildings, n_hh)
        self.household_ids = np.array([f"H{i + 1:07d}" for i in range(n_hh)])
        self.hh_building = self.b_codes[hh_building]
        hh_size = np.bincount(hh_of, minlength=n_hh)
        age = np.clip(np.where(rng.random(n) < 0.3, rng.normal(72, 10, n), rng.normal(38, 17, n)), 0, 101)
        age = np.where(age < 0.05, rng.uniform(0.05, 18, n), age)  # no pile-up of babies on one birth date
        alone = hh_size[hh_of] == 1
        age = np.where(alone & (rng.random(n) < 0.55), rng.uniform(60, 95, n), age)
        as_of64 = np.datetime64(self.as_of, "D")
        birth = as_of64 - (age * 365.25).astype(int).astype("timedelta64[D]") - 1
        male = rng.random(n) < 0.49
        seq = rng.integers(0, 500, n) * 2 + male.astype(int)
        county = rng.choice(COUNTIES, n)
        ids = id_numbers(county, birth, seq)
        for attempt in range(60):  # keep the demo's ID numbers unique
            _, first = np.unique(ids, return_index=True)
            dup = np.setdiff1d(np.arange(n), first)
            if not len(dup):
                break
            if attempt >= 20:  # that birth date's sequence numbers are crowded: move a day earlier
                birth[dup] = birth[dup] - np.timedelta64(1, "D")
            seq[dup] = rng.integers(0, 500, len(dup)) * 2 + male[dup].astype(int)
            ids[dup] = id_numbers(county[dup], birth[dup], seq[dup])
        if len(np.unique(ids)) != n:
            raise RuntimeError("demo generator could not make unique ID numbers")
        self.person_ids = ids
        self.person_hh = self.household_ids[hh_of]
        self.person_age = age
        k = np.minimum(rng.poisson(s.tags_per_person, n), s.tag_kinds)
        pool = list(REGISTRY_TAGS) + [f"标签{i:03d}" for i in range(len(REGISTRY_TAGS), s.tag_kinds)]
        weights = 1 / np.arange(1, len(pool) + 1)
        weights /= weights.sum()
        seps = np.array([";", "；", "、", "|", ","])
        tags = []
        for i in range(n):
            t = list(rng.choice(pool, k[i], replace=False, p=weights)) if k[i] else []
            if alone[i] and age[i] >= 60 and rng.random() < 0.6:
                t.append("独居老人")
            t = list(dict.fromkeys(t))
            tags.append(seps[i % len(seps)].join(t) if t else None)
        residence = rng.choice(["户籍", "常住", "流动", "租住"], n, p=[0.6, 0.2, 0.1, 0.1])
        political = np.where(rng.random(n) < 0.12, "中共党员", np.where(age < 28, "共青团员", "群众"))
        updated = self.times(n, 365)
        ids_out = ids.astype(object)
        messy = rng.random(n)
        for i in np.flatnonzero(messy < 0.02):
            ids_out[i] = _fullwidth(ids[i])
        for i in np.flatnonzero((messy > 0.98) & (np.char.endswith(ids, "X"))):
            ids_out[i] = ids[i].lower()
        for i in np.flatnonzero((messy > 0.5) & (messy < 0.52)):
            ids_out[i] = f" {ids[i]} "
        df = pl.DataFrame(
            {
                "姓名": self.names(n),
                "公民身份号码": ids_out.astype(str),
                "性别": np.where(male, "男", "女"),
                "出生日期": birth.astype("datetime64[us]"),
                "联系电话": self.phones(n),
                "户号": self.person_hh,
                "楼栋编码": self.hh_building[hh_of],
                "房号": [f"{r}室" for r in rng.integers(101, 1802, n)],
                "与户主关系": np.where(
                    np.r_[True, hh_of[1:] != hh_of[:-1]],
                    "户主",
                    rng.choice(["配偶", "子女", "父母", "其他"], n),
                ),
                "居住类型": residence,
                "政治面貌": political,
                "人员标签": tags,
                "更新时间": updated.astype("datetime64[us]"),
            }
        )
        df = df.with_row_index("__i")
        half = df.height // 2
        plant = self._plant_persons(df.slice(half))  # planted beside their originals, in the second file
        df = pl.concat([df, plant], how="vertical_relaxed").drop("__i")
        # half the registry as a GB18030 CSV with Chinese headers and a few undecodable rows;
        # the other half as an Excel workbook with a title row, English headers and Excel date cells
        first = (
            df.slice(0, half)
            .with_columns(
                pl.col("出生日期").dt.strftime("%Y年%-m月%-d日"),
                pl.col("更新时间").dt.strftime("%Y-%m-%d %H:%M:%S"),
                pl.col("联系电话").map_elements(
                    lambda p: f"+86 {p[:3]} {p[3:7]} {p[7:]}" if p and p[-1] in "13" else p,
                    return_dtype=pl.String,
                ),
            )
            .with_columns(pl.lit("无").alias("备注"))
        )
        k = PLANTED[("registry__persons", "bad_encoding_row")]
        bad_rows = [half * (i + 1) // (k + 1) for i in range(k)]
        self.write(out / "registry", "persons_part1.csv", first, encoding="gb18030", corrupt_rows=bad_rows)
        second = df.slice(half).rename(
            {
                "姓名": "name",
                "公民身份号码": "id_number",
                "性别": "gender",
                "出生日期": "birth_date",
                "联系电话": "phone",
                "户号": "household_id",
                "楼栋编码": "building_code",
                "房号": "room",
                "与户主关系": "relation",
                "居住类型": "residence_type",
                "政治面貌": "political_status",
                "人员标签": "tags",
                "更新时间": "updated_at",
            }
        )
        if self.s.xlsx:
            self.write(out / "registry", "persons_part2.xlsx", second, title=f"{STREET}人口信息表")
        else:
            self.write(
                out / "registry",
                "persons_part2.csv.gz",
                second.with_columns(
                    pl.col("birth_date").dt.strftime("%Y/%-m/%-d"),
                    pl.col("updated_at").dt.strftime("%Y/%-m/%-d %-H:%M"),
                ),
                gz=True,
            )

    def _plant_persons(self, df: pl.DataFrame) -> pl.DataFrame:
        """Bad registry rows, appended after the clean ones (mixed into both halves by a shuffle)."""
        rng = self.rng
        base = df.sample(60, seed=int(rng.integers(1 << 30)))
        rows = []

        def take(k):
            nonlocal base
            part, base = base.head(k), base.slice(k)
            return part

        p = PLANTED
        part = take(p[("registry__persons", "bad_id_checksum")])
        rows.append(
            part.with_columns(
                pl.col("公民身份号码").map_elements(
                    lambda v: v.strip()[:17] + ("0" if v.strip()[17] != "0" else "1"), return_dtype=pl.String
                ),
                pl.lit(None, pl.String).alias("性别"),
                pl.lit(None).cast(pl.Datetime("us")).alias("出生日期"),
            )
        )
        part = take(p[("registry__persons", "bad_id_format")])
        rows.append(part.with_columns(pl.col("公民身份号码").str.strip_chars().str.slice(0, 15)))
        part = take(p[("registry__persons", "id_gender_mismatch")])
        rows.append(
            part.with_columns(
                pl.when(pl.col("性别") == "男").then(pl.lit("女")).otherwise(pl.lit("男")).alias("性别"),
                pl.col("公民身份号码").map_elements(_unique_variant, return_dtype=pl.String),
            )
        )
        part = take(p[("registry__persons", "id_birth_mismatch")])
        rows.append(
            part.with_columns(
                (pl.col("出生日期") + pl.duration(days=40)).alias("出生日期"),
                pl.col("公民身份号码").map_elements(_unique_variant, return_dtype=pl.String),
            )
        )
        part = take(p[("registry__persons", "missing_required")])
        rows.append(
            part.with_columns(
                pl.lit(None, pl.String).alias("姓名"),
                pl.col("公民身份号码").map_elements(_unique_variant, return_dtype=pl.String),
            )
        )
        part = take(p[("registry__persons", "unknown_building")])
        rows.append(
            part.with_columns(
                pl.lit("B99999").alias("楼栋编码"),
                pl.col("公民身份号码").map_elements(_unique_variant, return_dtype=pl.String),
            )
        )
        # the same person twice in a file: an older copy (updated a year earlier) is the duplicate
        part = take(p[("registry__persons", "duplicate_key")])
        rows.append(part.with_columns((pl.col("更新时间") - pl.duration(days=400)).alias("更新时间")))
        self.dup_person_rows = part["__i"].to_list()
        planted = pl.concat(rows, how="vertical_relaxed")
        return planted

    # ---------- complaints ----------
    def tickets(self, out: Path) -> None:
        s, rng = self.s, self.rng
        n = s.tickets
        reported = np.sort(self.times(n, 365))
        source = rng.choice(["你拍我办", "12345", "网格巡查", "数字吹哨"], n, p=[0.35, 0.35, 0.2, 0.1])
        category = rng.choice(CATEGORIES, n)
        urgent = rng.random(n) < 0.1
        b = rng.integers(0, s.buildings, n)
        loc = rng.random(n)  # 80% a building, 10% coordinates only, 10% a grid code only
        grid_i = rng.integers(0, s.grids, n)
        lon = np.where(loc >= 0.9, self.grid_cell[grid_i, 0] + rng.uniform(0.1, 0.9, n) * CELL_LON, np.nan)
        lat = np.where(loc >= 0.9, self.grid_cell[grid_i, 1] + rng.uniform(0.1, 0.9, n) * CELL_LAT, np.nan)
        building = np.where(loc < 0.8, self.b_codes[b], None)
        grid = np.where((loc >= 0.8) & (loc < 0.9), self.grid_codes[grid_i], None)
        ticket_grid = np.where(loc < 0.8, self.b_grid[b], self.grid_codes[grid_i])
        h = lambda mean, sd: np.exp(rng.normal(np.log(mean), sd, n)) * 3600  # noqa: E731  lognormal hours
        dispatched = reported + (rng.uniform(0.05, 1.5, n) * 3600).astype("timedelta64[s]")
        responded = dispatched + np.where(urgent, h(1.0, 0.8), h(8, 0.9)).astype("timedelta64[s]")
        resolved = responded + np.where(urgent, h(20, 0.7), h(70, 0.8)).astype("timedelta64[s]")
        closed = resolved + (rng.uniform(0, 48, n) * 3600).astype("timedelta64[s]")
        nat = np.datetime64("NaT")
        responded = np.where((rng.random(n) < 0.05) | (responded > self.end), nat, responded)
        resolved = np.where(
            np.isnat(responded) | (rng.random(n) < 0.08) | (resolved > self.end), nat, resolved
        )
        closed = np.where(np.isnat(resolved) | (closed > self.end), nat, closed)
        # the grid's own workers handle tickets from patrols and most others
        # a ticket's handler: its grid's 网格长 or one of its 网格员, for 85% of tickets
        crew = np.array(
            [
                np.flatnonzero((self.worker_grid == g) & np.isin(self.worker_post, ["网格长", "网格员"]))
                for g in self.grid_codes
            ]
        )
        t_grid_i = np.searchsorted(self.grid_codes, ticket_grid)
        pick = crew[t_grid_i, rng.integers(0, crew.shape[1], n)]
        handler = np.where(rng.random(n) < 0.85, self.worker_ids[pick], None)
        satisfaction = np.where(
            np.isnat(resolved),
            None,
            rng.choice(["满意", "基本满意", "不满意", ""], n, p=[0.68, 0.17, 0.06, 0.09]),
        )
        satisfaction = np.where(satisfaction == "", None, satisfaction)
        status = np.where(~np.isnat(closed), "已结案", np.where(~np.isnat(resolved), "已办结", "处理中"))
        reporter = np.where(
            (np.isin(source, ["你拍我办", "12345"])) & (rng.random(n) < 0.6),
            rng.choice(self.person_ids, n),
            None,
        )
        self.ticket_ids = np.array([f"T{i + 1:08d}" for i in range(n)])
        df = pl.DataFrame(
            {
                "工单编号": self.ticket_ids,
                "来源": source,
                "诉求类型": category,
                "诉求内容": [f"{c}，请尽快处理" for c in category],
                "紧急程度": np.where(urgent, "紧急", "一般"),
                "楼栋编码": building.tolist(),
                "地址": None,
                "网格编码": grid.tolist(),
                "经度": np.round(lon, 6),
                "纬度": np.round(lat, 6),
                "上报时间": reported.astype("datetime64[us]"),
                "派单时间": dispatched.astype("datetime64[us]"),
                "响应时间": responded.astype("datetime64[us]"),
                "办结时间": resolved.astype("datetime64[us]"),
                "结案时间": closed.astype("datetime64[us]"),
                "承办部门": rng.choice(DEPARTMENTS, n),
                "处理人编号": handler.tolist(),
                "满意度": satisfaction.tolist(),
                "状态": status,
                "诉求人身份证号": reporter.tolist(),
            },
            schema_overrides={"地址": pl.String},
        )
        stamps = ("上报时间", "派单时间", "响应时间", "办结时间", "结案时间")
        df = df.with_columns(pl.col(c).cast(pl.Datetime("us")) for c in stamps)
        df = df.with_columns((pl.max_horizontal(*stamps) + pl.duration(minutes=1)).alias("更新时间"))
        month = df["上报时间"].dt.strftime("%Y-%m")
        df = df.with_columns(month.alias("__month"), pl.Series("__i", np.arange(n)))
        # an earlier version (still 处理中) of 5% of the closed tickets, in a file that sorts after the newer one
        old = (
            df.filter(pl.col("结案时间").is_not_null())
            .sample(fraction=0.05, seed=int(rng.integers(1 << 30)))
            .with_columns(
                pl.lit(None).cast(pl.Datetime("us")).alias("办结时间"),
                pl.lit(None).cast(pl.Datetime("us")).alias("结案时间"),
                pl.lit(None, pl.String).alias("满意度"),
                pl.lit("处理中").alias("状态"),
                (pl.col("响应时间").fill_null(pl.col("派单时间")) + pl.duration(minutes=5)).alias("更新时间"),
            )
        )
        self.ticket_versions = old.height
        planted = self._plant_tickets(df)
        df = pl.concat([df, planted], how="vertical_relaxed").sort("上报时间", "__i")
        months = sorted(df["__month"].unique().to_list())
        styles = ["iso", "slash", "cn", "zoned", "utc"]
        for k, m in enumerate(months):
            part = df.filter(pl.col("__month") == m).drop("__month", "__i")
            platform = part.filter(pl.col("来源") != "12345")
            hotline = part.filter(pl.col("来源") == "12345")
            style = styles[k % len(styles)]
            self._ticket_file(out, f"platform_{m}", platform, style, k)
            self._ticket_file(out, f"hotline12345_{m}", hotline, "slash" if style == "iso" else style, k + 1)
        self.write(
            out / "complaints", "zz_backlog_versions.csv", self._ts_str(old.drop("__month", "__i"), "iso")
        )
        # the same export delivered twice under another name: skipped by its content hash
        first = sorted((out / "complaints").glob("platform_*"))[0]
        resend = first.name.replace(".", "_resend.", 1)  # sorts after the original
        shutil.copyfile(first, out / "complaints" / resend)
        self.skipped_files = ["complaints/" + resend]
        self._open311(out, df.filter(pl.col("来源") == "12345").head(0))

    def _ts_str(self, df: pl.DataFrame, style: str) -> pl.DataFrame:
        cols = [c for c, t in df.schema.items() if isinstance(t, pl.Datetime)]
        return df.with_columns(fmt_ts(pl.col(c), style) for c in cols)

    def _ticket_file(self, out: Path, stem: str, part: pl.DataFrame, style: str, k: int) -> None:
        if part.height == 0:
            return
        bad = pl.col("工单编号").is_in(self.bad_ts_ids)
        if stem.startswith("hotline") and k % 3 == 1:  # GBK, tab-delimited, English headers
            text = self._ts_str(part, "slash").with_columns(
                pl.when(bad).then(pl.lit("2026/13/45 25:00")).otherwise(pl.col("上报时间")).alias("上报时间")
            )
            eng = text.rename(
                {
                    "工单编号": "ticket_id",
                    "来源": "source",
                    "诉求类型": "category",
                    "诉求内容": "content",
                    "紧急程度": "urgency",
                    "楼栋编码": "building_code",
                    "地址": "address",
                    "网格编码": "grid_code",
                    "经度": "lon",
                    "纬度": "lat",
                    "上报时间": "reported_at",
                    "派单时间": "dispatched_at",
                    "响应时间": "responded_at",
                    "办结时间": "resolved_at",
                    "结案时间": "closed_at",
                    "承办部门": "department",
                    "处理人编号": "handler_id",
                    "满意度": "satisfaction",
                    "状态": "status",
                    "更新时间": "updated_at",
                    "诉求人身份证号": "reporter_id_number",
                }
            )
            self.write(out / "complaints", f"{stem}.csv", eng, encoding="gbk", sep="\t")
            return
        if self.s.xlsx and stem.startswith("platform") and k % 4 == 2 and part.filter(bad).height == 0:
            self.write(
                out / "complaints", f"{stem}.xlsx", part, title="你拍我办平台工单导出"
            )  # Excel date cells
            return
        text = self._ts_str(part, style).with_columns(
            pl.when(bad).then(pl.lit("2026-13-45 25:00:00")).otherwise(pl.col("上报时间")).alias("上报时间")
        )
        if k % 4 == 3:
            self.write(out / "complaints", f"{stem}.csv.gz", text, gz=True)
        else:
            self.write(out / "complaints", f"{stem}.csv", text)

    def _plant_tickets(self, df: pl.DataFrame) -> pl.DataFrame:
        rng, p = self.rng, PLANTED
        base = df.sample(60, seed=int(rng.integers(1 << 30)))
        rows = []
        counter = iter(range(1, 1000))

        def take(k):
            nonlocal base
            part, base = base.head(k), base.slice(k)
            return part.with_columns(
                pl.Series("工单编号", [f"X{next(counter):07d}" for _ in range(part.height)])
            )

        rows.append(
            take(p[("complaints__tickets", "missing_required")]).with_columns(
                pl.lit(None, pl.String).alias("诉求类型")
            )
        )
        rows.append(
            take(p[("complaints__tickets", "invalid_value")]).with_columns(pl.lit("微信群").alias("来源"))
        )
        part = take(p[("complaints__tickets", "timestamps_out_of_order")])
        rows.append(
            part.with_columns(
                (pl.col("上报时间") - pl.duration(hours=3)).alias("派单时间"),
                (pl.col("上报时间") + pl.duration(hours=1)).alias("响应时间"),
            )
        )
        part = take(p[("complaints__tickets", "unknown_grid")])
        rows.append(
            part.with_columns(pl.lit("G999").alias("网格编码"), pl.lit(None, pl.String).alias("楼栋编码"))
        )
        part = take(p[("complaints__tickets", "coordinates_out_of_area")])
        k = part.height
        rows.append(
            part.with_columns(
                pl.lit(None, pl.String).alias("网格编码"),
                pl.lit(None, pl.String).alias("楼栋编码"),
                pl.Series(
                    "经度", [0.0 if i % 2 == 0 else LAT0 for i in range(k)]
                ),  # zero, or lon/lat swapped
                pl.Series("纬度", [0.0 if i % 2 == 0 else LON0 for i in range(k)]),
            )
        )
        # bad timestamps are planted as text after formatting (see _bad_ts) — marked by this id prefix
        part = take(p[("complaints__tickets", "bad_timestamp")])
        self.bad_ts_ids = part["工单编号"].to_list()
        rows.append(part)
        dup = take(p[("complaints__tickets", "duplicate_key")])
        rows.append(dup)
        rows.append(dup)  # the same ticket and 更新时间 twice in one file: the second is the duplicate
        return pl.concat(rows, how="vertical_relaxed")

    def _open311(self, out: Path, _unused: pl.DataFrame) -> None:
        """A small 12345 export in Open311 GeoReport v2 form (zoned timestamps, open/closed)."""
        rng = self.rng
        reqs = []
        for i in range(min(40, self.s.tickets // 10)):
            g = int(rng.integers(0, self.s.grids))
            t = self.times(1, 30)[0].astype(datetime)
            closed = i % 3 != 0
            reqs.append(
                {
                    "service_request_id": f"O311-{i + 1:05d}",
                    "status": "closed" if closed else "open",
                    "service_name": str(rng.choice(CATEGORIES)),
                    "service_code": "001",
                    "description": "市民来电反映",
                    "agency_responsible": str(rng.choice(DEPARTMENTS)),
                    "requested_datetime": t.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    "updated_datetime": (t + timedelta(hours=30)).strftime("%Y-%m-%dT%H:%M:%S+08:00"),
                    "address": f"{STREET}某路{i + 1}号",
                    "lat": round(float(self.grid_cell[g, 1] + CELL_LAT / 2), 6),
                    "long": round(float(self.grid_cell[g, 0] + CELL_LON / 2), 6),
                }
            )
        path = out / "complaints" / "open311_requests.json"
        path.write_text(json.dumps(reqs, ensure_ascii=False, indent=1), encoding="utf-8")
        self.files[str(path)] = len(reqs)

    # ---------- volunteers ----------
    def volunteers(self, out: Path) -> None:
        s, rng, p = self.s, self.rng, PLANTED
        na = s.activities
        start = np.sort(self.times(na, 365))
        dur = (rng.choice([2, 3, 4], na) * 3600).astype("timedelta64[s]")
        atype = rng.choice(ACTIVITY_TYPES, na)
        self.activity_ids = np.array([f"A{i + 1:05d}" for i in range(na)])
        acts = pl.DataFrame(
            {
                "活动编号": self.activity_ids,
                "活动名称": [f"{t}·第{i + 1}期" for i, t in enumerate(atype)],
                "活动类型": atype,
                "网格编码": rng.choice(self.grid_codes, na),
                "开始时间": start.astype("datetime64[us]"),
                "结束时间": (start + dur).astype("datetime64[us]"),
            }
        )
        self.write(out / "volunteers", "activities.csv", self._ts_str(acts, "iso"))
        # volunteers: a pool of adult residents, plus people from outside the registry (非辖区)
        adults = np.flatnonzero(self.person_age >= 18)
        pool = rng.choice(self.person_ids[adults], max(10, len(adults) // 12), replace=False)
        outside = id_numbers(
            np.array(["320102"] * 40), np.full(40, np.datetime64("1985-06-01")), np.arange(40) * 2 + 1
        )
        nr = s.records
        act = rng.integers(0, na, nr)
        who = np.where(rng.random(nr) < 0.97, rng.choice(pool, nr), rng.choice(outside, nr))
        cin = start[act] + (rng.uniform(-0.3, 0.3, nr) * 3600).astype("timedelta64[s]")
        cout = cin + (rng.uniform(1, 4, nr) * 3600).astype("timedelta64[s]")
        cout = np.where(rng.random(nr) < 0.05, np.datetime64("NaT"), cout)  # forgot to sign out: no hours
        rec = pl.DataFrame(
            {
                "记录编号": [f"R{i + 1:07d}" for i in range(nr)],
                "活动编号": self.activity_ids[act],
                "身份证号": who,
                "签到时间": cin.astype("datetime64[us]"),
                "签退时间": cout.astype("datetime64[us]"),
                "获得积分": rng.choice([5, 10, 15, 20], nr).astype(float),
            }
        )
        earned = rec.select(
            pl.col("身份证号").alias("who"),
            pl.coalesce("签退时间", "签到时间").alias("at"),  # the mart counts points from sign-out (else sign-in)
            pl.col("获得积分").alias("points"),
        )
        k = iter(range(1, 100))
        bad = rec.sample(20, seed=int(rng.integers(1 << 30)))
        planted = []
        for reason, fn in (
            (
                "timestamps_out_of_order",
                lambda d: d.with_columns((pl.col("签到时间") - pl.duration(hours=2)).alias("签退时间")),
            ),
            ("negative_points", lambda d: d.with_columns(pl.lit(-10.0).alias("获得积分"))),
            ("unknown_activity", lambda d: d.with_columns(pl.lit("A99999").alias("活动编号"))),
            (
                "bad_id_checksum",
                lambda d: d.with_columns(
                    pl.col("身份证号").map_elements(
                        lambda v: v[:17] + ("0" if v[17] != "0" else "1"), return_dtype=pl.String
                    )
                ),
            ),
        ):
            c = p[("volunteers__records", reason)]
            planted.append(
                fn(bad.head(c)).with_columns(pl.Series("记录编号", [f"RX{next(k):05d}" for _ in range(c)]))
            )
            bad = bad.slice(c)
        rec = pl.concat([rec, *planted]).with_columns(pl.col("获得积分").cast(pl.String))
        self.write(out / "volunteers", "records_2026.jsonl.gz", self._ts_str(rec, "zoned"), gz=True)
        red = self._redemptions(earned, s.redemptions)
        c = p[("volunteers__redemptions", "negative_points")]
        red = pl.concat(
            [
                red,
                red.head(c).with_columns(
                    pl.lit(-30.0).alias("消耗积分"), pl.Series("兑换编号", [f"DX{i:04d}" for i in range(c)])
                ),
            ]
        )
        if s.xlsx:
            self.write(out / "volunteers", "redemptions.xlsx", red, title="积分兑换记录")
        else:
            self.write(out / "volunteers", "redemptions.csv", red)

    def _redemptions(self, earned: pl.DataFrame, n: int) -> pl.DataFrame:
        """Up to ``n`` redemptions, each covered by what its volunteer had earned by that day, as a points
        exchange allows, except OVERDRAWN_PLANTED ones dated before the volunteer's first points (the
        cockpit's 透支兑换 flag). Candidates are kept while the volunteer's running total of *all*
        candidates so far stays within their points, so the kept ones never overdraw; where volunteers
        earn little, few are kept (street: ≈350 of 2,000)."""
        rng = self.rng
        m = n + n // 2 + OVERDRAWN_PLANTED
        item = rng.integers(0, len(ITEMS), m)
        who = rng.choice(earned["who"].to_numpy(), m)  # volunteers, as often as they serve
        # the early (overdrawing) ones: the cheapest item, for the volunteers who earn most later, so no
        # balance ends below zero
        per = earned.group_by("who").agg(pl.col("points").sum(), pl.col("at").min().dt.truncate("1d").alias("first_day"))
        top = per.sort("points", "who", descending=[True, False])
        who[:OVERDRAWN_PLANTED] = top["who"].head(OVERDRAWN_PLANTED).to_numpy()
        item[:OVERDRAWN_PLANTED] = min(range(len(ITEMS)), key=lambda i: ITEMS[i][1])
        cand = pl.DataFrame(
            {
                "who": who,
                "item": item,
                "cost": np.array([float(ITEMS[i][1]) for i in item]),
                "day": self.times(m, 300).astype("datetime64[D]").astype("datetime64[us]"),  # date only: midnight
                "forced": np.arange(m) < OVERDRAWN_PLANTED,
            }
        ).with_row_index("seq")
        cand = (
            cand.join(per.select("who", "first_day"), on="who", how="left")
            .with_columns(pl.when("forced").then("first_day").otherwise("day").alias("day"))  # before any points
            .drop("first_day")
            .sort("day", "seq")
        )
        ledger = earned.sort("at").with_columns(pl.col("points").cum_sum().over("who").alias("earned_by"))
        cand = (
            cand.join_asof(  # both sorted by time overall, so within each volunteer too
                ledger.select("who", "at", "earned_by"), left_on="day", right_on="at", by="who", check_sortedness=False
            )
            .with_columns(pl.col("earned_by").fill_null(0.0), pl.col("cost").cum_sum().over("who").alias("spent_by"))
            .filter(pl.col("forced") | (pl.col("spent_by") <= pl.col("earned_by")))
        )
        keep = cand.filter("forced").vstack(cand.filter(~pl.col("forced")).head(n - OVERDRAWN_PLANTED))
        keep = keep.sort("day", "seq")  # ids in the order the running totals were taken (the mart's tie-break)
        return pl.DataFrame(
            {
                "兑换编号": [f"D{i + 1:06d}" for i in range(keep.height)],
                "身份证号": keep["who"],
                "兑换项目": [ITEMS[i][0] for i in keep["item"]],
                "消耗积分": keep["cost"],
                "兑换时间": keep["day"].dt.strftime("%Y-%m-%d"),
            }
        )

    # ---------- sensors ----------
    def sensors(self, out: Path) -> None:
        s, rng, p = self.s, self.rng, PLANTED
        n = s.devices
        types = rng.choice([t for t, _ in DEVICE_MIX], n, p=[w for _, w in DEVICE_MIX])
        # water meters first go to the households of people living alone aged 60+ (care alerts)
        alone_old = np.unique(self.person_hh[(self.person_age >= 60)])
        hh = np.where(np.isin(types, ["水表", "电表"]), rng.choice(alone_old, n), None)
        b = rng.integers(0, s.buildings, n)
        bcode = np.where(hh != None, None, self.b_codes[b])  # noqa: E711
        hh_b = dict(zip(self.household_ids, self.hh_building, strict=True))
        bcode = np.array(
            [hh_b[h] if h is not None else c for h, c in zip(hh, bcode, strict=True)], dtype=object
        )
        self.device_ids = np.array(
            [
                f"D{t[:1]}{i + 1:06d}".replace("D烟", "SMK")
                .replace("D电", "ELE")
                .replace("D水", "WTR")
                .replace("D消", "FIR")
                .replace("D井", "MAN")
                for i, t in enumerate(types)
            ]
        )
        dev = pl.DataFrame(
            {
                "设备编号": self.device_ids,
                "设备类型": types,
                "楼栋编码": bcode.tolist(),
                "户号": hh.tolist(),
                "网格编码": None,
                "经度": None,
                "纬度": None,
                "安装时间": [d.date().isoformat() for d in self.times(n, 700).astype(datetime)],
            },
            schema_overrides={"网格编码": pl.String, "经度": pl.Float64, "纬度": pl.Float64},
        )
        c = p[("sensors__devices", "unknown_building")]
        dev = pl.concat(
            [
                dev,
                dev.head(c).with_columns(
                    pl.lit("B99999").alias("楼栋编码"),
                    pl.Series("设备编号", [f"DXX{i:04d}" for i in range(c)]),
                ),
            ]
        )
        self.write(out / "sensors", "devices.csv", dev)
        # events: a daily heartbeat, alarms, faults, and cumulative water-meter readings every 6 hours
        days = s.event_days
        rows_dev, rows_ts, rows_type, rows_val, rows_disp = [], [], [], [], []
        beat = np.repeat(np.arange(n), days)
        rows_dev.append(beat)
        rows_ts.append(
            self.end
            - np.timedelta64(days, "D")
            + np.tile(np.arange(days), n).astype("timedelta64[D]")
            + rng.integers(0, 86400, n * days).astype("timedelta64[s]")
        )
        rows_type.append(np.full(n * days, "心跳"))
        rows_val.append(np.full(n * days, np.nan))
        rows_disp.append(np.full(n * days, None, dtype=object))
        na = int(n * days * 0.02)
        alarm_dev = rng.choice(np.flatnonzero(types != "水表"), na)
        rows_dev.append(alarm_dev)
        rows_ts.append(self.times(na, days))
        rows_type.append(rng.choice(["告警", "故障"], na, p=[0.8, 0.2]))
        rows_val.append(np.full(na, np.nan))
        rows_disp.append(rng.choice(["有效", "误报", None], na, p=[0.25, 0.6, 0.15]))
        meters = np.flatnonzero(types == "水表")
        steps = days * 4
        for j, m in enumerate(meters):
            use = rng.gamma(0.6, 0.05, steps)
            if j % 7 == 0:  # no water used for the last 30 hours: a care alert
                use[-5:] = 0
            rows_dev.append(np.full(steps, m))
            rows_ts.append(
                self.end - np.timedelta64(days, "D") + (np.arange(steps) * 6 * 3600).astype("timedelta64[s]")
            )
            rows_type.append(np.full(steps, "读数"))
            rows_val.append(np.round(100 + np.cumsum(use), 3))
            rows_disp.append(np.full(steps, None, dtype=object))
        ev = (
            pl.DataFrame(
                {
                    "设备编号": self.device_ids[np.concatenate(rows_dev)],
                    "事件时间": np.concatenate(rows_ts).astype("datetime64[us]"),
                    "事件类型": np.concatenate(rows_type),
                    "数值": np.concatenate(rows_val),
                    "处置结果": np.concatenate(rows_disp).tolist(),
                }
            )
            .with_columns(pl.col("数值").fill_nan(None))
            .sort("事件时间")
        )
        ev = ev.with_columns(fmt_ts(pl.col("事件时间"), "utc"))
        c1, c2 = p[("sensors__events", "bad_timestamp")], p[("sensors__events", "unknown_device")]
        ev = pl.concat(
            [
                ev,
                ev.head(c1).with_columns(pl.lit("2026-02-30T25:61:00Z").alias("事件时间")),
                ev.head(c2).with_columns(pl.lit("SMK999999").alias("设备编号")),
            ]
        )
        half = ev.height // 2
        self.write(out / "sensors", "events_a.jsonl.gz", ev.slice(0, half), gz=True)
        self.write(out / "sensors", "events_b.csv", ev.slice(half))

    # ---------- patrols ----------
    def patrols(self, out: Path) -> None:
        s, rng, p = self.s, self.rng, PLANTED
        workers = np.flatnonzero(np.isin(self.worker_post, ["网格长", "网格员"]))
        w_list, t_list, x_list, y_list = [], [], [], []
        gidx = {g: i for i, g in enumerate(self.grid_codes)}
        glitch_rng = np.random.default_rng(self.seed + 1)  # its own stream: the other data stay as they were
        for w in workers:
            cell = self.grid_cell[gidx[self.worker_grid[w]]]
            for d in range(s.track_days):
                day = self.end - np.timedelta64(s.track_days - d, "D")
                if (d % 7) in (5, 6) and rng.random() < 0.8:
                    continue
                for start_h in [9.0] if rng.random() < 0.5 else [9.0, 14.5]:
                    k = int(rng.integers(30, 90))
                    t0 = day + np.timedelta64(int((start_h + rng.uniform(0, 0.5)) * 3600), "s")
                    ts = t0 + (np.cumsum(rng.integers(40, 80, k))).astype("timedelta64[s]")
                    x = cell[0] + CELL_LON * np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, k)), 0.02, 0.98)
                    y = cell[1] + CELL_LAT * np.clip(0.5 + np.cumsum(rng.normal(0, 0.03, k)), 0.02, 0.98)
                    if glitch_rng.random() < 0.05:  # a GPS jump of ~2 km: dropped as faster than 30 km/h
                        y[k // 2] += 0.02
                    w_list.append(np.full(k, self.worker_ids[w]))
                    t_list.append(ts)
                    x_list.append(x)
                    y_list.append(y)
        tr = pl.DataFrame(
            {
                "人员编号": np.concatenate(w_list),
                "时间": np.concatenate(t_list).astype("datetime64[us]"),
                "经度": np.round(np.concatenate(x_list), 6),
                "纬度": np.round(np.concatenate(y_list), 6),
            }
        )
        c1, c2 = p[("patrols__tracks", "coordinates_out_of_area")], p[("patrols__tracks", "unknown_worker")]
        tr = pl.concat(
            [
                tr,
                tr.head(c1).with_columns(pl.lit(0.0).alias("经度"), pl.lit(0.0).alias("纬度")),
                tr.head(c2).with_columns(pl.lit("W99999").alias("人员编号")),
            ]
        )
        self.write(out / "patrols", "tracks.csv.gz", self._ts_str(tr, "iso"), gz=True)
        nv = len(workers) * s.track_days // 2
        vw = rng.choice(workers, nv)
        hh_grid = dict(zip(self.household_ids, [None] * len(self.household_ids), strict=True))
        b_grid = dict(zip(self.b_codes, self.b_grid, strict=True))
        for h, b in zip(self.household_ids, self.hh_building, strict=True):
            hh_grid[h] = b_grid[b]
        by_grid: dict[str, list[str]] = {}
        for h, g in hh_grid.items():
            by_grid.setdefault(g, []).append(h)
        vh = [rng.choice(by_grid.get(self.worker_grid[w], self.household_ids[:1].tolist())) for w in vw]
        vis = pl.DataFrame(
            {
                "人员编号": self.worker_ids[vw],
                "户号": vh,
                "走访时间": self.times(nv, s.track_days).astype("datetime64[us]"),
                "事项": rng.choice(["独居老人探访", "政策宣传", "矛盾调解", "信息采集", "安全检查"], nv),
            }
        )
        c = p[("patrols__visits", "missing_required")]
        vis = pl.concat([vis, vis.head(c).with_columns(pl.lit(None, pl.String).alias("户号"))])
        self.write(out / "patrols", "visits.csv", self._ts_str(vis, "cn"))


def generate(inbox: Path, scale: str = "street", seed: int = 20261121, as_of: date | None = None) -> dict:
    """Write the demo inbox; return (and save as ``<inbox>/../<inbox name>.manifest.json``) what was planted."""
    inbox = Path(inbox)
    if inbox.exists():
        shutil.rmtree(inbox)
    inbox.mkdir(parents=True)
    g = Generator(scale, seed, as_of or date.today())
    g.registry(inbox)
    g.tickets(inbox)
    g.volunteers(inbox)
    g.sensors(inbox)
    g.patrols(inbox)
    (inbox / "complaints" / "notes.txt").write_text("运营人员备注：本文件不是数据文件。\n", encoding="utf-8")
    manifest = {
        "scale": scale,
        "seed": seed,
        "as_of": g.as_of.isoformat(),
        "planted": {f"{t}:{r}": n for (t, r), n in PLANTED.items()},
        "skipped_files": g.skipped_files,
        "unrecognised_files": ["complaints/notes.txt"],
        "ticket_versions": g.ticket_versions,
        "rows": {str(Path(k).relative_to(inbox)): v for k, v in g.files.items()},
    }
    (inbox.parent / f"{inbox.name}.manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1)
    )
    return manifest
