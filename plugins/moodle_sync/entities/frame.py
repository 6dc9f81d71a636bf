"""pandas helpers the entities' transforms share: type a raw chunk's columns, collect quarantine reasons.

Every transform takes the raw chunk as read by the entity's SQL (object columns: the driver's values; each
transform types every column it reads) and returns it with derived columns plus ``quarantine_reason`` (None for a
good row). A row that fails validation is quarantined with its reason; nothing is dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype


def numeric(df: pd.DataFrame, columns) -> None:
    for col in columns:
        df[col] = pd.to_numeric(df[col], errors="coerce")


def ints(df: pd.DataFrame, columns) -> None:
    """Nullable integers. A column of Python ints and NULLs (what the drivers give for integer columns) is
    taken as it is (in half the time of parsing it); anything else is parsed, a value that is no number
    becoming NULL."""
    for col in columns:
        values = df[col].to_numpy()
        if values.dtype == object and infer_dtype(values, skipna=True) == "integer":
            missing = pd.isna(values)
            numbers = np.where(missing, 0, values) if missing.any() else values
            df[col] = pd.arrays.IntegerArray(numbers.astype(np.int64), missing)
        else:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("Int64")


def text(df: pd.DataFrame, columns) -> None:
    """Text as Python objects. Object columns (the drivers' str or None) are left as they are: converting them
    again took a third of the grade transform; other columns become objects with None for NULL."""
    for col in columns:
        if df[col].dtype != object:
            df[col] = df[col].astype(object).where(df[col].notna(), None)


def reasons(df: pd.DataFrame, checks: list[tuple[pd.Series, str]]) -> pd.Series:
    """First failing check's reason per row (None where all pass)."""
    reason = pd.Series([None] * len(df), index=df.index, dtype=object)
    for failed, why in checks:
        reason = reason.where(reason.notna() | ~failed.fillna(True).astype(bool), why)
    return reason
