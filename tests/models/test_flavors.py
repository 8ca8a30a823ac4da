"""The built-in model flavors pass the conformance suite that third-party flavors run too."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer

from alambic.errors import ConformanceError, ModelError
from alambic.models import Flavor, flavor_registry, get_flavor, register_flavor
from alambic.testing import FlavorConformance, check_flavor


@cache
def cancer() -> tuple[pd.DataFrame, pd.Series]:
    data = load_breast_cancer(as_frame=True)
    return data.data.iloc[:200], data.target.iloc[:200]


class Builtin(FlavorConformance):
    name = ""

    def make_flavor(self) -> Flavor:
        return get_flavor(self.name)

    def features(self) -> pd.DataFrame:
        return cancer()[0].iloc[:20]


class TestSklearn(Builtin):
    name = "sklearn"

    def make_model(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(*cancer())

    def predict(self, model: Any, features: Any) -> Any:
        return model.predict_proba(features)


class TestLightGBM(Builtin):
    name = "lightgbm"

    def make_model(self) -> Any:
        import lightgbm

        model = lightgbm.LGBMClassifier(n_estimators=10, verbose=-1, random_state=0)
        return model.fit(*cancer())

    def predict(self, model: Any, features: Any) -> Any:
        return model.predict_proba(features)


class TestXGBoost(Builtin):
    name = "xgboost"

    def make_model(self) -> Any:
        import xgboost

        return xgboost.XGBClassifier(n_estimators=10, random_state=0).fit(*cancer())


class Greedy(Flavor):
    """Broken on purpose: claims every object, and forgets what it saved."""

    name = "test-greedy"

    def matches(self, model: Any) -> bool:
        return True

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        (folder / "nothing.txt").write_text("x")
        return {}

    def load(self, folder: Path, info: dict[str, Any], trusted: list[str]) -> Any:
        return None


def test_the_suite_catches_a_flavor_that_claims_every_object() -> None:
    with flavor_registry.preserved():
        flavor = register_flavor(Greedy())
        with pytest.raises(ConformanceError, match="accepts any object"):
            check_flavor(flavor, object(), None)


def test_the_suite_catches_an_unregistered_flavor() -> None:
    class Shy(Greedy):
        name = "test-shy"

        def matches(self, model: Any) -> bool:
            return isinstance(model, complex)

    with pytest.raises(ConformanceError, match="not the registered flavor"):
        check_flavor(Shy(), 1j, None)


def test_flavors_are_tried_newest_first_and_can_be_removed() -> None:
    class Tuple(Greedy):
        name = "test-tuple"

        def matches(self, model: Any) -> bool:
            return isinstance(model, tuple)

    with flavor_registry.preserved():
        register_flavor(Tuple())
        assert flavor_registry.ordered()[0].name == "test-tuple", "a registered flavor comes first"
        assert get_flavor("test-tuple").name == "test-tuple"
    with pytest.raises(ModelError, match="unknown model flavor 'test-tuple'"):
        get_flavor("test-tuple")
    with pytest.raises(ModelError, match="built-in flavor name"):
        register_flavor(type("Pickle", (Greedy,), {"name": "cloudpickle"})())
