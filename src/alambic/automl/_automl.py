"""``al.automl``: a table and a target column in, a leaderboard of models out.

The steps, each in its module: :func:`~alambic.automl.detect` (task, metric, features),
:func:`~alambic.automl.explore` (the data exploration report),
:func:`~alambic.automl.write_candidates` (one editable module per family in the output
folder), the search across candidates (``_search``: one study, shared folds, pruning,
the portfolio first, trials on the executor), the leaderboard (``_leaderboard``: each
candidate's best trial refitted on the training rows, scored on held-out rows,
measured for size and latency), the combinations (``_ensemble``: greedy selection over
the out-of-fold predictions, and a stacked second layer learnt on them), the chosen
model's permutation importances, and the chosen model refitted on every row.

The time budget covers all of it: the search starts trials until 60% of it (a trial
still running at 75% is stopped), then, once the trials tell how long each candidate
takes to fit, goes on while the refits to come leave room; the leaderboard refits
candidates, best first, while the time left allows, and the last of it goes to
refitting the chosen model on every row.

The output folder holds ``problem.json``, the data exploration (``exploration.html``,
``exploration.ipynb``: :func:`~alambic.automl.explore`), ``candidates/`` (and
``candidates.ipynb``, the candidate definition notebook), ``leaderboard.csv``,
``leaderboard.html`` (the Pareto front drawn, the chosen model's feature importances)
and ``result.json``. Run again with the same folder and candidates, the search continues its
study: finished trials are not redone. Once a candidate is edited (or one is added or
removed), the candidates are read as they now are and searched in a new study.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alambic.automl._candidates import load_candidate, write_candidates
from alambic.automl._detect import Problem, detect
from alambic.automl._ensemble import Ensemble, Stacked, cross_fitted_score, greedy_weights, stack
from alambic.automl._explore import (
    Exploration,
    _plain,  # JSON-able values, containers walked
    explore,
)
from alambic.automl._explore_report import write_notebook
from alambic.automl._leaderboard import COLUMNS, importances, measure, pareto, pick, trial_rows
from alambic.automl._report import candidate_notebook, leaderboard_page
from alambic.automl._search import (
    folds_of,
    joint_space,
    metric_labels,
    portfolio_points,
    run_candidate,
    source_hash,
)
from alambic.core import parse_duration
from alambic.errors import AutoMLError

__all__ = ["AutoMLResult", "automl"]

log = logging.getLogger(__name__)
MIN_BUDGET_S = 10.0
SEARCH_SHARE, TRIAL_SHARE = 0.60, 0.25  # of the budget: trials start until, run at most
STOP_SHARE = 0.75  # of the budget: trials still running then are stopped
FINAL_SHARE = 0.05  # of the budget: left for refitting the chosen model on every row
MIN_EXTRA_S = 3.0  # a search continued for less than this would mostly restart workers
REFIT_FACTOR = 1.3  # a fit on every training row, against one fold's (4/5 of them), and some
MAX_STACKED = 5  # members of the stacked layer, at most: the best candidates
MEASURE_S = 1.0  # a refitted candidate's latency and size measures, about
IMPORTANCE_SHARE = 0.05  # of the budget: the chosen model's permutation importances
MARGIN_SHARE = 0.05  # of the budget: the ensembles' weights, the pages, a slow machine
HOLDOUT = 0.1  # rows held out of the search, to score the leaderboard on


@dataclass
class AutoMLResult:
    """What :func:`automl` found.

    Attributes:
        problem: the task, metric and features :func:`detect` decided.
        folder: the output folder.
        leaderboard: one row per candidate, the ensemble and the stacked layer (see
            ``COLUMNS``), best first.
        model: the best candidate (by cross-validation score) refitted on every row,
            packaged with its signature (``predict``; ``predict_proba`` for classes).
        study_name: the search's study (a rerun into ``folder`` continues it).
        trials: every trial of the search.
        seconds: how long it all took (within the budget, refits included).
        exploration: the data exploration (also ``exploration.html`` and ``.ipynb`` in
            ``folder``).
        importances: the chosen model's permutation importances on the held-out rows
            (``feature``, ``importance``, ``std``; most important first).
    """

    problem: Problem
    folder: Path
    leaderboard: pd.DataFrame
    model: Any
    study_name: str
    trials: pd.DataFrame
    seconds: float = 0.0
    exploration: Exploration | None = None
    importances: pd.DataFrame | None = None
    _fitted: dict[str, Any] = field(default_factory=dict, repr=False)
    _data: tuple[Any, Any] | None = field(default=None, repr=False)
    _members: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @property
    def higher(self) -> bool:
        """Whether a higher score is better for the metric."""
        from alambic.evaluation import METRICS

        return METRICS[self.problem.metric][1]

    def pareto_front(self) -> pd.DataFrame:
        """The rows no other row beats on score, size and latency at once."""
        return self.leaderboard[self.leaderboard["pareto"]]

    def pick(self, *, max_latency_ms: float | None = None, max_bytes: float | None = None) -> Any:
        """The best candidate within a latency per row (one row) and a size, refitted on
        every row and packaged (as :attr:`model` is).

        Raises:
            AutoMLError: no candidate is within the limits.
        """
        name = pick(
            self.leaderboard,
            higher=self.higher,
            max_latency_ms=max_latency_ms,
            max_bytes=max_bytes,
        )
        return self._packaged(name)

    def _packaged(self, name: str, *, refit: bool = True) -> Any:
        """A candidate packaged: refitted on every row, or (``refit=False``, when the
        budget has no room left) as fitted on the training rows for the leaderboard."""
        from sklearn.base import clone

        from alambic.models import package

        if self._data is None or name not in self._fitted:
            raise AutoMLError(f"{name} was not refitted: pick from the leaderboard's ok rows")
        features, labels = self._data
        model = clone(self._fitted[name]).fit(features, labels) if refit else self._fitted[name]
        origin = {**self._origin(name), "refit_on_every_row": refit}
        return package(model, features, labels, metadata={"origin": origin})

    def _origin(self, name: str) -> dict[str, Any]:
        """Where a model comes from, kept with it (and in the registry's lineage and card)."""
        board = self.leaderboard
        row = _plain(dict(board.set_index("candidate").loc[name]))
        members = self._members.get(name, [name])  # a combination: its members' code
        paths = [self.folder / "candidates" / f"{m}.py" for m in members]
        code = "\n\n".join(p.read_text() for p in paths if p.exists())
        return {
            "kind": "automl",
            "candidate": name,
            "folder": str(self.folder),
            "study": self.study_name,
            "task": self.problem.task,
            "metric": self.problem.metric,
            "scores": {k: row.get(k) for k in ("cv_score", "cv_std", "holdout_score")},
            "members": members,
            "code": code or row.get("reason", ""),
            "leaderboard": [_plain(r) for r in board.to_dict("records")],
        }

    def register(self, name: str, *, model: Any = None, **options: Any) -> dict[str, Any]:
        """Register a model of this search (default: :attr:`model`) as a new version of
        ``name``, its scores as metrics, its origin (the search, the candidate's code and
        the leaderboard) in its lineage and model card.

        Args:
            name: the model group.
            model: a model :meth:`pick` returned, or :attr:`model`.
            options: more of :func:`alambic.registry.register`'s arguments (``tags``,
                ``description``, ``baseline``, ``calibration``).

        Returns:
            ``{"name", "version", "ref", "status"}``.
        """
        from alambic.registry import register

        chosen = self.model if model is None else model
        origin = chosen.metadata.get("origin") or {}
        scores = origin.get("scores") or {}
        metric = self.problem.metric
        metrics = {
            metric: scores.get("cv_score"),
            f"holdout_{metric}": scores.get("holdout_score"),
        }
        metrics = {k: v for k, v in metrics.items() if v is not None}
        tags = {"automl.candidate": origin.get("candidate", ""), "automl.study": self.study_name}
        tags.update(options.pop("tags", None) or {})
        return dict(register(chosen, name, metrics, tags=tags, **options))


def automl(
    data: Any,
    target: str,
    *,
    task: str | None = None,
    metric: str | None = None,
    time_budget: str | float = "10m",
    n_jobs: int | None = None,
    constraints: dict[str, float] | None = None,
    random_state: int = 0,
    out: str | Path | None = None,
    families: Sequence[str] | None = None,
    keep: Sequence[str] = (),
    executor: str | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
) -> AutoMLResult:
    """Find a good model for predicting ``target`` from the other columns of ``data``.

    Args:
        data: a DataFrame (an ``al.sql`` result is one), or a Parquet or CSV file's path.
        target: the column to predict.
        task: ``binary``, ``multiclass`` or ``regression`` (default: detected).
        metric: the metric to optimise (default: the task's, class imbalance weighed).
        time_budget: the wall-clock budget ("2m", "1h" or seconds), refits included.
        n_jobs: trials at once (default: the machine's cores).
        constraints: ``max_latency_ms`` and ``max_bytes``: :attr:`AutoMLResult.model`
            is then the best candidate within them.
        random_state: seeds the folds, the holdout and the sampler.
        out: the output folder (default: in a pipeline step, ``automl/<step>-<step run>``
            in the home, so that a retried or resumed step continues its search; else a
            new temporary folder).
        families: the model families to try (default: the candidates already in ``out``,
            as they now read, else all that fit the data's size).
        keep: columns to keep as features even if they look like identifiers or leaks.
        executor: ``local`` or ``ray`` (default: the configured one).
        on_progress: called after each trial with ``{"done", "total", "best", "running"}``.

    Raises:
        AutoMLError: the data, target, metric or budget cannot be used (before any work).

    Example:
        >>> from sklearn.datasets import load_breast_cancer
        >>> frame = load_breast_cancer(as_frame=True).frame
        >>> result = automl(frame, "target", time_budget="40s", families=["linear"],
        ...                 n_jobs=1, executor="inline")  # doctest: +SKIP
        >>> result.leaderboard["candidate"].tolist()  # doctest: +SKIP
        ['01_linear']
    """
    started = time.monotonic()
    budget = _budget(time_budget)
    unknown = sorted(set(constraints or {}) - {"max_latency_ms", "max_bytes"})
    if unknown:
        raise AutoMLError(f"unknown constraints {unknown}: use max_latency_ms and max_bytes")
    table = _table(data)
    problem = detect(table, target, task=task, metric=metric, keep=keep, random_state=random_state)
    folder = _folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    _same_problem(folder, problem)
    modules = {p.stem: load_candidate(p) for p in _candidates(problem, folder, families)}
    data_path = _data_path(data, table, folder)
    (folder / "problem.json").write_text(  # what a rerun needs, even of a killed search
        json.dumps(
            {**problem.to_dict(), "keep": list(keep), "data": data_path}, indent=2, default=str
        )
    )
    exploration = explore(table, problem, random_state=random_state, data_path=data_path)
    exploration.write(folder)
    write_notebook(candidate_notebook(problem, modules, data_path), folder / "candidates.ipynb")
    labelled = table.loc[table[target].notna()].reset_index(drop=True)  # every column
    train, holdout = _holdout(labelled[[*problem.features, target]], problem, random_state)
    # every candidate, the ensembles' weights and the stacked layer: the same folds
    folds = folds_of(train[target], problem.task, _n_folds(len(train)), random_state)
    study_name = _study_name(folder, modules)
    trials = _search(
        problem,
        train,
        modules,
        study_name,
        (budget, started),
        folds=folds,
        n_jobs=n_jobs,
        executor=executor,
        random_state=random_state,
        on_progress=on_progress,
    )
    # the rest: the chosen model's importances and its refit on every row
    deadline = started + budget * (1 - FINAL_SHARE - IMPORTANCE_SHARE)
    board, fitted, members = _leaderboard(
        problem, (train, holdout), modules, (trials, folds), deadline
    )
    result = AutoMLResult(
        problem,
        folder,
        board,
        None,
        study_name,
        trials,
        exploration=exploration,
        _fitted=fitted,
        # the model takes the columns it was given (those set aside are read and ignored)
        _data=(labelled.drop(columns=[target]), labelled[target]),
        _members=members,
    )
    board.to_csv(folder / "leaderboard.csv", index=False)  # kept, whatever comes next
    _finish(result, holdout, (budget, started), constraints, data_path)
    return result


def _study_name(folder: Path, modules: dict[str, Any]) -> str:
    """One study per folder and candidates' code: a rerun with the candidates as they
    were continues it (finished trials kept); an edited, added or removed one starts anew."""
    code = [f"{n}={source_hash(_source(m))}" for n, m in sorted(modules.items())]
    key = f"{folder.resolve()}|{'|'.join(code)}"
    return "automl-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _data_path(data: Any, table: pd.DataFrame, folder: Path) -> str | None:
    """The file the data is in: the one given, or (a DataFrame) ``data.parquet`` written
    into the folder, for the notebooks' code and ``alambic automl rerun`` to read."""
    if isinstance(data, str | os.PathLike):
        return str(Path(data).resolve())
    path = folder / "data.parquet"
    try:
        table.to_parquet(path, index=False)
    except Exception as exc:  # columns Parquet cannot hold: the search needs no copy
        log.warning("the data could not be kept as %s (%s): rerun from Python", path, exc)
        return None
    return str(path.resolve())


def _finish(
    result: AutoMLResult,
    holdout: pd.DataFrame,
    clock: tuple[float, float],
    constraints: dict[str, float] | None,
    data_path: str | None,
) -> None:
    """Choose, explain (importances, the leaderboard page), refit on every row if the
    budget has room, and write ``result.json``."""
    board, folder, problem = result.leaderboard, result.folder, result.problem
    budget, started = clock
    if not (board["status"] == "ok").any():
        reasons = "; ".join(f"{r.candidate}: {r.reason}" for r in board.itertuples())
        raise AutoMLError(f"no candidate could be refitted: {reasons}; fix them in {folder}")
    chosen = pick(board, higher=result.higher, **(constraints or {}))
    end = started + budget * (1 - FINAL_SHARE)
    result.importances = _importances(problem, result._fitted[chosen], holdout, end)
    page = leaderboard_page(
        board,
        target=problem.target,
        metric=problem.metric,
        chosen=chosen,
        importances=result.importances,
    )
    (folder / "leaderboard.html").write_text(page)
    seconds = board.loc[board["candidate"] == chosen, "fit_seconds"].astype(float).iloc[0]
    # a fit on every row costs about all rows / training rows of one on the training rows
    seconds = float(seconds) if np.isfinite(seconds) else 0.0
    rows = len(result._data[0]) if result._data is not None else 0
    cost = REFIT_FACTOR * seconds * rows / max(1, rows - len(holdout))
    refit = time.monotonic() + cost <= started + budget
    result.model = result._packaged(chosen, refit=refit)
    result.seconds = time.monotonic() - started
    summary = {
        "chosen": chosen,
        "study": result.study_name,
        "seconds": result.seconds,
        "budget_seconds": budget,
        "data": data_path,
    }
    (folder / "result.json").write_text(json.dumps(summary, indent=2))


def _folder(out: str | Path | None) -> Path:
    """The output folder: the one given; in a pipeline step, one per step run in the
    home (a retried or resumed step continues its search); else a new temporary one."""
    from alambic.config import settings
    from alambic.executors import current_step

    if out is not None:
        return Path(out)
    step = current_step()
    if step is not None and step.step_run:
        return settings().home / "automl" / f"{step.label}-{step.step_run}"
    return Path(tempfile.mkdtemp(prefix="alambic-automl-"))


def _source(module: Any) -> str:
    """A candidate module's text, as it was read."""
    return Path(str(module.__file__)).read_text()


def _same_problem(folder: Path, problem: Problem) -> None:
    """Refuse a folder that holds the search of another problem (its trials would mix)."""
    path = folder / "problem.json"
    if not path.exists():
        return
    try:
        earlier = json.loads(path.read_text())
    except ValueError:
        return
    now = {"target": problem.target, "task": problem.task, "metric": problem.metric}
    before = {k: earlier.get(k) for k in now}
    if before != now:
        raise AutoMLError(
            f"{folder} holds the search of another problem ({before}, now {now}): give "
            "another output folder"
        )


def _candidates(problem: Problem, folder: Path, families: Sequence[str] | None) -> list[Path]:
    """The candidate modules: the folder's own, as they now read (a rerun, or modules a
    user added), else those written now for the families asked for (or all that fit)."""
    existing = sorted((folder / "candidates").glob("[0-9]*.py"))
    if existing and families is None:
        return existing
    return [
        c.path
        for c in write_candidates(problem, folder, families=list(families) if families else None)
    ]


def _budget(value: str | float) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise AutoMLError(
            f"time_budget={value!r} is not a duration: write '2m', '1h' or 90"
        ) from exc
    if seconds is None or seconds < MIN_BUDGET_S:
        raise AutoMLError(
            f"time_budget={value!r} is too small for one trial and the refits: give at least "
            f"{MIN_BUDGET_S:.0f}s"
        )
    return seconds


def _table(data: Any) -> pd.DataFrame:
    """The data as a DataFrame with text column names."""
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.exists():
            raise AutoMLError(f"no file at {path}: give a DataFrame or a Parquet or CSV path")
        if path.suffix.lower() in (".parquet", ".pq"):
            data = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".txt"):
            data = pd.read_csv(path)
        else:
            raise AutoMLError(f"{path.name}: AutoML reads Parquet (.parquet) or CSV (.csv) files")
    if not isinstance(data, pd.DataFrame):
        raise AutoMLError(f"data must be a DataFrame or a file's path, got {type(data).__name__}")
    frame = data.copy()
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _holdout(
    frame: pd.DataFrame, problem: Problem, random_state: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    labels = frame[problem.target]
    stratify = labels if problem.task != "regression" and labels.value_counts().min() >= 2 else None
    train, test = train_test_split(
        frame, test_size=HOLDOUT, random_state=random_state, stratify=stratify
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def _n_folds(rows: int) -> int:
    return 5 if rows <= 20_000 else 3


def _search(
    problem: Problem,
    train: pd.DataFrame,
    modules: dict[str, Any],
    study_name: str,
    clock: tuple[float, float],
    *,
    folds: list[list[int]],
    n_jobs: int | None,
    executor: str | None,
    random_state: int,
    on_progress: Callable[[dict[str, Any]], None] | None,
) -> pd.DataFrame:
    """Run (or continue) the study across every candidate; return its trials.

    ``clock``: the budget in seconds, and ``time.monotonic()`` when it began; ``folds``:
    each fold's held-out row positions."""
    from alambic.config import settings
    from alambic.errors import TuningError
    from alambic.store import ArtifactStore, save_value
    from alambic.tuning import tune

    store = settings().artifacts
    ref = save_value(ArtifactStore(store), train, what="the AutoML training rows")
    jobs = n_jobs or os.cpu_count() or 1
    spec = {
        "store": store,
        "data": ref.to_dict(),
        "target": problem.target,
        "task": problem.task,
        "metric": problem.metric,
        "classes": problem.classes,
        "folds": folds,
        "sources": {name: _source(m) for name, m in modules.items()},
        "unpruned": len(modules),  # the first trials: each candidate's first portfolio entry
        "threads": max(1, (os.cpu_count() or 1) // jobs),
    }
    space = joint_space({name: m.SPACE for name, m in modules.items()})
    points = portfolio_points(
        {name: list(getattr(m, "PORTFOLIO", [])) for name, m in modules.items()},
        {name: m.SPACE for name, m in modules.items()},
    )
    budget, started = clock
    remaining = budget * SEARCH_SHARE - (time.monotonic() - started)
    if remaining <= 0:
        raise AutoMLError(f"the budget ({budget:.0f}s) was spent before the search could start")

    def search(seconds: float, trial_timeout: float, stop_at: float) -> pd.DataFrame:
        try:
            result = tune(
                objective=functools.partial(run_candidate, spec),
                space=space,
                metric=problem.metric,
                timeout=seconds,
                trial_timeout=trial_timeout,
                stop_at=stop_at,
                n_jobs=jobs,
                executor=executor,
                warm_start=points,
                study_name=study_name,
                random_state=random_state,
                pruner="successive_halving",
                refit=False,
                on_progress=on_progress,
            )
        except TuningError as exc:  # no trial finished: the reasons are in the message
            raise AutoMLError(
                f"the search found no model: {exc}. Fix the failing candidates, or give a "
                "larger time_budget if the trials ran out of time"
            ) from exc
        frame: pd.DataFrame = result.trials
        return frame

    # no trial runs past STOP_SHARE of the budget: the refits need the rest
    ends = budget * STOP_SHARE - (time.monotonic() - started)
    trials = search(remaining, max(budget * TRIAL_SHARE, 5.0), max(ends, remaining))
    # The search stopped at SEARCH_SHARE of the budget; what the refits will need is now
    # known from the trials' fit times: the time beyond that goes to more trials (the
    # same study continues: nothing is redone).
    extra, longest = _room_for_trials(problem, modules, trials, clock, len(folds))
    if extra >= max(MIN_EXTRA_S, 0.05 * budget):  # a trial running at its end: at most longest
        trials = search(extra, min(longest, budget * TRIAL_SHARE), extra + longest)
    return trials


def _room_for_trials(
    problem: Problem,
    modules: dict[str, Any],
    trials: pd.DataFrame,
    clock: tuple[float, float],
    n_folds: int,
) -> tuple[float, float]:
    """Seconds the search may go on for and still leave their time to the leaderboard's
    refits and measures, the final refit on every row, the importances and a margin
    (estimated from the fit time per fold of each candidate's best trial); and the
    seconds a trial may then take."""
    from alambic.evaluation import METRICS

    higher = METRICS[problem.metric][1]
    best = trial_rows(trials, list(modules), problem.metric, higher=higher)
    fits = [r["fit_seconds"] for r in best.values() if r["status"] == "ok"]
    fits = [f for f in fits if np.isfinite(f)]
    if not fits:
        return 0.0, 0.0
    budget, started = clock
    # the leaderboard's refits and measures, then the chosen one's refit on every row
    refits = sum(REFIT_FACTOR * f + MEASURE_S for f in fits) + 1.5 * REFIT_FACTOR * max(fits)
    in_flight = 2 * n_folds * max(fits)  # a trial running when the search stops, at most
    left = started + budget * (1 - FINAL_SHARE - IMPORTANCE_SHARE) - time.monotonic()
    return float(left - refits - in_flight - MARGIN_SHARE * budget), float(in_flight)


def _leaderboard(
    problem: Problem,
    split: tuple[pd.DataFrame, pd.DataFrame],
    modules: dict[str, Any],
    searched: tuple[pd.DataFrame, list[list[int]]],
    deadline: float,
) -> tuple[pd.DataFrame, dict[str, Any], dict[str, list[str]]]:
    """Each candidate's best trial refitted on the training rows (best first, while the
    time left allows) and measured on the held-out rows; their ensembles.

    ``searched``: the search's trials and its folds (held-out positions)."""
    from sklearn.exceptions import ConvergenceWarning

    from alambic.evaluation import METRICS

    higher = METRICS[problem.metric][1]
    target = problem.target
    (train, holdout), (trials, folds) = split, searched
    features, labels = train.drop(columns=[target]), train[target]
    test_x = holdout.drop(columns=[target])
    test_y = metric_labels(holdout[target], problem.classes)
    sources = {n: source_hash(_source(m)) for n, m in modules.items()}
    best = trial_rows(trials, list(modules), problem.metric, higher=higher, sources=sources)
    order = sorted(best, key=lambda n: _rank(best[n], higher))
    rows: list[dict[str, Any]] = []
    fitted: dict[str, Any] = {}
    costs: dict[str, float] = {}  # seconds each refitted candidate's scoring took
    for name in order:
        row = {"candidate": name, **best[name]}
        rows.append(row)
        if row["status"] != "ok":
            continue
        # a fit on every training row costs about 5/4 of a fold's (4/5 of the rows);
        # the best is always refitted: a search hands back a model, even a late one
        if fitted and time.monotonic() + REFIT_FACTOR * row["fit_seconds"] > deadline:
            row.update(status="not refitted", reason="the budget ran out before its refit")
            continue
        try:
            with warnings.catch_warnings():  # its trials heard them already
                warnings.simplefilter("ignore", ConvergenceWarning)
                model = modules[name].build(**row["params"]).fit(features, labels)
        except Exception as exc:  # a candidate edited since its trial, say: listed
            row.update(status="failed", reason=f"refit: {type(exc).__name__}: {exc}")
            continue
        started = time.monotonic()
        if _scored(problem, model, row, (features, test_x, test_y)):
            fitted[name] = model
            costs[name] = time.monotonic() - started
    if time.monotonic() < deadline:
        for model, row in _ensembles(problem, best, fitted, labels, folds):
            rows.append(row)
            # scoring a combination costs what scoring its members did, about
            if time.monotonic() + sum(costs[m] for m in row["members"]) > deadline:
                row.update(status="not refitted", reason="the budget ran out before its scoring")
            elif _scored(problem, model, row, (features, test_x, test_y)):
                fitted[row["candidate"]] = model
    members = {r["candidate"]: r["members"] for r in rows if "members" in r}
    board = pd.DataFrame(rows).reindex(columns=COLUMNS)
    board["pareto"] = pareto(board, higher=higher)
    board = board.sort_values(["status", "cv_score"], ascending=[False, not higher], kind="stable")
    return board.reset_index(drop=True), fitted, members


def _scored(problem: Problem, model: Any, row: dict[str, Any], data: tuple[Any, Any, Any]) -> bool:
    """Score a fitted model on the held-out rows and measure its latency and size into
    ``row``; False (the row marked failed, with why) if it cannot."""
    from alambic.evaluation import metric, scores_of

    features, test_x, test_y = data
    try:
        row["holdout_score"] = metric(
            problem.metric, test_y, scores_of(model, test_x, problem.task)
        )
        row.update(measure(model, features))
    except Exception as exc:  # a model that cannot predict the held-out rows: listed
        row.update(status="failed", reason=f"scoring: {type(exc).__name__}: {exc}")
        return False
    return True


def _importances(problem: Problem, model: Any, holdout: pd.DataFrame, end: float) -> pd.DataFrame:
    """The chosen model's permutation importances, in the time left until ``end`` (none,
    with a warning, if they cannot be had)."""
    seconds = min(end - time.monotonic(), 60.0)
    try:
        return _permuted(problem, model, holdout, seconds)
    except Exception as exc:  # the search's result matters more than its importances
        log.warning("no feature importances: %s: %s", type(exc).__name__, exc)
        return pd.DataFrame(columns=["feature", "importance", "std"])


def _permuted(problem: Problem, model: Any, holdout: pd.DataFrame, seconds: float) -> pd.DataFrame:
    return importances(
        model,
        holdout.drop(columns=[problem.target]),
        metric_labels(holdout[problem.target], problem.classes),
        metric=problem.metric,
        task=problem.task,
        seconds=seconds,
    )


def _rank(row: dict[str, Any], higher: bool) -> tuple[int, float]:
    """Best first: finished candidates by score, then the failed."""
    if row["status"] != "ok":
        return 1, 0.0
    return 0, -row["cv_score"] if higher else row["cv_score"]


def _ensembles(
    problem: Problem,
    best: dict[str, dict[str, Any]],
    fitted: dict[str, Any],
    labels: pd.Series,
    folds: list[list[int]],
) -> list[tuple[Any, dict[str, Any]]]:
    """The refitted candidates (``fitted``, best first) combined over their best
    out-of-fold predictions: by greedy selection (``ensemble``), and by a second layer
    learnt on those of the best ``MAX_STACKED`` (``stacked``)."""
    from alambic.config import settings
    from alambic.store import ArtifactRef, ArtifactStore, load_value

    names = [n for n in fitted if best[n].get("oof")]
    if len(names) < 2:
        return []
    store = ArtifactStore(settings().artifacts)
    oof = [np.asarray(load_value(store, ArtifactRef.from_dict(best[n]["oof"]))) for n in names]
    y = metric_labels(labels, problem.classes)
    classes = list(problem.classes) or None
    out: list[tuple[Any, dict[str, Any]]] = []
    weights = greedy_weights(oof, y, problem.metric)
    chosen = [(n, w) for n, w in zip(names, weights, strict=True) if w > 0]
    if len(chosen) >= 2:  # else one model alone is best: the ensemble would be that model
        members = [n for n, _ in chosen]
        model = Ensemble([fitted[n] for n in members], [w for _, w in chosen], classes)
        row = _combined_row("ensemble", members, best)
        row["cv_score"] = cross_fitted_score(oof, y, problem.metric)
        row["reason"] = "weights: " + ", ".join(f"{n} {w:.2f}" for n, w in chosen)
        out.append((model, row))
    top = names[:MAX_STACKED]
    layer, score = stack(oof[: len(top)], y, problem.metric, problem.task, folds)
    row = _combined_row("stacked", top, best)
    row.update(cv_score=score, reason="a second layer over " + ", ".join(top))
    out.append((Stacked([fitted[n] for n in top], layer, classes), row))
    return out


def _combined_row(name: str, members: list[str], best: dict[str, Any]) -> dict[str, Any]:
    return {
        "candidate": name,
        "status": "ok",
        "cv_std": np.nan,
        "fit_seconds": float(sum(best[n]["fit_seconds"] for n in members)),
        "trials": 0,
        "members": members,
    }
