"""Fraud detection on car listings: one model per vehicle category, in parallel.

For each category (a parameter: auto, moto, loisir): extract its listings with SQL,
split by time, tune a LightGBM classifier (Optuna, trials in parallel on the executor)
and refit the best one, evaluate it on held-out listings and on the
training set, compare it on the same rows (paired bootstrap) with the category's
champion in the registry (its ``production`` version, else its latest approved one; the
first time, a logistic-regression baseline), and register it as a new version of
``fraud-<category>``, pending approval, only if it beats that reference and reaches
``min_auc``.
Metrics, parameters, plots and every tuning trial go to experiment tracking.

    python examples/fraud/generate.py        # examples/fraud/data/listings.parquet (200k rows)
    alambic run examples/fraud/pipeline.py:fraud
    alambic run examples/fraud/pipeline.py:fraud -p categories=moto -p n_trials=40
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from fraud_schema import FEATURES, TARGET  # beside this file

import alambic as al
from alambic import tracking

# Beside this file, wherever the pipeline is run from.
LISTINGS = str(Path(__file__).resolve().parent / "data" / "listings.parquet")


@al.step
def prepare(rows: pd.DataFrame, test_size: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Features as the model sees them, split so the test set is the latest listings."""
    from alambic.data import split

    frame = rows[["listing_id", *FEATURES, TARGET]].copy()
    frame["brand"] = frame["brand"].astype("category")
    return split(frame, test_size=test_size, time_column="listing_id")


# The search space is data: it could live in a YAML file next to the pipeline.
SPACE = {
    "n_estimators": {"type": "int", "low": 50, "high": 300, "step": 25},
    "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
    "num_leaves": {"type": "int", "low": 8, "high": 64, "log": True},
    "min_child_samples": {"type": "int", "low": 10, "high": 100},
    "colsample_bytree": {"type": "float", "low": 0.5, "high": 1.0},
}


@al.step
def tune_model(train: pd.DataFrame, n_trials: int, n_jobs: int, random_state: int) -> Any:
    """Tune LightGBM by 3-fold cross-validation, then refit the best point on all of train."""
    import lightgbm

    result = al.tune(
        lightgbm.LGBMClassifier(verbose=-1, n_jobs=1, random_state=random_state),
        SPACE,
        data=train[[*FEATURES, TARGET]],
        target=TARGET,
        metric="roc_auc",
        cv=3,
        n_trials=n_trials,
        n_jobs=n_jobs,
        pruner="median",
        random_state=random_state,
    )
    tracking.log_params(result.best_params)
    tracking.log_metrics({"cv_roc_auc": result.best_value})
    return result.model


@al.step
def baseline(train: pd.DataFrame) -> Any:
    """The reference to beat: a logistic regression on the numeric signals."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    numeric = [f for f in FEATURES if f != "brand"]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return model.fit(train[numeric], train[TARGET])


@al.step(cache=False)  # asks the registry each time: a person may have promoted since
def champion(category: str, candidate: Any) -> Any:
    """The category's production model, else its latest approved one (None the first time).

    A version holding this very candidate does not count: re-running on unchanged data
    compares with the same reference as before, so the assessment stays cached.
    """
    from alambic import registry
    from alambic.errors import NotFoundError
    from alambic.store import ArtifactStore, save_value

    own = save_value(ArtifactStore(al.config.settings().artifacts), candidate).hash  # names it
    name = f"fraud-{category}"
    try:
        chosen = registry.resolve(f"{name}@production")
    except NotFoundError:
        try:
            approved = [
                v for v in registry.registry_store().versions(name) if v.status == registry.APPROVED
            ]
        except NotFoundError:
            approved = []
        chosen = approved[-1] if approved else None
    if chosen is None or chosen.model["hash"] == own:
        return None
    return registry.load_model(chosen.ref)


@al.step
def assess(
    model: Any,
    reference: Any,
    previous: Any,
    train: pd.DataFrame,
    test: pd.DataFrame,
    margin: float,
    category: str,
) -> dict[str, Any]:
    """Evaluate on held-out listings; compare with the champion (else the baseline)."""
    from alambic.evaluation import compare, evaluate

    numeric = [f for f in FEATURES if f != "brand"]

    class _Numeric:  # the baseline reads the numeric columns only
        def predict_proba(self, frame: pd.DataFrame) -> Any:
            return reference.predict_proba(frame[numeric])

    report = evaluate(
        model,
        test[FEATURES],
        test[TARGET],
        train=(train[FEATURES], train[TARGET]),
        n_boot=200,
        ci_metrics=["roc_auc", "pr_auc"],
    )
    against = "champion" if previous is not None else "baseline"
    verdict = compare(
        model,
        previous if previous is not None else _Numeric(),
        test[FEATURES],
        test[TARGET],
        metric_name="roc_auc",
        n_boot=200,
    )
    tracking.log_metrics(report.metrics)
    tracking.log_metrics({f"train_{k}": v for k, v in report.train_metrics.items()})
    for name, png in report.plots.items():
        tracking.log_artifact(png, name)
    return {
        "category": category,
        "rows": len(train) + len(test),
        "fraud_rate": round(float(test[TARGET].mean()), 4),
        "roc_auc": round(report.metrics["roc_auc"], 4),
        "cv_roc_auc": round(float(model.metadata["tuning"]["best_values"]["roc_auc"]), 4),
        "pr_auc": round(report.metrics["pr_auc"], 4),
        "train_roc_auc": round(report.train_metrics["roc_auc"], 4),
        "against": against,
        "reference_roc_auc": round(float(verdict.reference or 0.0), 4),
        "gain_ci": [round(verdict.ci_low, 4), round(verdict.ci_high, 4)],
        "ci": {k: [round(v[0], 4), round(v[1], 4)] for k, v in report.ci.items()},
        "passed": verdict.passed(margin),
    }


@al.step
def publish(verdict: dict[str, Any], model: Any, train: pd.DataFrame, test: pd.DataFrame) -> str:
    """Register the model as a new version of its category's group, pending approval,
    with its training data's profile (the baseline its monitors compare traffic with) and
    its held-out scores (which calibrate the performance estimated before labels)."""
    version = al.register(
        model,
        f"fraud-{verdict['category']}",
        baseline=train[FEATURES],
        calibration=(test[FEATURES], test[TARGET]),
        metrics={"roc_auc": verdict["roc_auc"], "pr_auc": verdict["pr_auc"]},
        evaluation={
            "against": verdict["against"],
            "gain_ci": verdict["gain_ci"],
            "ci": verdict["ci"],
        },
        description=f"Flags fraudulent {verdict['category']} listings.",
    )
    print(f"registered {version['ref']} ({version['status']})")
    return str(version["ref"])


@al.step
def summary(verdicts: list[dict[str, Any]], published: list[str]) -> list[dict[str, Any]]:
    """One flat row per category (the intervals stay with the registered versions)."""
    versions = {ref.split("/")[0].removeprefix("fraud-"): ref for ref in published}
    return [
        {**{k: x for k, x in v.items() if k != "ci"}, "registered": versions.get(v["category"], "")}
        for v in verdicts
    ]


@al.pipeline
def fraud(
    source: str = LISTINGS,
    categories: tuple[str, ...] = ("auto", "moto", "loisir"),
    test_size: float = 0.25,
    n_trials: int = 12,
    n_jobs: int = 2,
    min_auc: float = 0.8,
    margin: float = 0.0,
    random_state: int = 42,
) -> list[dict[str, Any]]:
    for category in al.map(categories):
        rows = al.sql.with_options(name="extract")(
            "SELECT * FROM listings WHERE category = $category",
            params={"category": category},
            sources={"listings": source},
            min_rows=1,  # an unknown category fails here, not deep in scikit-learn
        )
        train, test = prepare(rows, test_size)
        model = tune_model(train, n_trials, n_jobs, random_state)
        previous = champion(category, model)
        verdict = assess(model, baseline(train), previous, train, test, margin, category)
        with al.when((verdict["roc_auc"] >= min_auc) & verdict["passed"]):
            published = publish(verdict, model, train, test)
    return summary(verdict, published)
