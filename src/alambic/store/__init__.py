"""Storage infrastructure: engines and migrations, the ORM base, a repository base class,
the shared audit log, the artifact store and materializers.

``store`` knows no capability's vocabulary: each capability declares its tables and its
repository in its own package (``registry/_tables.py``, ``registry/_store.py``) on
:class:`Base` and :class:`Repository`. Names load lazily: a worker that only reads and
writes artifacts never imports SQLAlchemy or Alembic.

Example:
    >>> from alambic.store import ArtifactStore
    >>> import tempfile
    >>> store = ArtifactStore(tempfile.mkdtemp())
    >>> store.exists(store.put_bytes(b"hello"))
    True
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "ArtifactStore": "._artifacts",
    "AuditRecord": "._audit",
    "append_audit": "._audit",
    "read_audit": "._audit",
    "current_revision": "._db",
    "dispose_engines": "._db",
    "forget_connections": "._db",
    "get_engine": "._db",
    "head_revision": "._db",
    "upgrade": "._db",
    "Materializer": "._materializers",
    "find_materializer": "._materializers",
    "get_materializer": "._materializers",
    "materializer_registry": "._materializers",
    "register_materializer": "._materializers",
    "type_name": "._materializers",
    "AUTO_ID": "._orm",
    "Base": "._orm",
    "UTCDateTime": "._orm",
    "Repository": "._repository",
    "to_record": "._repository",
    "ArtifactRef": "._values",
    "load_value": "._values",
    "save_value": "._values",
}
__all__ = [
    "AUTO_ID",
    "ArtifactRef",
    "ArtifactStore",
    "AuditRecord",
    "Base",
    "Materializer",
    "Repository",
    "UTCDateTime",
    "append_audit",
    "current_revision",
    "dispose_engines",
    "find_materializer",
    "forget_connections",
    "get_engine",
    "get_materializer",
    "head_revision",
    "load_value",
    "materializer_registry",
    "read_audit",
    "register_materializer",
    "save_value",
    "to_record",
    "type_name",
    "upgrade",
]
# Names of 0.1 that moved to the capability owning them (removed in the next release).
_DEPRECATED = {
    "MetadataStore": "alambic.pipelines.RunStore",
    "ArtifactRecord": "alambic.pipelines.ArtifactRecord",
    "PipelineRecord": "alambic.pipelines.PipelineRecord",
    "RunRecord": "alambic.pipelines.RunRecord",
    "StepRunRecord": "alambic.pipelines.StepRunRecord",
    "TrackingStore": "alambic.tracking.TrackingStore",
    "ExperimentRecord": "alambic.tracking.ExperimentRecord",
    "TrackedRunRecord": "alambic.tracking.TrackedRunRecord",
    "RunChange": "alambic.tracking.RunChange",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, deprecated=_DEPRECATED)

if TYPE_CHECKING:
    from alambic.store._artifacts import ArtifactStore
    from alambic.store._audit import AuditRecord, append_audit, read_audit
    from alambic.store._db import (
        current_revision,
        dispose_engines,
        forget_connections,
        get_engine,
        head_revision,
        upgrade,
    )
    from alambic.store._materializers import (
        Materializer,
        find_materializer,
        get_materializer,
        materializer_registry,
        register_materializer,
        type_name,
    )
    from alambic.store._orm import AUTO_ID, Base, UTCDateTime
    from alambic.store._repository import Repository, to_record
    from alambic.store._values import ArtifactRef, load_value, save_value
