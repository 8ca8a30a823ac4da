"""The alambic error tree.

Every error alambic raises on purpose derives from :class:`AlambicError`, and each
message says what went wrong *and* what to do next::

    AlambicError
    ├── ConfigError                 a setting or alambic.toml is invalid
    ├── StoreError                  the metadata database cannot be used
    │   └── NotFoundError           a run, step or pipeline id does not exist
    ├── ArtifactError               the artifact store cannot read or write
    │   ├── IntegrityError          an artifact's bytes no longer match its hash
    │   └── MaterializerError       no materializer can store or load a value
    ├── PipelineError               a pipeline cannot be defined or loaded
    │   ├── DefinitionError         the traced graph is invalid (names step and argument)
    │   ├── ParameterError          a parameter override is invalid (names the parameter)
    │   └── PipelineLoadError       a pipeline file or name cannot be imported
    ├── DataError                   a query or a data source failed (names query and source)
    ├── TrackingError               a tracking call is invalid (a key, a metric, a filter)
    ├── ModelError                  a model cannot be stored or loaded safely
    ├── EvaluationError             a metric, a task or evaluation data is invalid
    ├── TuningError                 a search space, a budget or every trial is bad
    ├── RegistryError               a model name, alias or promotion rule refuses a change
    ├── ServingError                an endpoint, a token or a server cannot be set up
    ├── MonitoringError             a baseline, a drift test or a quality check is invalid
    ├── AutoMLError                 a table, target, budget or AutoML folder cannot be used
    ├── TriggerError                a schedule, a trigger or an alert target is invalid
    ├── RunError                    a run cannot be started, resumed or cancelled
    ├── ExecutorError               an executor backend failed or is unknown
    └── ConformanceError            a plugin does not behave as its extension point needs
"""

from __future__ import annotations

__all__ = [
    "AlambicError",
    "ArtifactError",
    "AutoMLError",
    "ConfigError",
    "ConformanceError",
    "DataError",
    "DefinitionError",
    "EvaluationError",
    "ExecutorError",
    "IntegrityError",
    "MaterializerError",
    "ModelError",
    "MonitoringError",
    "NotFoundError",
    "ParameterError",
    "PipelineError",
    "PipelineLoadError",
    "RegistryError",
    "RunError",
    "ServingError",
    "StoreError",
    "TrackingError",
    "TriggerError",
    "TuningError",
]


class AlambicError(Exception):
    """Root of every error alambic raises on purpose."""


class ConfigError(AlambicError):
    """A setting (environment variable or alambic.toml) is invalid."""


class StoreError(AlambicError):
    """The metadata database cannot be reached, migrated or written."""


class NotFoundError(StoreError):
    """A run, step run, pipeline or artifact id does not exist in the store."""


class ArtifactError(AlambicError):
    """The artifact store cannot read or write an artifact."""


class IntegrityError(ArtifactError):
    """An artifact's content no longer matches the hash it is stored under."""


class MaterializerError(ArtifactError):
    """No registered materializer can store (or load) a value."""


class PipelineError(AlambicError):
    """A pipeline cannot be defined, validated or loaded."""


class DefinitionError(PipelineError):
    """The traced pipeline graph is invalid; the message names the step and argument."""


class ParameterError(PipelineError):
    """A parameter value does not fit the pipeline's signature."""


class PipelineLoadError(PipelineError):
    """A pipeline file does not import, or the named pipeline is not in it."""


class DataError(AlambicError):
    """A SQL query, a data source or a split failed; the message names them."""


class TrackingError(AlambicError):
    """A tracking call is invalid (a non-numeric metric, an empty key, a bad filter)."""


class EvaluationError(AlambicError):
    """An unknown metric, a metric that does not fit the task, or unusable data."""


class RegistryError(AlambicError):
    """An unsafe model name or alias, or a change a promotion rule forbids."""


class TuningError(AlambicError):
    """An invalid search space or budget, or a study whose every trial failed."""


class ModelError(AlambicError):
    """A model has no safe format, holds untrusted types, or does not fit its signature."""


class TriggerError(AlambicError):
    """A schedule, a trigger or an alert target is invalid, or the control plane cannot start."""


class RunError(AlambicError):
    """A run cannot be started, resumed or cancelled in its current state."""


class ExecutorError(AlambicError):
    """An executor is unknown or its backend failed."""


class ServingError(AlambicError):
    """An endpoint, a token or a server cannot be set up (names it and what to do)."""


class MonitoringError(AlambicError):
    """A baseline, a drift test or a quality check cannot run (names what to fix)."""


class AutoMLError(AlambicError):
    """A table, target column, budget or output folder AutoML cannot work with."""


class ConformanceError(AlambicError):
    """A plugin (executor, materializer, flavor) does not behave as alambic needs.

    Raised by the conformance suites of :mod:`alambic.testing`; the message names the
    property that failed.
    """
