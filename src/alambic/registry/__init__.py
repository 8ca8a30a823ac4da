"""The model registry: versions, approval, aliases and promotion, lineage, audit log.

Example:
    >>> from alambic.registry import parse_ref
    >>> parse_ref("fraud-auto@production")
    ('fraud-auto', None, 'production')
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "APPROVED": "._registry",
    "PENDING": "._registry",
    "REJECTED": "._registry",
    "approve": "._registry",
    "acting_as": "._registry",
    "current_actor": "._registry",
    "delete_version": "._registry",
    "get_version": "._registry",
    "history": "._registry",
    "list_models": "._registry",
    "load_model": "._registry",
    "parse_ref": "._registry",
    "promote": "._registry",
    "register": "._registry",
    "pointers": "._registry",
    "reject": "._registry",
    "resolve": "._registry",
    "set_alias": "._registry",
    "set_policy": "._registry",
    "model_card": "._cards",
    "EVENT_TYPES": "._events",
    "deliver_events": "._events",
    "events_since": "._events",
    "on": "._events",
    "sign": "._events",
    "code_version": "._lineage",
    "collect_lineage": "._lineage",
    "Change": "._store",
    "EventRecord": "._store",
    "ModelGroupRecord": "._store",
    "ModelVersionRecord": "._store",
    "RegistryStore": "._store",
    "registry_store": "._store",
}
__all__ = [
    "APPROVED",
    "EVENT_TYPES",
    "PENDING",
    "REJECTED",
    "Change",
    "EventRecord",
    "ModelGroupRecord",
    "ModelVersionRecord",
    "RegistryStore",
    "acting_as",
    "approve",
    "code_version",
    "collect_lineage",
    "current_actor",
    "delete_version",
    "deliver_events",
    "events_since",
    "get_version",
    "history",
    "list_models",
    "load_model",
    "model_card",
    "on",
    "parse_ref",
    "pointers",
    "promote",
    "register",
    "registry_store",
    "reject",
    "resolve",
    "set_alias",
    "set_policy",
    "sign",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.registry._cards import model_card
    from alambic.registry._events import EVENT_TYPES, deliver_events, events_since, on, sign
    from alambic.registry._lineage import code_version, collect_lineage
    from alambic.registry._registry import (
        APPROVED,
        PENDING,
        REJECTED,
        acting_as,
        approve,
        current_actor,
        delete_version,
        get_version,
        history,
        list_models,
        load_model,
        parse_ref,
        pointers,
        promote,
        register,
        reject,
        resolve,
        set_alias,
        set_policy,
    )
    from alambic.registry._store import (
        Change,
        EventRecord,
        ModelGroupRecord,
        ModelVersionRecord,
        RegistryStore,
        registry_store,
    )
