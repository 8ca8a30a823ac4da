"""Conformance suites for alambic's extension points: executors, materializers, flavors.

Each suite is a pytest base class whose tests each check one property; subclass it in a
test module of yours and say how to build the plugin::

    from alambic.testing import ExecutorConformance

    class TestMyExecutor(ExecutorConformance):
        def make_executor(self, settings):
            return MyExecutor(settings, max_workers=2)

The ``check_*`` functions run a whole suite in one call, outside pytest. A failed
property raises :class:`alambic.errors.ConformanceError` naming it. The suites need
pytest (``pip install 'alambic[testing]'``).
"""

from alambic.errors import ConformanceError
from alambic.testing._executors import (
    ExecutorConformance,
    check_executor,
    collect_results,
    conformance_task,
)
from alambic.testing._flavors import FlavorConformance, check_flavor
from alambic.testing._materializers import MaterializerConformance, check_materializer

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
