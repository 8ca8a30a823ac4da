"""Data, a pipeline and a command line for the batch transform tests.

Workers of the pipeline tests import this file; ``python -m tests.serving.flows``
is ``alambic`` with the ``batch`` command registered (if ``cli/_app.py`` does not yet).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

import alambic as al
from alambic.serving import batch_transform

BRANDS = ["bmw", "honda", "peugeot", "renault", "toyota"]
FEATURES = ["brand", "price", "mileage", "n_photos"]


def listings(rows: int, random_state: int, *, start: int = 0) -> pd.DataFrame:
    """Car listings shaped like the fraud data (``brand`` as plain strings, as in files)."""
    rng = np.random.default_rng(random_state)
    return pd.DataFrame(
        {
            "listing_id": np.arange(start, start + rows, dtype=np.int64),
            "brand": rng.choice(BRANDS, rows),
            "price": rng.lognormal(9.5, 0.6, rows).round(0),
            "mileage": rng.integers(0, 250_000, rows),
            "n_photos": rng.poisson(8, rows),
        }
    )


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's view of listings: ``brand`` categorical with the training levels."""
    out = frame[FEATURES].copy()
    known = out["brand"].where(out["brand"].isin(BRANDS))  # other brands: missing
    out["brand"] = pd.Categorical(known, categories=BRANDS)
    return out


def is_fraud(frame: pd.DataFrame, random_state: int) -> pd.Series:
    rng = np.random.default_rng(random_state)
    cheap = frame["price"] < np.exp(9.0)
    suspicious = (frame["brand"] == "bmw") & (frame["n_photos"] < 6)
    noise = rng.random(len(frame)) < 0.05
    return ((cheap | suspicious) ^ noise).astype(int)


@al.pipeline
def nightly(model: str = "", source: str = "", target: str = "") -> Any:
    """Score listings every night: the batch transform as a step."""
    return batch_transform(model, source, target, id_columns=["listing_id"], n_jobs=1)


def main() -> None:
    from alambic.cli._app import app
    from alambic.cli._batch import batch

    if not any(c.callback is batch or c.name == "batch" for c in app.registered_commands):
        app.command("batch")(batch)
    app(prog_name="alambic")


if __name__ == "__main__":
    main()
