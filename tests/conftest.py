"""One session-scoped warehouse built from the demo generator's tiny street (the same code as `cockpit demo`)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from pipelines.demo import generate
from pipelines.ingest import run_ingest
from pipelines.settings import Settings

AS_OF = date(2026, 11, 20)
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real"


def make_settings(warehouse: Path) -> Settings:
    return Settings(warehouse=warehouse, person_key_secret="test-secret", data_docs=False)


@pytest.fixture(scope="session")
def demo_inbox(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("demo")
    manifest = generate(root / "inbox", "tiny", seed=7, as_of=AS_OF)
    return root / "inbox", manifest


@pytest.fixture(scope="session")
def demo_run(demo_inbox, tmp_path_factory):
    inbox, manifest = demo_inbox
    wh = tmp_path_factory.mktemp("wh")
    settings = Settings(warehouse=wh, person_key_secret="test-secret", data_docs=True)
    result = run_ingest(inbox, settings, as_of=AS_OF)
    return settings, result, manifest


@pytest.fixture
def warehouse_copy(demo_run, tmp_path) -> Path:
    """A private copy of the published demo warehouse (links kept), for tests that change or kill runs."""
    settings, _, _ = demo_run
    dest = tmp_path / "wh"
    shutil.copytree(settings.warehouse, dest, symlinks=True)
    return dest


@pytest.fixture
def real_data() -> Path:
    if not REAL.is_dir():
        pytest.skip(f"real public data not present at {REAL} (a fresh clone has no ../shared; CI has it)")
    return REAL


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text())


def writable_copy(pair: tuple[Path, Path], folder: Path):
    """A writable copy of a published (full, analytics) pair: the full file with its analytics file attached as
    ``analytics``, where the full file's analyst-safe staging and mart views read their rows."""
    import duckdb

    full, analytics = folder / "w.duckdb", folder / "analytics.duckdb"
    shutil.copyfile(pair[0], full)
    shutil.copyfile(pair[1], analytics)
    con = duckdb.connect(str(full))
    con.execute(f"attach '{analytics}' as analytics")
    return con
