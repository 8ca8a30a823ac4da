"""Models as step outputs: packaged models and bare estimators, stored without pickle."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from alambic.store import Materializer, register_materializer

__all__ = ["register_materializers"]


class ModelMaterializer(Materializer):
    """An :class:`~alambic.models.Model` package, loaded back as a Model."""

    name = "alambic-model"
    types: ClassVar[tuple[type | str, ...]] = ("alambic.models._model.Model",)

    def dumps(self, value: Any) -> tuple[bytes, dict[str, Any]]:
        from alambic.models._model import dumps_model

        data, manifest = dumps_model(value)
        return data, {"flavor": manifest["flavor"], "size_bytes": manifest["size_bytes"]}

    def save(self, value: Any, path: Path) -> dict[str, Any]:
        data, meta = self.dumps(value)
        path.write_bytes(data)
        return meta

    def load(self, path: Path) -> Any:
        from alambic.models._model import loads_model

        return loads_model(path.read_bytes())


class EstimatorMaterializer(ModelMaterializer):
    """A bare scikit-learn / LightGBM / XGBoost estimator, loaded back as itself."""

    name = "alambic-estimator"
    types = (
        "sklearn.base.BaseEstimator",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMModel",
        "xgboost.sklearn.XGBModel",
        "xgboost.core.Booster",
    )

    def load(self, path: Path) -> Any:
        return super().load(path).estimator


def register_materializers() -> None:
    """Make models storable as step outputs (called when alambic is imported)."""
    register_materializer(ModelMaterializer())
    register_materializer(EstimatorMaterializer())
