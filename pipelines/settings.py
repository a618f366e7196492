"""One typed settings object. Every field has a default and a help text; the README documents each.

Values come from environment variables prefixed ``COCKPIT_`` (e.g. ``COCKPIT_WAREHOUSE=/srv/wh``)
or from a ``.env`` file in the working directory.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COCKPIT_", env_file=".env", extra="ignore")

    inbox: Path = Field(Path("demo_inbox"), description="Inbox folder read by `cockpit ingest` (SPEC §2).")
    warehouse: Path = Field(
        Path("warehouse_data"), description="Folder holding the versioned DuckDB files and the pointers."
    )
    timezone: str = Field(
        "Asia/Shanghai", description="Local time zone; zoned timestamps are converted to it."
    )
    person_key_secret: SecretStr | None = Field(
        None,
        description="HMAC secret for person_key. Unset: a random one is created once in "
        "<warehouse>/.person_key_secret (mode 0600) and reused.",
    )
    area_margin_km: float = Field(
        5.0, description="Coordinates farther than this outside the grid area are coordinates_out_of_area."
    )
    keep_versions: int = Field(3, description="Published database versions kept on disk (older are removed).")
    quality_chunk_rows: int = Field(
        3_000_000, description="Rows per pandas chunk handed to Great Expectations (bounds its memory); a table of "
        "up to 200k rows that fits one chunk is validated as one frame. District suites alone: 2M rows 28.6–30.2 s, peak "
        "4.5 GiB; 3M 26.1 s, 5.2 GiB (the ingest's peak, while files load, stays higher); 4M 27.1 s, 5.5 GiB."
    )
    quality_threads: int = Field(
        2,
        ge=1,
        description="How many quality suites are validated at once: a thread per suite reads its table's chunks and "
        "hands them to as many GX worker processes (quality_processes); 1 validates one table at a time.",
    )
    quality_processes: bool = Field(
        True,
        description="Validate in GX worker processes, started as the load's tail begins so that GX is imported on the "
        "core its last files leave idle, and stopped when the suites are done; "
        "off, each thread validates on a GX context of its own in the ingest's process (GX's pandas path is much "
        "Python under one lock: the district suites took 39.6–41.8 s in two threads, 33.2–36.8 s in two processes). "
        "Off is for a debugger or a profiler inside one process.",
    )
    ingest_memory_limit: str = Field(
        "4GB", description="DuckDB memory_limit of the ingest's models (1GB while files are read; 2GB while the suites read the version and the registries are copied into the analytics file, so that the models' cached blocks are let go beside the GX workers); beyond it DuckDB spills "
        "to a temporary folder inside the new version. The whole district ingest peaks at 6.5–7.6 GiB while files load, Polars keeping freed pages for polars_allocator's 30 s (5.6–5.9 GiB without; SPEC §9 asks ≤ 8 GiB).",
    )
    ingest_parallel_load_mib: int = Field(
        6144,
        ge=0,
        description="Files load up to ingest_load_threads at a time while their estimated peak memory together (text × what that kind of file "
        "grows to when checked) stays within this many MiB; a heavier file loads alone, and 0 loads one file at a time.",
    )
    ingest_load_threads: int = Field(
        3,
        ge=1,
        description="Files loading at once, each on a thread and cursor of its own (within ingest_parallel_load_mib). Reading and "
        "checking one file keeps about 1.4 of 2 cores busy; two files kept 1.82, three 1.88 (district load 110.8 → 105.0 s).",
    )
    polars_allocator: str = Field(
        "dirty_decay_ms:30000,muzzy_decay_ms:30000",
        description="Options for Polars' memory allocator (jemalloc) in the `cockpit` command's process, appended to "
        "_RJEM_MALLOC_CONF before Polars is imported (jemalloc takes an option's last value; empty: Polars' own, which hand "
        "freed pages back within 0.5–1 s). Freed pages are kept 30 s for the next file's frames instead of being faulted "
        "in again (district load 113.0 → 96.5 s wall, 201.6 → 177.9 CPU s; ingest peak 5,718 → 6,684–7,223 MiB; 6,839–7,749 MiB with the "
        "later changes, 6,228–6,391 MiB with 10 s instead). Never handing pages back peaked at 12,106 MiB.",
    )
    data_docs: bool = Field(True, description="Render Great Expectations Data Docs (HTML) after each run.")
    sla_response_hours_normal: float = Field(
        24.0, description="Response SLA for 一般 tickets, hours (within = ≤)."
    )
    sla_response_hours_urgent: float = Field(
        2.0, description="Response SLA for 紧急 tickets, hours (within = ≤)."
    )
    sla_resolution_hours_normal: float = Field(
        168.0, description="Resolution SLA for 一般 tickets, hours (within = ≤)."
    )
    sla_resolution_hours_urgent: float = Field(
        48.0, description="Resolution SLA for 紧急 tickets, hours (within = ≤)."
    )
    annoyance_window_days: int = Field(
        90, description="烦恼指数 window: the N dates ending on the as-of date."
    )
    category_weights: dict[str, float] = Field(
        default_factory=dict,
        description='烦恼指数 weight per ticket category (JSON, e.g. {"噪音扰民": 2}); unlisted categories weigh 1.',
    )
    repeat_window_days: int = Field(
        30,
        description="A ticket is a repeat when the same building and category was reported in [t − N days, t).",
    )

    patrol_gap_minutes: float = Field(
        30.0, description="Patrol sessions split a worker's GPS points at gaps over this many minutes."
    )
    patrol_max_speed_kmh: float = Field(
        30.0, description="A GPS point implying a speed over this (km/h) from the previous kept point is dropped."
    )
    appraisal_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "tickets_handled": 1.0,
            "on_time_rate": 1.0,
            "satisfaction_rate": 1.0,
            "median_response_hours": 1.0,
            "patrol_sessions": 1.0,
            "patrol_km": 1.0,
            "patrol_hours": 1.0,
            "households_visited": 1.0,
            "overdue_open": 1.0,
        },
        description="网格考核 weight per indicator (JSON); score = Σ weight × indicator score / Σ weight. "
        "An indicator left out weighs 0.",
    )

    state_dir: Path | None = Field(
        None,
        description="The app's own store (users, audit log, query history) — outside the versioned "
        "warehouse files, so it survives publishes. Unset: <warehouse>/state.",
    )
    session_idle_minutes: float = Field(30.0, description="A cockpit login expires after this many idle minutes.")
    map_tile_url: str | None = Field(
        None,
        description="Optional map tile server under the 烦恼指数图 三维图 (e.g. an intranet tile server "
        "URL with {z}/{x}/{y}); unset: grid polygons are the base layer and no network is needed.",
    )

    sql_timeout_seconds: float = Field(
        30.0, description="自助查询: a query is interrupted after this many seconds; its worker is killed if it does not stop."
    )
    sql_memory_limit: str = Field("1GB", description="自助查询: DuckDB memory_limit of the query worker.")
    sql_threads: int = Field(1, description="自助查询: DuckDB threads of the query worker.")
    sql_max_rows_shown: int = Field(10_000, description="自助查询: rows shown in the results grid.")
    sql_max_rows_export: int = Field(100_000, description="自助查询: rows a result can be exported with.")
    sql_count_cap: int = Field(
        10_000_000, description="自助查询: rows counted for the stated row count (beyond it: “more than N”)."
    )

    @field_validator("appraisal_weights")
    @classmethod
    def _known_indicators(cls, v: dict[str, float]) -> dict[str, float]:
        from warehouse.metrics import APPRAISAL_KEYS

        unknown = sorted(set(v) - set(APPRAISAL_KEYS))
        if unknown:
            raise ValueError(f"unknown appraisal indicators {unknown}; known: {list(APPRAISAL_KEYS)}")
        if any(w < 0 for w in v.values()) or not any(w > 0 for w in v.values()):
            raise ValueError("appraisal weights must be ≥ 0 with at least one > 0")
        return v

    def state_path(self) -> Path:
        return Path(self.state_dir) if self.state_dir is not None else Path(self.warehouse) / "state"

    def key_secret(self) -> bytes:
        if self.person_key_secret is not None:
            return self.person_key_secret.get_secret_value().encode()
        path = self.warehouse / ".person_key_secret"
        if not path.exists():
            self.warehouse.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    return Settings()


JEMALLOC_ENV = "_RJEM_MALLOC_CONF"


def configure_polars_allocator() -> str | None:
    """Hand ``polars_allocator`` to Polars' jemalloc, which reads ``_RJEM_MALLOC_CONF`` once, when Polars is first
    imported: call this before. Polars puts its own options first (``dirty_decay_ms:500,muzzy_decay_ms:1000``:
    freed pages handed back within a second) and writes the variable into the environment, so a process started
    by one that imported Polars inherits them; the setting is appended to whatever is there, and jemalloc takes
    the last value of an option. Invalid settings are left for the command that reads them to report. Returns
    the options in effect (None: Polars' own)."""
    try:
        conf = Settings().polars_allocator
    except ValueError:  # pydantic's ValidationError
        conf = ""
    before = os.environ.get(JEMALLOC_ENV)
    if conf and not (before or "").endswith(conf):
        os.environ[JEMALLOC_ENV] = f"{before},{conf}" if before else conf
    return os.environ.get(JEMALLOC_ENV)
