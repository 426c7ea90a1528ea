"""Reference data of the deployed city, read from ``data/reference`` (swap the files for another city)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import pandas as pd

from core.config import REFERENCE_DIR


@lru_cache(maxsize=4)
def districts(folder: Path = REFERENCE_DIR) -> pd.DataFrame:
    """Districts with Chinese and English names and tile-map positions (col, row)."""
    return pd.read_csv(folder / "districts.csv", dtype={"code": str})


@lru_cache(maxsize=4)
def industries(folder: Path = REFERENCE_DIR) -> pd.DataFrame:
    """GB/T 4754-2017 divisions with their sections, in Chinese and English."""
    return pd.read_csv(folder / "industries.csv", dtype={"section": str, "division": str})


@lru_cache(maxsize=4)
def industry_sections(folder: Path = REFERENCE_DIR) -> pd.DataFrame:
    """GB/T 4754-2017 sections (门类) A–T in Chinese and English."""
    return pd.read_csv(folder / "industry_sections.csv", dtype={"section": str})


@lru_cache(maxsize=4)
def city(folder: Path = REFERENCE_DIR) -> dict:
    return json.loads((folder / "city.json").read_text(encoding="utf-8"))


def district_name(code: str | None, locale: str = "zh_CN") -> str:
    if not code:
        return "—"
    table = districts().set_index("code")
    if code not in table.index:
        return code
    return str(table.at[code, "name_en" if locale == "en" else "name"])
