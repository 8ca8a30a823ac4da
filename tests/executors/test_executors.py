"""Built-in executors pass the conformance suite that third-party executors run too."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from alambic.config import Settings
from alambic.errors import ConformanceError, ExecutorError
from alambic.executors import (
    BaseExecutor,
    InlineExecutor,
    LocalExecutor,
    available_executors,
    create_executor,
    executor_registry,
    register_executor,
)
from alambic.testing import ExecutorConformance, check_executor


class TestLocalExecutor(ExecutorConformance):
    def make_executor(self, settings: Settings) -> BaseExecutor:
        return LocalExecutor(settings, max_workers=2)


class TestInlineExecutor(ExecutorConformance):
    isolated = parallel = False

    def make_executor(self, settings: Settings) -> BaseExecutor:
        return InlineExecutor(settings)


class Forgetful(InlineExecutor):
    """Loses every result."""

    def wait(self, timeout: float) -> list:  # type: ignore[type-arg]
        super().wait(timeout)
        return []


def test_the_suite_catches_a_broken_executor(tmp_path: Path) -> None:
    with pytest.raises(ConformanceError, match="no result"):
        check_executor(lambda s: Forgetful(s), tmp_path, isolated=False, parallel=False, timeout=2)


def test_check_executor_runs_the_whole_suite_in_one_call(tmp_path: Path) -> None:
    check_executor(lambda s: LocalExecutor(s, max_workers=2), tmp_path)


def test_executors_are_plugins_found_by_name(tmp_path: Path) -> None:
    assert {"inline", "local"} <= set(available_executors())

    class Custom(InlineExecutor):
        name = "custom"

    settings = Settings(
        home=tmp_path, db_url="sqlite://", artifacts=str(tmp_path), executor="custom"
    )
    with executor_registry.preserved():
        register_executor("custom", Custom)
        assert "custom" in available_executors()
        executor: BaseExecutor = create_executor(settings)
        assert isinstance(executor, Custom)
    assert "custom" not in available_executors(), "preserved() undid the registration"
    with pytest.raises(ExecutorError, match="unknown executor 'nope'; set ALAMBIC_EXECUTOR"):
        create_executor(settings, "nope")


def test_an_executor_registered_by_path_loads_only_when_used(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, db_url="sqlite://", artifacts=str(tmp_path))
    with executor_registry.preserved():
        register_executor("later", "tests.executors.helpers:NoSuchExecutor")
        assert "later" in available_executors()  # nothing imported yet
        with pytest.raises(ExecutorError, match=r"'later' cannot be loaded from tests\.executors"):
            create_executor(settings, "later")


def test_workers_are_reused_by_the_next_run_and_reload_changed_files(tmp_path: Path) -> None:
    import os
    import textwrap

    import alambic as al

    source = textwrap.dedent(
        """
        import os
        import alambic as al

        @al.step
        def who(tag: str) -> list:
            return [os.getpid(), "VERSION"]

        @al.pipeline
        def reuse(tag: str = "a") -> list:
            return who(tag)
        """
    )
    path = tmp_path / "reuse_flow.py"
    path.write_text(source.replace("VERSION", "v1"))
    first = al.run(al.pipelines.load_pipeline(f"{path}:reuse"), params={"tag": "a"}, max_workers=1)
    pid, version = first.result()
    assert version == "v1" and pid != os.getpid()

    path.write_text(source.replace("VERSION", "v2"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = al.run(al.pipelines.load_pipeline(f"{path}:reuse"), params={"tag": "b"}, max_workers=1)
    assert second.result() == [pid, "v2"]  # same worker process, new code


def test_a_worker_refuses_code_edited_after_the_pipeline_was_loaded(tmp_path: Path) -> None:
    import os
    import textwrap

    import alambic as al

    source = textwrap.dedent(
        """
        import alambic as al

        @al.step
        def double(x: int) -> int:
            return x * FACTOR

        @al.pipeline
        def stale(x: int = 1) -> int:
            return double(x)
        """
    )
    path = tmp_path / "stale_flow.py"
    path.write_text(source.replace("FACTOR", "2"))
    loaded = al.pipelines.load_pipeline(f"{path}:stale")
    assert al.run(loaded, params={"x": 1}, max_workers=1).result() == 2
    path.write_text(source.replace("FACTOR", "3"))  # edited; `loaded` is the old code
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    run = al.run(loaded, params={"x": 2}, max_workers=1)
    assert run.status == "failed"
    assert "changed on disk after the pipeline was loaded" in (run.step("double").error or "")
    # Nothing was cached under the old code's key: a fresh load computes the right value.
    assert al.run(al.pipelines.load_pipeline(f"{path}:stale"), params={"x": 2}).result() == 6


def test_steps_do_not_leak_working_folder_or_environment(tmp_path: Path) -> None:
    import os
    import textwrap

    import alambic as al

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_text("hello")
    path = tmp_path / "leaky_flow.py"
    path.write_text(
        textwrap.dedent(
            """
        import os
        import alambic as al

        @al.step
        def wander(tag: str) -> str:
            os.chdir("/")
            os.environ["LEAKED"] = tag
            return tag

        @al.step
        def read(tag: str) -> str:
            return open("data/in.txt").read() + str(os.environ.get("LEAKED"))

        @al.pipeline
        def first(tag: str = "a") -> str:
            return wander(tag)

        @al.pipeline
        def second(tag: str = "b") -> str:
            return read(tag)
        """
        )
    )
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert al.run(al.pipelines.load_pipeline("leaky_flow.py:first"), max_workers=1).succeeded
        assert (
            al.run(al.pipelines.load_pipeline("leaky_flow.py:second"), max_workers=1).result()
            == "helloNone"
        )
    finally:
        os.chdir(cwd)


def test_tuple_annotated_arguments_arrive_as_tuples_and_others_as_sent() -> None:

    from alambic.executors._worker import _as_annotated

    def step(
        a: tuple[int, ...],
        b: tuple[int, ...] | None,
        c: typing.Optional[tuple[int, int]],  # noqa: UP045 - the old spelling works too
        d: list[int] | tuple[int, ...],
        e: list[int],
    ) -> None: ...

    given = {name: [1, 2] for name in "abcde"}
    converted = _as_annotated(step, dict(given))
    assert {k: type(v).__name__ for k, v in converted.items()} == {
        "a": "tuple",
        "b": "tuple",
        "c": "tuple",
        "d": "list",
        "e": "list",
    }


def test_executor_map_answers_in_order_on_workers_and_names_a_failing_call(
    tmp_path: Path,
) -> None:
    import json

    import pandas as pd

    from alambic.config import settings
    from alambic.data import _profile
    from alambic.errors import ExecutorError
    from alambic.executors import executor_map

    calls = [([i, "x"],) for i in range(5)]
    assert executor_map(json.dumps, calls, settings=settings(), max_workers=2) == [
        json.dumps(*call) for call in calls
    ]
    pd.DataFrame({"x": [1.0, 2.0]}).to_parquet(tmp_path / "x.parquet")
    good = (str(tmp_path / "x.parquet"), 10)
    (answer,) = executor_map(_profile._profile_file, [good], settings=settings())
    assert _profile.Profile.from_dict(answer).rows == 2
    with pytest.raises(ExecutorError, match=r"_profile_file-1 failed: DataError: no such file"):
        executor_map(_profile._profile_file, [good, ("/nowhere", 10)],
                     settings=settings(), executor="inline")  # fmt: skip
    import math

    with pytest.raises(ExecutorError, match="positional-only"):
        executor_map(math.sqrt, [(4.0,)], settings=settings())
