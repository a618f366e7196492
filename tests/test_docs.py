import re
from pathlib import Path

from pipelines.schema import REASONS
from pipelines.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented():
    section = README.split("\n## Settings", 1)[1].split("\n## ", 1)[0]  # the settings table, not other tables
    documented = set(re.findall(r"^\| `(\w+)` \|", section, flags=re.M))
    assert documented == set(Settings.model_fields)


def test_every_reason_is_documented():
    for reason in REASONS:
        assert f"`{reason}`" in README, reason


def test_every_setting_has_help_text():
    assert all(f.description for f in Settings.model_fields.values())
