"""Storage: the metadata database, the artifact store and materializers."""

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
from alambic.store._values import ArtifactRef, load_value, save_value

__all__ = [
    "ArtifactRecord",
    "ArtifactRef",
    "ArtifactStore",
    "Materializer",
    "MetadataStore",
    "PipelineRecord",
    "RunRecord",
    "StepRunRecord",
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
