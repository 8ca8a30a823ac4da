"""Conformance suites for alambic's extension points: executors, materializers, flavors.

Each suite is a pytest base class whose tests each check one property; subclass it in a
test module of yours and say how to build the plugin::

    from alambic.testing import ExecutorConformance

    class TestMyExecutor(ExecutorConformance):
        def make_executor(self, settings):
            return MyExecutor(settings, max_workers=2)

The ``check_*`` functions run a whole suite in one call, outside pytest too (only the
base classes need pytest: ``pip install 'alambic[testing]'``). A failed property raises
:class:`alambic.errors.ConformanceError` naming it.

Example:
    >>> from alambic.store import get_materializer
    >>> from alambic.testing import check_materializer
    >>> check_materializer(get_materializer("json"), [1, "two", {"three": [3]}])
"""

from typing import TYPE_CHECKING

from alambic.core._lazy import lazy_exports

_EXPORTS = {
    "ConformanceError": "alambic.errors",
    "check_executor": "._executors",
    "collect_results": "._executors",
    "conformance_task": "._executors",
    "check_flavor": "._flavors",
    "check_materializer": "._materializers",
    "ExecutorConformance": "._suites",
    "FlavorConformance": "._suites",
    "MaterializerConformance": "._suites",
}
__all__ = [
    "ConformanceError",
    "ExecutorConformance",
    "FlavorConformance",
    "MaterializerConformance",
    "check_executor",
    "check_flavor",
    "check_materializer",
    "collect_results",
    "conformance_task",
]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from alambic.errors import ConformanceError
    from alambic.testing._executors import check_executor, collect_results, conformance_task
    from alambic.testing._flavors import check_flavor
    from alambic.testing._materializers import check_materializer
    from alambic.testing._suites import (
        ExecutorConformance,
        FlavorConformance,
        MaterializerConformance,
    )
