"""Continuous training: schedules and triggers that start pipelines (and monitors), and
the scheduler that fires them.

``alambic server`` runs the scheduler (:class:`Scheduler`) and receives the webhooks
(:func:`receive_github`, :func:`receive_gitlab`); schedules and triggers are made from
Python (:func:`schedule`, :func:`create_trigger`), the CLI (``alambic schedules``,
``alambic triggers``) or the server's API, all through the same functions. Names load
lazily.

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
    "ALERT_TYPES": "._alerts",
    "AlertRecord": "._alerts",
    "AlertTargetRecord": "._alerts",
    "add_alert_target": "._alerts",
    "deliver_alerts": "._alerts",
    "delete_alert_target": "._alerts",
    "list_alert_targets": "._alerts",
    "list_alerts": "._alerts",
    "raise_alert": "._alerts",
    "Delivery": "._hooks",
    "receive_github": "._hooks",
    "receive_gitlab": "._hooks",
    "KINDS": "._triggers",
    "create_trigger": "._triggers",
    "delete_trigger": "._triggers",
    "get_trigger": "._triggers",
    "list_triggers": "._triggers",
    "pause_trigger": "._triggers",
    "resume_trigger": "._triggers",
    "trigger_history": "._triggers",
    "EventRecord": "._store",
    "TriggerRecord": "._store",
    "Timing": "._timing",
    "render": "._timing",
}
__all__ = [
    "ALERT_TYPES",
    "CATCHUP",
    "CONCURRENCY",
    "KINDS",
    "AlertRecord",
    "AlertTargetRecord",
    "Delivery",
    "EventRecord",
    "FireRecord",
    "ScheduleRecord",
    "Scheduler",
    "StepReport",
    "Timing",
    "TriggerRecord",
    "TriggersStore",
    "add_alert_target",
    "create_trigger",
    "delete_alert_target",
    "delete_schedule",
    "delete_trigger",
    "deliver_alerts",
    "get_schedule",
    "get_trigger",
    "list_alert_targets",
    "list_alerts",
    "list_schedules",
    "list_triggers",
    "next_fires",
    "pause_schedule",
    "pause_trigger",
    "raise_alert",
    "receive_github",
    "receive_gitlab",
    "render",
    "resume_schedule",
    "resume_trigger",
    "schedule",
    "schedule_history",
    "server_identity",
    "timing_of",
    "trigger_history",
    "triggers_store",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.triggers._alerts import (
        ALERT_TYPES,
        AlertRecord,
        AlertTargetRecord,
        add_alert_target,
        delete_alert_target,
        deliver_alerts,
        list_alert_targets,
        list_alerts,
        raise_alert,
    )
    from alambic.triggers._hooks import Delivery, receive_github, receive_gitlab
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
        EventRecord,
        FireRecord,
        ScheduleRecord,
        TriggerRecord,
        TriggersStore,
        triggers_store,
    )
    from alambic.triggers._timing import Timing, render
    from alambic.triggers._triggers import (
        KINDS,
        create_trigger,
        delete_trigger,
        get_trigger,
        list_triggers,
        pause_trigger,
        resume_trigger,
        trigger_history,
    )
