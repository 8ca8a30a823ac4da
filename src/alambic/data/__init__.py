"""Data sources: SQL over files (DuckDB) or databases (SQLAlchemy), fingerprints, splits."""

from alambic.data._splits import split
from alambic.data._sql import query, sql, sql_fingerprint

__all__ = ["query", "split", "sql", "sql_fingerprint"]
