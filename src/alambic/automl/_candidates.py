"""Candidates as readable code: one formatted Python module per model family.

:func:`write_candidates` writes ``candidates/01_lightgbm.py``, ``02_xgboost.py``… into
an output folder, for the problem :func:`~alambic.automl.detect` found. Each module is
written for a person to read and edit, and holds:

- the columns by kind (``NUMERIC``, ``CATEGORIES``, ``HIGH_CARDINALITY``, ``DATETIMES``);
- ``SPACE``, the search space (:mod:`alambic.tuning`'s ``Int``, ``Float``,
  ``Categorical``, keyed by the pipeline's ``step__parameter`` names);
- ``PORTFOLIO``, configurations known to do well on many tables, tried first;
- ``build(**params)``, the scikit-learn ``Pipeline``: imputation, encoding, scaling where
  the model needs it, the model.

:func:`load_candidate` imports one back as it now reads, so an edited candidate is what
the next search tunes. Importing a module runs it: an output folder's candidates are code,
to be trusted as a script is (rerun only folders you wrote or read). The models they
make are stored with skops, not pickle: serving one runs no candidate code.

Families: LightGBM, XGBoost, HistGradientBoosting, random forest, extra trees, a linear
model on scaled features, and, where the data is small enough for them, kNN and an SVM;
a scikit-learn MLP; CatBoost when it is installed (``pip install 'alambic[catboost]'``).

Example:
    >>> import pandas as pd, tempfile
    >>> from alambic.automl import detect
    >>> frame = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "y": [0, 1] * 3})
    >>> folder = tempfile.mkdtemp()
    >>> [c.name for c in write_candidates(detect(frame, "y"), folder)][:2]
    ['01_lightgbm', '02_xgboost']
    >>> module = load_candidate(f"{folder}/candidates/01_lightgbm.py")
    >>> type(module.build().steps[-1][1]).__name__
    'LGBMClassifier'
"""

from __future__ import annotations

import importlib.util
import logging
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from alambic.automl._detect import Problem
from alambic.errors import AutoMLError

__all__ = ["FAMILIES", "Candidate", "Family", "load_candidate", "write_candidates"]

log = logging.getLogger(__name__)

KNN_ROWS = 20_000  # kNN predicts by distance to every training row: small tables only
SVM_ROWS = 5_000  # kernel SVMs fit in time quadratic in the rows


@dataclass(frozen=True)
class Family:
    """A model family: how its candidate module reads.

    Attributes:
        key: the file's name after its number (``lightgbm``).
        title: what the module's docstring calls it.
        scaled: whether its features are imputed, one-hot encoded and scaled (linear
            models, kNN, SVM, MLP) rather than given as they are to trees.
        imports: ``(module, name)`` of the model classes (classifier, regressor).
        model: the model's constructor, with ``{cls}`` for the class chosen by task.
        space: the lines of ``SPACE`` (``regression_space`` where regression differs).
        portfolio: the lines of ``PORTFOLIO`` (``regression_portfolio`` likewise).
        max_rows: the family is left out of larger tables (None: never).
        extra: the optional extra that installs its library, when it is not part of
            ``alambic[automl]`` (left out quietly when not installed).
    """

    key: str
    title: str
    scaled: bool
    imports: tuple[tuple[str, str], tuple[str, str]]
    model: str
    space: tuple[str, ...]
    portfolio: tuple[str, ...]
    max_rows: int | None = None
    extra: str | None = None
    regression_space: tuple[str, ...] | None = None
    regression_portfolio: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Candidate:
    """A candidate written to the output folder."""

    number: int
    family: str
    path: Path

    @property
    def name(self) -> str:
        """``01_lightgbm``: the module's file name without ``.py``."""
        return self.path.stem


_BOOSTED = (
    '    "model__n_estimators": Int(50, 2000, log=True),',
    '    "model__learning_rate": Float(0.01, 0.3, log=True),',
)
_SAMPLED = (  # rows and columns sampled per tree, and an L2 penalty on the leaves
    '    "model__subsample": Float(0.5, 1.0),',
    '    "model__colsample_bytree": Float(0.3, 1.0),',
    '    "model__reg_lambda": Float(1e-3, 10.0, log=True),',
)
_DEFAULTS = '    {"model__n_estimators": 100},'
FAMILIES: tuple[Family, ...] = (
    Family(
        key="lightgbm",
        title="LightGBM (gradient-boosted trees, leaf-wise)",
        scaled=False,
        imports=(("lightgbm", "LGBMClassifier"), ("lightgbm", "LGBMRegressor")),
        model="{cls}(n_jobs=1, random_state=0, verbose=-1, subsample_freq=1)",
        space=(
            *_BOOSTED,
            '    "model__num_leaves": Int(7, 255, log=True),',
            '    "model__min_child_samples": Int(2, 100, log=True),',
            *_SAMPLED,
        ),
        portfolio=(
            _DEFAULTS,
            "    {",
            '        "model__n_estimators": 500,',
            '        "model__learning_rate": 0.05,',
            '        "model__num_leaves": 31,',
            '        "model__colsample_bytree": 0.7,',
            "    },",
            "    {",
            '        "model__n_estimators": 300,',
            '        "model__learning_rate": 0.1,',
            '        "model__num_leaves": 15,',
            '        "model__min_child_samples": 5,',
            "    },",
        ),
    ),
    Family(
        key="xgboost",
        title="XGBoost (gradient-boosted trees, depth-wise)",
        scaled=False,
        imports=(("xgboost", "XGBClassifier"), ("xgboost", "XGBRegressor")),
        model='{cls}(n_jobs=1, random_state=0, tree_method="hist")',
        space=(
            *_BOOSTED,
            '    "model__max_depth": Int(2, 10),',
            '    "model__min_child_weight": Float(0.5, 20.0, log=True),',
            *_SAMPLED,
        ),
        portfolio=(
            _DEFAULTS,
            "    {",
            '        "model__n_estimators": 400,',
            '        "model__learning_rate": 0.05,',
            '        "model__max_depth": 6,',
            '        "model__subsample": 0.8,',
            '        "model__colsample_bytree": 0.8,',
            "    },",
        ),
    ),
    Family(
        key="hist_gradient_boosting",
        title="scikit-learn's HistGradientBoosting",
        scaled=False,
        imports=(
            ("sklearn.ensemble", "HistGradientBoostingClassifier"),
            ("sklearn.ensemble", "HistGradientBoostingRegressor"),
        ),
        model="{cls}(random_state=0, early_stopping=False)",
        space=(
            '    "model__max_iter": Int(50, 1000, log=True),',
            '    "model__learning_rate": Float(0.01, 0.3, log=True),',
            '    "model__max_leaf_nodes": Int(7, 127, log=True),',
            '    "model__min_samples_leaf": Int(2, 100, log=True),',
            '    "model__l2_regularization": Float(1e-4, 10.0, log=True),',
            '    "model__max_features": Float(0.3, 1.0),',
        ),
        portfolio=(
            '    {"model__max_iter": 100, "model__learning_rate": 0.1},',
            '    {"model__max_iter": 500, "model__learning_rate": 0.05},',
        ),
    ),
    Family(
        key="random_forest",
        title="a random forest",
        scaled=False,
        imports=(
            ("sklearn.ensemble", "RandomForestClassifier"),
            ("sklearn.ensemble", "RandomForestRegressor"),
        ),
        model="{cls}(n_jobs=1, random_state=0)",
        space=(
            '    "model__n_estimators": Int(100, 500, log=True),',
            '    "model__max_features": Float(0.05, 1.0, log=True),',
            '    "model__min_samples_leaf": Int(1, 20, log=True),',
            '    "model__bootstrap": Categorical([True, False]),',
        ),
        portfolio=(
            '    {"model__n_estimators": 300},',
            '    {"model__n_estimators": 300, "model__max_features": 0.5},',
        ),
    ),
    Family(
        key="extra_trees",
        title="extremely randomised trees",
        scaled=False,
        imports=(
            ("sklearn.ensemble", "ExtraTreesClassifier"),
            ("sklearn.ensemble", "ExtraTreesRegressor"),
        ),
        model="{cls}(n_jobs=1, random_state=0)",
        space=(
            '    "model__n_estimators": Int(100, 500, log=True),',
            '    "model__max_features": Float(0.05, 1.0, log=True),',
            '    "model__min_samples_leaf": Int(1, 20, log=True),',
        ),
        portfolio=('    {"model__n_estimators": 300},',),
    ),
    Family(
        key="linear",
        title="a linear model on scaled features",
        scaled=True,
        imports=(("sklearn.linear_model", "LogisticRegression"), ("sklearn.linear_model", "Ridge")),
        model="{cls}(max_iter=2000)",
        space=('    "model__C": Float(1e-3, 100.0, log=True),',),
        portfolio=('    {"scale": "standard", "model__C": 1.0},',),
        regression_space=('    "model__alpha": Float(1e-3, 100.0, log=True),',),
        regression_portfolio=('    {"scale": "standard", "model__alpha": 1.0},',),
    ),
    Family(
        key="knn",
        title="k nearest neighbours on scaled features",
        scaled=True,
        imports=(
            ("sklearn.neighbors", "KNeighborsClassifier"),
            ("sklearn.neighbors", "KNeighborsRegressor"),
        ),
        model="{cls}()",
        space=(
            '    "model__n_neighbors": Int(1, 50, log=True),',
            '    "model__weights": Categorical(["uniform", "distance"]),',
            '    "model__p": Categorical([1, 2]),',
        ),
        portfolio=(
            '    {"scale": "minmax", "model__n_neighbors": 3},',
            '    {"scale": "standard", "model__n_neighbors": 5},',
        ),
        max_rows=KNN_ROWS,
    ),
    Family(
        key="svm",
        title="a support vector machine (RBF kernel) on scaled features",
        scaled=True,
        imports=(("sklearn.svm", "SVC"), ("sklearn.svm", "SVR")),
        model="{cls}()",
        space=(
            '    "model__C": Float(0.1, 100.0, log=True),',
            '    "model__gamma": Float(1e-4, 1.0, log=True),',
        ),
        portfolio=(
            '    {"scale": "minmax", "model__C": 10.0, "model__gamma": 0.1},',
            '    {"scale": "standard", "model__C": 1.0, "model__gamma": 0.02},',
        ),
        max_rows=SVM_ROWS,
    ),
    Family(
        key="mlp",
        title="a neural network (scikit-learn's MLP) on scaled features",
        scaled=True,
        imports=(
            ("sklearn.neural_network", "MLPClassifier"),
            ("sklearn.neural_network", "MLPRegressor"),
        ),
        model="{cls}(max_iter=300, early_stopping=True, random_state=0)",
        space=(
            '    "width": Int(32, 512, log=True),  # units per hidden layer',
            '    "depth": Int(1, 3),  # hidden layers',
            '    "model__alpha": Float(1e-6, 1e-1, log=True),',
            '    "model__learning_rate_init": Float(1e-4, 1e-2, log=True),',
        ),
        portfolio=(
            '    {"scale": "standard", "width": 128, "depth": 1},',
            '    {"scale": "standard", "width": 256, "depth": 2},',
        ),
    ),
    Family(
        key="catboost",
        title="CatBoost (gradient-boosted oblivious trees)",
        scaled=False,
        imports=(("catboost", "CatBoostClassifier"), ("catboost", "CatBoostRegressor")),
        model="{cls}(thread_count=1, random_seed=0, verbose=0)",
        space=(
            '    "model__iterations": Int(50, 2000, log=True),',
            '    "model__learning_rate": Float(0.01, 0.3, log=True),',
            '    "model__depth": Int(3, 10),',
            '    "model__l2_leaf_reg": Float(0.1, 30.0, log=True),',
        ),
        portfolio=(
            "    {",
            '        "model__iterations": 300,',
            '        "model__learning_rate": 0.1,',
            '        "model__depth": 6,',
            "    },",
            "    {",
            '        "model__iterations": 800,',
            '        "model__learning_rate": 0.05,',
            '        "model__depth": 6,',
            "    },",
        ),
        extra="catboost",
    ),
)


def write_candidates(
    problem: Problem, folder: str | Path, *, families: list[str] | None = None
) -> list[Candidate]:
    """Write one candidate module per family that fits the problem into ``folder/candidates``.

    A module already there is left as it is (a user may have edited it), so writing again
    into the same folder only adds what is missing.

    Args:
        problem: what :func:`~alambic.automl.detect` found.
        folder: the AutoML output folder.
        families: the family keys to write (default: every one that fits the data's size).

    Raises:
        AutoMLError: an unknown family.
    """
    known = [f.key for f in FAMILIES]
    unknown = sorted(set(families or ()) - set(known))
    if unknown:
        raise AutoMLError(f"unknown candidate families {unknown}; known: {', '.join(known)}")
    out = Path(folder) / "candidates"
    out.mkdir(parents=True, exist_ok=True)
    written: list[Candidate] = []
    for family in FAMILIES:
        if families is not None and family.key not in families:
            continue
        if families is None and family.max_rows is not None and problem.rows > family.max_rows:
            continue
        if importlib.util.find_spec(family.imports[0][0].split(".")[0]) is None:
            extra = family.extra or "automl"
            if families is not None:
                raise AutoMLError(
                    f"the {family.key} family needs {family.imports[0][0]}: pip install "
                    f"'alambic[{extra}]'"
                )
            (log.debug if family.extra else log.warning)(
                "left out the %s family: %s is not installed (pip install 'alambic[%s]')",
                family.key,
                family.imports[0][0],
                extra,
            )
            continue
        number = len(written) + 1
        path = out / f"{number:02d}_{family.key}.py"
        if not path.exists():
            path.write_text(candidate_source(problem, family, number))
        written.append(Candidate(number, family.key, path))
    return written


def load_candidate(path: str | Path) -> ModuleType:
    """Import a candidate module from its file, as it now reads.

    Raises:
        AutoMLError: the file does not exist, does not import, or lacks SPACE or build.
    """
    path = Path(path)
    if not path.is_file():
        raise AutoMLError(f"no candidate module at {path}")
    name = f"alambic_candidate_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except Exception as exc:
        raise AutoMLError(f"candidate {path.name} does not import: {exc!r}; fix it") from exc
    for needed in ("SPACE", "build"):
        if not hasattr(module, needed):
            raise AutoMLError(f"candidate {path.name} has no {needed}; a candidate defines both")
    sys.modules.pop(name, None)
    return module


def candidate_source(problem: Problem, family: Family, number: int) -> str:
    """The text of one candidate module."""
    regression = problem.task == "regression"
    module, cls = family.imports[1 if regression else 0]
    space = family.regression_space if regression and family.regression_space else family.space
    portfolio = family.portfolio
    if regression and family.regression_portfolio:
        portfolio = family.regression_portfolio
    groups = _groups(problem)
    model = family.model.format(cls=cls)
    wrapper = _CLASSIFIER_WRAPPERS.get(family.key)
    if wrapper is not None and not regression:
        model = wrapper.format(model)
        space = tuple(line.replace('"model__', '"model__estimator__') for line in space)
        portfolio = tuple(line.replace('"model__', '"model__estimator__') for line in portfolio)
    if family.scaled:
        space = ('    "scale": Categorical(["standard", "minmax", "none"]),', *space)
        if groups["HIGH_CARDINALITY"]:  # one-hot can suit a linear model better
            space = ('    "many_levels": Categorical(["target", "onehot"]),', *space)
            if family.key == "linear":
                portfolio = (*portfolio, '    {"scale": "standard", "many_levels": "onehot"},')
    body = [
        *_column_lists(groups),
        "",
        *(_SCALERS if family.scaled else []),
        "SPACE = {",
        *space,
        "}",
        "",
        "PORTFOLIO = [",
        *portfolio,
        "]",
        "",
        "",
        *_build(family, groups, model),
    ]
    about = textwrap.fill(
        f"Predicts {problem.target!r} ({problem.task}; the search optimises "
        f"{problem.metric}). Generated by `alambic automl`; edit it freely: `alambic "
        "automl rerun DIR` tunes the candidates of DIR again, this one as it then reads. "
        "SPACE holds the hyperparameters the search samples (keys: the pipeline's "
        "step__parameter names), PORTFOLIO the configurations it tries first (a "
        "parameter an entry leaves out takes the middle of its range), and "
        "build(**params) makes the pipeline.",
        width=88,
    )
    lines = [
        f'"""Candidate {number:02d}: {family.title}.',
        "",
        *about.splitlines(),
        '"""',
        "",
        *_imports("\n".join(body), module, cls),
        "",
        *body,
    ]
    return "\n".join(lines) + "\n"


def _groups(problem: Problem) -> dict[str, list[str]]:
    high = set(problem.high_cardinality)
    kinds = problem.features
    return {
        "NUMERIC": [c for c, k in kinds.items() if k == "numeric"],
        "CATEGORIES": [c for c, k in kinds.items() if k == "category" and c not in high],
        "HIGH_CARDINALITY": [c for c in kinds if c in high],
        "DATETIMES": [c for c, k in kinds.items() if k == "datetime"],
    }


def _column_lists(groups: dict[str, list[str]]) -> list[str]:
    lines = []
    for name, columns in groups.items():
        one_line = f"{name} = [{', '.join(map(_quoted, columns))}]"
        if len(one_line) <= 88:
            lines.append(one_line)
        else:
            lines += [f"{name} = [", *(f"    {_quoted(c)}," for c in columns), "]"]
    return lines


def _quoted(text: str) -> str:
    """A string literal in double quotes, as formatters write them."""
    literal = repr(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1].replace("\\'", "'") + '"'
    return literal


# How scaled families scale numbers: the search chooses (SPACE["scale"]).
_SCALERS = [
    "SCALERS = {  # how numbers are scaled: the search chooses (SPACE's scale)",
    '    "standard": StandardScaler,  # mean 0, variance 1',
    '    "minmax": MinMaxScaler,  # into [0, 1]',
    '    "none": FunctionTransformer,  # as they are',
    "}",
    "",
]
# Classifiers that answer only once wrapped: XGBoost wants labels 0..k-1; an SVM's
# probabilities come from a calibration on held-out folds. Their parameters then read
# model__estimator__*.
_CLASSIFIER_WRAPPERS = {
    "xgboost": "EncodedLabels({})",
    "catboost": "EncodedLabels({})",  # its predict gives a column, not a row, per row
    "svm": "CalibratedClassifierCV({}, ensemble=False, cv=3)",
}
_HOMES = {  # where each name a candidate may use comes from
    "CalibratedClassifierCV": "sklearn.calibration",
    "ColumnTransformer": "sklearn.compose",
    "KFold": "sklearn.model_selection",
    "SimpleImputer": "sklearn.impute",
    "Pipeline": "sklearn.pipeline",
    "make_pipeline": "sklearn.pipeline",
    "FunctionTransformer": "sklearn.preprocessing",
    "MinMaxScaler": "sklearn.preprocessing",
    "OneHotEncoder": "sklearn.preprocessing",
    "OrdinalEncoder": "sklearn.preprocessing",
    "StandardScaler": "sklearn.preprocessing",
    "TargetEncoder": "sklearn.preprocessing",
    "DateParts": "alambic.automl",
    "EncodedLabels": "alambic.automl",
    "Categorical": "alambic.tuning",
    "Float": "alambic.tuning",
    "Int": "alambic.tuning",
}


def _imports(code: str, model_module: str, model_class: str) -> list[str]:
    """The import lines of what ``code`` calls, sorted as isort sorts them (in a user's
    project alambic is a third-party package like the others: one block)."""
    homes = {**_HOMES, model_class: model_module}
    names: dict[str, set[str]] = {}
    for name, module in homes.items():
        if re.search(rf"\b{name}\b", code):
            names.setdefault(module, set()).add(name)
    return [_from(module, used) for module, used in sorted(names.items())]


def _from(module: str, names: set[str]) -> str:
    """One import line, or one name a line in parentheses when it is over 88 columns."""
    ordered = sorted(names, key=_isort_key)
    line = f"from {module} import {', '.join(ordered)}"
    if len(line) <= 88:
        return line
    return "\n".join([f"from {module} import (", *(f"    {n}," for n in ordered), ")"])


def _isort_key(name: str) -> tuple[int, str]:
    """isort's order within one import: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


def _build(family: Family, groups: dict[str, list[str]], model: str) -> list[str]:
    setup, steps = _steps(family, groups)
    mlp = family.key == "mlp"
    arguments = ["width=128", "depth=1"] if mlp else []
    if family.scaled:
        arguments.append('scale="standard"')
        if groups["HIGH_CARDINALITY"]:
            arguments.append('many_levels="target"')
    lines = [
        f"def build({', '.join([*arguments, '**params'])}):",
        '    """The pipeline, with params (keys of SPACE) set."""',
        *setup,
        "    prepare = ColumnTransformer(",
        "        [",
        *(f"            {step}," for step in steps),
        "        ]",
        "    )",
        f"    model = {model}",
    ]
    if mlp:
        lines.append("    model.set_params(hidden_layer_sizes=(width,) * depth)")
    if family.key == "catboost":  # else it writes a catboost_info folder where it runs
        inner = "model.estimator" if model.startswith("EncodedLabels(") else "model"
        lines.append(f"    {inner}.set_params(allow_writing_files=False)")
    lines.append('    pipeline = Pipeline([("prepare", prepare), ("model", model)])')
    lines.append("    return pipeline.set_params(**params)")
    return lines


# Each group's transformer, as lines of build() that name it (short enough for any
# formatter to leave them as they are): scaled families, then trees.
_SCALED = {
    "NUMERIC": [
        '    impute = SimpleImputer(strategy="median", add_indicator=True)',
        "    numeric = make_pipeline(impute, SCALERS[scale]())",
    ],
    "CATEGORIES": [
        '    categories = OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5)'
    ],
    "HIGH_CARDINALITY": [
        '    if many_levels == "onehot":  # a column per level seen 5 times or more',
        "        high_cardinality = OneHotEncoder(",
        '            handle_unknown="infrequent_if_exist", min_frequency=5',
        "        )",
        "    else:  # the target's mean per level, learnt out of fold",
        "        encode = {target_encoder}",
        "        high_cardinality = make_pipeline(encode, SCALERS[scale]())",
    ],
    "DATETIMES": ["    dates = make_pipeline(DateParts(), SimpleImputer(), SCALERS[scale]())"],
}
_TREES = {
    "NUMERIC": [],  # passed through: the trees split on them as they are, NaN included
    "CATEGORIES": [
        "    categories = OrdinalEncoder(",
        '        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1',
        "    )",
    ],
    "HIGH_CARDINALITY": ["    high_cardinality = {target_encoder}"],
    "DATETIMES": ["    dates = DateParts()"],
}
_IMPUTED_TREES = {  # scikit-learn's forests: missing values imputed first
    **_TREES,
    "NUMERIC": ['    numeric = SimpleImputer(strategy="median", add_indicator=True)'],
    "DATETIMES": ['    dates = make_pipeline(DateParts(), SimpleImputer(strategy="median"))'],
}
_LABELS = {
    "NUMERIC": "numeric",
    "CATEGORIES": "categories",
    "HIGH_CARDINALITY": "high_cardinality",
    "DATETIMES": "dates",
}


def _target_encoder() -> str:
    """A TargetEncoder whose folds are shuffled with a seed, as this scikit-learn takes it
    (from 1.9 through a splitter; before, through its own ``random_state``)."""
    import sklearn

    major, minor = (int(part) for part in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 9):
        return "TargetEncoder(cv=KFold(5, shuffle=True, random_state=0))"
    return "TargetEncoder(random_state=0)"


def _steps(family: Family, groups: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """The lines that make each group's transformer, and the ColumnTransformer's steps
    (one per group of columns that is not empty)."""
    if family.scaled:
        chosen = _SCALED
    else:
        chosen = _IMPUTED_TREES if family.key in ("random_forest", "extra_trees") else _TREES
    setup, steps = [], []
    for group, columns in groups.items():
        if not columns:
            continue
        label = _LABELS[group]
        setup += [line.format(target_encoder=_target_encoder()) for line in chosen[group]]
        transformer = label if chosen[group] else '"passthrough"'
        steps.append(f'("{label}", {transformer}, {group})')
    return setup, steps
