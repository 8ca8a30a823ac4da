"""AutoML: from a table and a target column to a leaderboard of models, as readable code.

``al.automl(data, target="y", time_budget="10m")`` (this package is callable: it is
:func:`automl`) detects the problem, writes the candidates, searches across them within
the budget and returns an :class:`AutoMLResult`: the leaderboard, the best model, and
``pick(max_latency_ms=..., max_bytes=...)`` for the best within limits.

:func:`detect` decides the task, the metric and the features, each with its reason;
:func:`write_candidates` writes one readable, editable Python module per model family,
which :func:`load_candidate` imports back as it then reads.

Example:
    >>> from sklearn.datasets import load_breast_cancer
    >>> frame = load_breast_cancer(as_frame=True).frame
    >>> detect(frame, "target").task
    'binary'
"""

import sys
import types
from typing import TYPE_CHECKING, Any

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "AutoMLResult": "._automl",
    "automl": "._automl",
    "FAMILIES": "._candidates",
    "Candidate": "._candidates",
    "load_candidate": "._candidates",
    "write_candidates": "._candidates",
    "DateParts": "._transformers",
    "EncodedLabels": "._transformers",
    "Exploration": "._explore",
    "Insight": "._explore",
    "explore": "._explore",
    "Decision": "._detect",
    "Problem": "._detect",
    "detect": "._detect",
}
__all__ = [
    "FAMILIES",
    "AutoMLResult",
    "Candidate",
    "DateParts",
    "Decision",
    "EncodedLabels",
    "Exploration",
    "Insight",
    "Problem",
    "automl",
    "detect",
    "explore",
    "load_candidate",
    "write_candidates",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


class _CallableModule(types.ModuleType):
    """This package, callable: ``al.automl(...)`` is ``alambic.automl.automl(...)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.automl(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule

if TYPE_CHECKING:
    from alambic.automl._automl import AutoMLResult, automl
    from alambic.automl._candidates import FAMILIES, Candidate, load_candidate, write_candidates
    from alambic.automl._detect import Decision, Problem, detect
    from alambic.automl._explore import Exploration, Insight, explore
    from alambic.automl._transformers import DateParts, EncodedLabels
