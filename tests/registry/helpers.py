"""Helpers of the registry tests: small models, and the bodies of the processes the
concurrency tests spawn (importable by name)."""

from __future__ import annotations

import os
import traceback
from typing import Any

import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from alambic.models import package

FRAME = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
LABELS = pd.Series([0, 1, 0, 1])


def model(depth: int = 2) -> Any:
    estimator = DecisionTreeClassifier(max_depth=depth, random_state=depth).fit(FRAME, LABELS)
    return package(estimator, FRAME, LABELS, metadata={"depth": depth})


def _model() -> Any:
    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    from alambic.models import package

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    return package(
        DecisionTreeClassifier().fit(frame, [0, 1, 0, 1]), frame, pd.Series([0, 1, 0, 1])
    )


def register_one(home: str, db_url: str, index: int, barrier: Any, error: str) -> None:
    os.environ.update({"ALAMBIC_HOME": home, "ALAMBIC_DB_URL": db_url, "ALAMBIC_USER": f"p{index}"})
    try:
        import alambic as al

        model = _model()
        model.metadata["index"] = index  # a different model per process
        barrier.wait(timeout=60)
        al.register(model, name="race", metrics={"roc_auc": 0.5 + index / 100})
    except BaseException:
        with open(error, "w") as handle:
            handle.write(traceback.format_exc())
        raise


def promote_one(home: str, db_url: str, index: int, barrier: Any, error: str) -> None:
    os.environ.update({"ALAMBIC_HOME": home, "ALAMBIC_DB_URL": db_url, "ALAMBIC_USER": f"p{index}"})
    try:
        from alambic import registry

        barrier.wait(timeout=60)
        registry.promote("race", index + 1, to="production")
    except BaseException:
        with open(error, "w") as handle:
            handle.write(traceback.format_exc())
        raise
