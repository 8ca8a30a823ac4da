"""Data sources: SQL over files (DuckDB) or databases (SQLAlchemy), fingerprints, splits,
and profiles (per-column statistics and sketches that merge)."""

from alambic.data._profile import ColumnProfile, Profile, profile, read_constraints
from alambic.data._splits import split
from alambic.data._sql import query, sql, sql_fingerprint

__all__ = [
    "ColumnProfile",
    "Profile",
    "profile",
    "query",
    "read_constraints",
    "split",
    "sql",
    "sql_fingerprint",
]
