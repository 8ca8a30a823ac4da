"""Conformance checks for alambic extension points.

A new executor (Ray, Kubernetes, …) passes when :func:`check_executor` passes::

    from alambic.testing import check_executor

    def test_my_executor(tmp_path):
        check_executor(lambda settings: MyExecutor(settings, max_workers=2), tmp_path)

and a materializer when :func:`check_materializer` passes on sample values.
"""

from alambic.testing._executors import check_executor
from alambic.testing._materializers import check_materializer

__all__ = ["check_executor", "check_materializer"]
