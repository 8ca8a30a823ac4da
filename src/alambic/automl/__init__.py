"""AutoML: from a table and a target column to a leaderboard of models, as readable code.

:func:`detect` decides the task, the metric and the features, each with its reason;
:func:`write_candidates` writes one readable, editable Python module per model family,
which :func:`load_candidate` imports back as it then reads.

Example:
    >>> from sklearn.datasets import load_breast_cancer
    >>> frame = load_breast_cancer(as_frame=True).frame
    >>> detect(frame, "target").task
    'binary'
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "FAMILIES": "._candidates",
    "Candidate": "._candidates",
    "load_candidate": "._candidates",
    "write_candidates": "._candidates",
    "DateParts": "._transformers",
    "EncodedLabels": "._transformers",
    "Decision": "._detect",
    "Problem": "._detect",
    "detect": "._detect",
}
__all__ = [
    "FAMILIES",
    "Candidate",
    "DateParts",
    "Decision",
    "EncodedLabels",
    "Problem",
    "detect",
    "load_candidate",
    "write_candidates",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.automl._candidates import FAMILIES, Candidate, load_candidate, write_candidates
    from alambic.automl._detect import Decision, Problem, detect
    from alambic.automl._transformers import DateParts, EncodedLabels
