"""Conformance checks for alambic extension points.

A new executor (Ray, Kubernetes, …) passes when :func:`check_executor` passes::

    from alambic.testing import check_executor

    def test_my_executor(tmp_path):
        check_executor(lambda settings: MyExecutor(settings, max_workers=2), tmp_path)
"""

from alambic.testing._executors import check_executor

__all__ = ["check_executor"]
