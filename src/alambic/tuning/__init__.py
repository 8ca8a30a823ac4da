"""Hyperparameter tuning on Optuna: spaces as data, parallel trials, resumable studies.

Example:
    >>> from alambic.tuning import Float, Int, Space
    >>> Space.parse({"depth": Int(2, 8), "lr": Float(1e-3, 0.3, log=True)}).order
    ('depth', 'lr')
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "Categorical": "._space",
    "Float": "._space",
    "Int": "._space",
    "Space": "._space",
    "Pruned": "._trial",
    "Trial": "._trial",
    "trial_data": "._trial",
    "TuningResult": "._tune",
    "tune": "._tune",
}
__all__ = [
    "Categorical",
    "Float",
    "Int",
    "Pruned",
    "Space",
    "Trial",
    "TuningResult",
    "trial_data",
    "tune",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.tuning._space import Categorical, Float, Int, Space
    from alambic.tuning._trial import Pruned, Trial, trial_data
    from alambic.tuning._tune import TuningResult, tune
