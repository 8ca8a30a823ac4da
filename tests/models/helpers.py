"""Helpers of the model tests: a scikit-learn-looking estimator of a type no one has
vetted (for refusal tests)."""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator


class Evil(BaseEstimator):
    def fit(self, x: Any, y: Any = None) -> Evil:
        return self

    def transform(self, x: Any) -> Any:
        return x

    def __setstate__(self, state: dict[str, Any]) -> None:  # would run on load if trusted
        from pathlib import Path

        Path("pwned").touch()
        self.__dict__.update(state)
