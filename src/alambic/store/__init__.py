"""Storage: the metadata database, the artifact store and materializers.

Names load lazily: a worker that only reads and writes artifacts never imports
SQLAlchemy or Alembic.
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "ArtifactStore": "._artifacts",
    "dispose_engines": "._db",
    "get_engine": "._db",
    "head_revision": "._db",
    "upgrade": "._db",
    "Materializer": "._materializers",
    "find_materializer": "._materializers",
    "get_materializer": "._materializers",
    "register_materializer": "._materializers",
    "type_name": "._materializers",
    "ArtifactRecord": "._metadata",
    "MetadataStore": "._metadata",
    "PipelineRecord": "._metadata",
    "RunRecord": "._metadata",
    "StepRunRecord": "._metadata",
    "ExperimentRecord": "._tracking",
    "RunChange": "._run_change",
    "TrackedRunRecord": "._tracking",
    "TrackingStore": "._tracking",
    "ArtifactRef": "._values",
    "load_value": "._values",
    "save_value": "._values",
}
__all__ = [
    "ArtifactRecord",
    "ArtifactRef",
    "ArtifactStore",
    "ExperimentRecord",
    "Materializer",
    "MetadataStore",
    "PipelineRecord",
    "RunChange",
    "RunRecord",
    "StepRunRecord",
    "TrackedRunRecord",
    "TrackingStore",
    "dispose_engines",
    "find_materializer",
    "get_engine",
    "get_materializer",
    "head_revision",
    "load_value",
    "register_materializer",
    "save_value",
    "type_name",
    "upgrade",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.store._artifacts import ArtifactStore
    from alambic.store._db import dispose_engines, get_engine, head_revision, upgrade
    from alambic.store._materializers import (
        Materializer,
        find_materializer,
        get_materializer,
        register_materializer,
        type_name,
    )
    from alambic.store._metadata import (
        ArtifactRecord,
        MetadataStore,
        PipelineRecord,
        RunRecord,
        StepRunRecord,
    )
    from alambic.store._run_change import RunChange
    from alambic.store._tracking import ExperimentRecord, TrackedRunRecord, TrackingStore
    from alambic.store._values import ArtifactRef, load_value, save_value
