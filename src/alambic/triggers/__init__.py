"""Continuous training: schedules that start pipelines and monitors, and the scheduler.

``alambic server`` runs the scheduler (:class:`Scheduler`); schedules are made from
Python (:func:`schedule`), the CLI (``alambic schedules``) or the server's API, all
through the same functions. Names load lazily.

Example:
    >>> from alambic.triggers import CATCHUP, CONCURRENCY
    >>> CATCHUP, CONCURRENCY
    (('skip', 'once', 'all'), ('skip', 'queue', 'allow'))
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "CATCHUP": "._schedules",
    "CONCURRENCY": "._schedules",
    "delete_schedule": "._schedules",
    "get_schedule": "._schedules",
    "list_schedules": "._schedules",
    "next_fires": "._schedules",
    "pause_schedule": "._schedules",
    "resume_schedule": "._schedules",
    "schedule": "._schedules",
    "schedule_history": "._schedules",
    "timing_of": "._schedules",
    "Scheduler": "._scheduler",
    "StepReport": "._scheduler",
    "server_identity": "._scheduler",
    "FireRecord": "._store",
    "ScheduleRecord": "._store",
    "TriggersStore": "._store",
    "triggers_store": "._store",
    "Timing": "._timing",
    "render": "._timing",
}
__all__ = [
    "CATCHUP",
    "CONCURRENCY",
    "FireRecord",
    "ScheduleRecord",
    "Scheduler",
    "StepReport",
    "Timing",
    "TriggersStore",
    "delete_schedule",
    "get_schedule",
    "list_schedules",
    "next_fires",
    "pause_schedule",
    "render",
    "resume_schedule",
    "schedule",
    "schedule_history",
    "server_identity",
    "timing_of",
    "triggers_store",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.triggers._scheduler import Scheduler, StepReport, server_identity
    from alambic.triggers._schedules import (
        CATCHUP,
        CONCURRENCY,
        delete_schedule,
        get_schedule,
        list_schedules,
        next_fires,
        pause_schedule,
        resume_schedule,
        schedule,
        schedule_history,
        timing_of,
    )
    from alambic.triggers._store import (
        FireRecord,
        ScheduleRecord,
        TriggersStore,
        triggers_store,
    )
    from alambic.triggers._timing import Timing, render
