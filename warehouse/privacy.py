"""Masking of person-level values (SPEC §8), the same rules as the SQL of ``mart.person_profile``.

ID numbers keep the first 6 and last 4 characters (``310101********1234``), phones the first 3 and
last 4 (``138****5678``), names the surname's first character (``张*``).
"""

from __future__ import annotations


def mask_id(value: str | None) -> str | None:
    if not value:
        return value
    return value[:6] + "*" * max(len(value) - 10, 0) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    return value[:3] + "****" + value[-4:]


def mask_name(value: str | None) -> str | None:
    if not value:
        return value
    return value[:1] + "*" * max(len(value) - 1, 1)
