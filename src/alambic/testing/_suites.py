"""The conformance suites as pytest base classes: subclass one, each property is a test.

Each test method runs one ``check_*`` property of :mod:`alambic.testing` on the plugin
the subclass builds; this module is the only part of :mod:`alambic.testing` that needs
pytest.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from alambic.config import Settings, settings
from alambic.executors import BaseExecutor
from alambic.models import Flavor
from alambic.store import ArtifactStore, Materializer
from alambic.testing._executors import (
    check_a_crash_fails_only_its_task,
    check_cancel_stops_a_task,
    check_errors_are_results,
    check_output_is_captured,
    check_tasks_overlap,
    check_values_round_trip,
)
from alambic.testing._flavors import (
    check_deterministic as check_flavor_deterministic,
)
from alambic.testing._flavors import (
    check_matches,
    check_packaged,
    check_saves_safely,
)
from alambic.testing._flavors import (
    check_registered as check_flavor_registered,
)
from alambic.testing._flavors import (
    check_round_trip as check_flavor_round_trip,
)
from alambic.testing._materializers import (
    _default_equal,
    check_chosen_for_its_samples,
    check_deterministic,
    check_registered,
    check_round_trip,
)

__all__ = ["ExecutorConformance", "FlavorConformance", "MaterializerConformance"]


class ExecutorConformance:
    """The executor conformance suite as pytest tests: subclass it and say how to build one.

    Example (in a test module of yours)::

        from alambic.testing import ExecutorConformance

        class TestMyExecutor(ExecutorConformance):
            isolated = True  # tasks run in other processes: crashes and cancels are checked

            def make_executor(self, settings):
                return MyExecutor(settings, max_workers=2)

    Attributes:
        isolated: the executor runs tasks in other processes (crash and cancel checks).
        parallel: tasks overlap when ``max_workers`` > 1 (the overlap check).
        timeout: the longest any check may wait for results, in seconds.
    """

    isolated: ClassVar[bool] = True
    parallel: ClassVar[bool] = True
    timeout: ClassVar[float] = 120.0

    def make_executor(self, settings: Settings) -> BaseExecutor:
        """Build the executor under test from ``settings``."""
        raise NotImplementedError("define make_executor(self, settings) in your test class")

    @pytest.fixture
    def executor(self, tmp_path: Path) -> Iterator[BaseExecutor]:
        """The executor under test, its artifacts in ``tmp_path``, shut down afterwards."""
        built = self.make_executor(replace(settings(), artifacts=str(tmp_path / "artifacts")))
        try:
            yield built
        finally:
            built.shutdown()

    def test_values_round_trip(self, executor: BaseExecutor, tmp_path: Path) -> None:
        check_values_round_trip(executor, tmp_path, self.timeout)

    def test_output_is_captured(self, executor: BaseExecutor, tmp_path: Path) -> None:
        check_output_is_captured(executor, tmp_path, self.timeout)

    def test_errors_are_results(self, executor: BaseExecutor, tmp_path: Path) -> None:
        check_errors_are_results(executor, tmp_path, self.timeout)

    def test_tasks_overlap(self, executor: BaseExecutor, tmp_path: Path) -> None:
        if not self.parallel or executor.max_workers < 2:
            pytest.skip("not a parallel executor (parallel = False or max_workers < 2)")
        check_tasks_overlap(executor, tmp_path, self.timeout)

    def test_a_crash_fails_only_its_task(self, executor: BaseExecutor, tmp_path: Path) -> None:
        if not self.isolated:
            pytest.skip("tasks run in the caller's process (isolated = False)")
        check_a_crash_fails_only_its_task(executor, tmp_path, self.timeout)

    def test_cancel_stops_a_task(self, executor: BaseExecutor, tmp_path: Path) -> None:
        if not self.isolated:
            pytest.skip("tasks run in the caller's process (isolated = False)")
        check_cancel_stops_a_task(executor, tmp_path, self.timeout)


class MaterializerConformance:
    """The materializer conformance suite as pytest tests.

    Example (in a test module of yours)::

        from alambic.testing import MaterializerConformance

        class TestTorchMaterializer(MaterializerConformance):
            def make_materializer(self):
                return alambic.store.register_materializer(TorchModule())

            def samples(self):
                return [torch.nn.Linear(2, 1)]

            def equal(self, a, b):
                return all((x == y).all() for x, y in zip(a.state_dict().values(), ...))
    """

    def make_materializer(self) -> Materializer:
        """The registered materializer under test."""
        raise NotImplementedError("define make_materializer(self) in your test class")

    def samples(self) -> list[Any]:
        """Values of the types it handles."""
        raise NotImplementedError("define samples(self) in your test class")

    def equal(self, loaded: Any, sample: Any) -> bool:
        """Whether a loaded value equals its sample (default ``==``)."""
        return _default_equal(loaded, sample)

    @pytest.fixture
    def materializer(self) -> Materializer:
        """The materializer under test."""
        return self.make_materializer()

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[ArtifactStore]:
        """An empty artifact store."""
        yield ArtifactStore(str(tmp_path / "artifacts"))

    def test_registered(self, materializer: Materializer) -> None:
        check_registered(materializer)

    def test_chosen_for_its_samples(self, materializer: Materializer) -> None:
        check_chosen_for_its_samples(materializer, self.samples())

    def test_deterministic(self, materializer: Materializer, store: ArtifactStore) -> None:
        check_deterministic(store, materializer, self.samples())

    def test_round_trip(self, materializer: Materializer, store: ArtifactStore) -> None:
        check_round_trip(store, materializer, self.samples(), self.equal)


class FlavorConformance:
    """The model flavor conformance suite as pytest tests.

    Example (in a test module of yours)::

        from alambic.testing import FlavorConformance

        class TestCatBoostFlavor(FlavorConformance):
            def make_flavor(self):
                return alambic.models.register_flavor(CatBoostFlavor())

            def make_model(self):
                return CatBoostClassifier(iterations=5).fit(X, y)

            def features(self):
                return X[:10]
    """

    def make_flavor(self) -> Flavor:
        """The registered flavor under test."""
        raise NotImplementedError("define make_flavor(self) in your test class")

    def make_model(self) -> Any:
        """A trained model of the flavor's framework."""
        raise NotImplementedError("define make_model(self) in your test class")

    def features(self) -> Any:
        """Rows to predict on."""
        raise NotImplementedError("define features(self) in your test class")

    def predict(self, model: Any, features: Any) -> Any:
        """A model's predictions (default ``model.predict(features)``)."""
        return model.predict(features)

    @pytest.fixture
    def flavor(self) -> Flavor:
        """The flavor under test."""
        return self.make_flavor()

    @pytest.fixture
    def model(self) -> Any:
        """A trained model of its framework."""
        return self.make_model()

    def test_matches_its_models_only(self, flavor: Flavor, model: Any) -> None:
        check_matches(flavor, model)

    def test_registered(self, flavor: Flavor, model: Any) -> None:
        check_flavor_registered(flavor, model)

    def test_saves_files_described_in_json(self, flavor: Flavor, model: Any) -> None:
        check_saves_safely(flavor, model)

    def test_deterministic(self, flavor: Flavor, model: Any) -> None:
        check_flavor_deterministic(flavor, model)

    def test_round_trip(self, flavor: Flavor, model: Any) -> None:
        check_flavor_round_trip(flavor, model, self.features(), self.predict)

    def test_packaged(self, flavor: Flavor, model: Any) -> None:
        check_packaged(flavor, model, self.features(), self.predict)
