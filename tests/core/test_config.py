"""Settings: defaults, alambic.toml lookup, environment overrides and validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alambic.config import Settings, find_config_file, find_project, settings
from alambic.errors import ConfigError


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Drop the ALAMBIC_* variables the autouse `home` fixture sets, to see the defaults."""
    monkeypatch.delenv("ALAMBIC_HOME")
    monkeypatch.delenv("ALAMBIC_MAX_WORKERS")
    return monkeypatch


@pytest.fixture
def write_toml(tmp_path: Path):
    """Write an alambic.toml (in tmp_path, or in a sub folder) and return its path."""

    def write(text: str, folder: Path = tmp_path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "alambic.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- defaults ------------------------------------------------------------------------


def test_defaults_live_in_dot_alambic_of_the_working_folder(
    no_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_env.setattr(os, "cpu_count", lambda: 7)
    config = settings()
    home = (tmp_path / ".alambic").resolve()
    assert config.home == home
    assert config.home.is_absolute()
    assert config.db_url == f"sqlite:///{home / 'alambic.db'}"
    assert config.artifacts == str(home / "artifacts")
    assert config.max_workers == 7
    assert config.executor == "local"
    assert config.allow_pickle is False
    assert config.heartbeat_seconds == 5.0


def test_max_workers_defaults_to_one_when_the_cpu_count_is_unknown(
    no_env: pytest.MonkeyPatch,
) -> None:
    no_env.setattr(os, "cpu_count", lambda: None)
    assert settings().max_workers == 1


def test_database_and_artifacts_follow_home_when_only_home_is_set(home: Path) -> None:
    config = settings()
    assert config.home == home.resolve()
    assert config.db_url == f"sqlite:///{home.resolve() / 'alambic.db'}"
    assert config.artifacts == str(home.resolve() / "artifacts")
    assert config.max_workers == 2


# -- alambic.toml --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'executor = "Ray"\nmax_workers = 3\nallow_pickle = true\nheartbeat_seconds = 1.5\n',
        '[alambic]\nexecutor = "Ray"\nmax_workers = 3\nallow_pickle = true\n'
        "heartbeat_seconds = 1.5\n",
    ],
    ids=["top-level", "alambic-table"],
)
def test_toml_in_the_working_folder_is_read(
    no_env: pytest.MonkeyPatch, write_toml, text: str
) -> None:
    write_toml(text)
    config = settings()
    assert config.executor == "ray"  # normalised to lower case
    assert config.max_workers == 3
    assert config.allow_pickle is True
    assert config.heartbeat_seconds == 1.5


def test_toml_in_a_parent_folder_is_found(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    path = write_toml("max_workers = 5\n")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    no_env.chdir(deep)
    assert find_config_file() == path
    assert settings().max_workers == 5


def test_the_nearest_toml_wins(no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path) -> None:
    write_toml("max_workers = 5\n")
    nearer = write_toml("max_workers = 6\n", tmp_path / "project")
    no_env.chdir(tmp_path / "project")
    assert find_config_file() == nearer
    assert settings().max_workers == 6


def test_no_toml_means_no_config_file(tmp_path: Path) -> None:
    assert find_config_file(tmp_path) is None


def test_the_home_is_found_in_a_parent_folder_as_git_finds_dot_git(
    no_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".alambic").mkdir()
    deep = tmp_path / "examples" / "fraud"
    deep.mkdir(parents=True)
    no_env.chdir(deep)
    assert find_project() == tmp_path.resolve()
    config = settings()
    assert config.home == (tmp_path / ".alambic").resolve()
    assert config.db_url == f"sqlite:///{(tmp_path / '.alambic').resolve() / 'alambic.db'}"
    assert not (deep / ".alambic").exists()  # nothing is created by reading the settings


def test_a_toml_folder_holds_the_home_even_before_it_exists(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    write_toml("max_workers = 2\n")
    (tmp_path / "src").mkdir()
    no_env.chdir(tmp_path / "src")
    assert settings().home == (tmp_path / ".alambic").resolve()


@pytest.mark.parametrize(
    "toml", ["max_workers = 2\n", 'home = ".alambic"\n'], ids=["plain", "home"]
)
def test_an_alambic_toml_declares_the_project_over_a_nested_home(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path, toml: str
) -> None:
    write_toml(toml)
    (tmp_path / "sub" / ".alambic").mkdir(parents=True)  # e.g. left by an older demo
    no_env.chdir(tmp_path / "sub")
    assert find_project() == tmp_path.resolve()
    assert settings().home == (tmp_path / ".alambic").resolve()


def test_the_nearest_home_wins_without_a_toml(no_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".alambic").mkdir()
    (tmp_path / "sub" / ".alambic").mkdir(parents=True)
    no_env.chdir(tmp_path / "sub")
    assert settings().home == (tmp_path / "sub" / ".alambic").resolve()


def test_a_home_in_the_users_home_folder_does_not_capture_projects_below_it(
    no_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_env.setenv("HOME", str(tmp_path))
    (tmp_path / ".alambic").mkdir()  # one command once run in ~
    (tmp_path / "code" / "project").mkdir(parents=True)
    no_env.chdir(tmp_path / "code" / "project")
    assert find_project() is None
    assert settings().home == (tmp_path / "code" / "project" / ".alambic").resolve()
    no_env.chdir(tmp_path)
    assert settings().home == (tmp_path / ".alambic").resolve()  # run in ~ itself: that one


def test_a_home_left_in_the_temporary_folder_does_not_capture_folders_below_it(
    no_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_env.setenv("TMPDIR", str(tmp_path))
    import tempfile

    no_env.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    (tmp_path / ".alambic").mkdir()  # one command once run in /tmp
    (tmp_path / "job-1").mkdir()
    no_env.chdir(tmp_path / "job-1")
    assert find_project() is None
    assert settings().home == (tmp_path / "job-1" / ".alambic").resolve()
    no_env.chdir(tmp_path)
    assert find_project() == tmp_path.resolve()  # run in /tmp itself: that one


def test_with_no_marker_the_home_is_in_the_working_folder(
    no_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "work").mkdir()
    no_env.chdir(tmp_path / "work")
    assert find_project() is None
    assert settings().home == (tmp_path / "work" / ".alambic").resolve()


def test_relative_home_in_toml_is_relative_to_the_toml_folder(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    write_toml('home = "state"\n')
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    no_env.chdir(tmp_path / "src" / "pkg")
    config = settings()
    assert config.home == (tmp_path / "state").resolve()
    assert config.db_url == f"sqlite:///{(tmp_path / 'state').resolve() / 'alambic.db'}"


def test_relative_artifacts_in_toml_is_relative_to_the_toml_folder(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    write_toml('artifacts = "blobs"\n')
    (tmp_path / "sub").mkdir()
    no_env.chdir(tmp_path / "sub")
    assert settings().artifacts == str((tmp_path / "blobs").resolve())


def test_relative_sqlite_db_url_in_toml_is_relative_to_the_toml_folder(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    write_toml('db_url = "sqlite:///meta.db"\n')
    (tmp_path / "sub").mkdir()
    no_env.chdir(tmp_path / "sub")
    assert settings().db_url == f"sqlite:///{(tmp_path / 'meta.db').resolve()}"


def test_artifact_urls_are_kept_as_they_are(no_env: pytest.MonkeyPatch, write_toml) -> None:
    write_toml('artifacts = "s3://bucket/alambic"\ndb_url = "postgresql+psycopg://h:5432/x"\n')
    config = settings()
    assert config.artifacts == "s3://bucket/alambic"
    assert config.db_url == "postgresql+psycopg://h:5432/x"


# -- the environment wins ------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "file_value", "env_value", "expected"),
    [
        ("max_workers", "3", "9", 9),
        ("executor", '"local"', "Ray", "ray"),
        ("allow_pickle", "false", "yes", True),
        ("heartbeat_seconds", "5", "0.25", 0.25),
        ("db_url", '"sqlite:///file.db"', "sqlite:////data/env.db", "sqlite:////data/env.db"),
    ],
    ids=["max_workers", "executor", "allow_pickle", "heartbeat_seconds", "db_url"],
)
def test_environment_wins_over_the_file(
    no_env: pytest.MonkeyPatch,
    write_toml,
    key: str,
    file_value: str,
    env_value: str,
    expected: object,
) -> None:
    write_toml(f"{key} = {file_value}\n")
    no_env.setenv(f"ALAMBIC_{key.upper()}", env_value)
    assert getattr(settings(), key) == expected


def test_relative_home_from_the_environment_is_relative_to_the_cwd(
    no_env: pytest.MonkeyPatch, write_toml, tmp_path: Path
) -> None:
    write_toml('home = "from-file"\n')
    (tmp_path / "sub").mkdir()
    no_env.chdir(tmp_path / "sub")
    no_env.setenv("ALAMBIC_HOME", "from-env")
    assert settings().home == (tmp_path / "sub" / "from-env").resolve()


def test_an_empty_environment_variable_counts_as_unset(
    no_env: pytest.MonkeyPatch, write_toml
) -> None:
    write_toml("max_workers = 4\n")
    no_env.setenv("ALAMBIC_MAX_WORKERS", "")
    assert settings().max_workers == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("TRUE", True),
        (" on ", True),
        ("yes", True),
        ("0", False),
        ("false", False),
        ("Off", False),
        ("no", False),
    ],
    ids=lambda v: repr(v),
)
def test_allow_pickle_accepts_common_spellings(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: bool
) -> None:
    monkeypatch.setenv("ALAMBIC_ALLOW_PICKLE", text)
    assert settings().allow_pickle is expected


@given(
    max_workers=st.integers(min_value=1, max_value=10_000),
    heartbeat=st.floats(min_value=1e-6, max_value=1e6, allow_nan=False),
    allow_pickle=st.booleans(),
    executor=st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True),
    home_name=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
)
def test_settings_env_round_trips_through_a_child_process_environment(
    max_workers: int, heartbeat: float, allow_pickle: bool, executor: str, home_name: str
) -> None:
    home = Path("/srv/alambic") / home_name
    original = Settings(
        home=home,
        db_url=f"sqlite:///{home / 'meta.db'}",
        artifacts="memory://blobs",
        executor=executor,
        max_workers=max_workers,
        allow_pickle=allow_pickle,
        heartbeat_seconds=heartbeat,
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in original.env().items():
            patch.setenv(key, value)
        assert settings() == original


# -- invalid settings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_workers", "abc"),
        ("max_workers", "0"),
        ("max_workers", "-2"),
        ("max_workers", "1.5"),
        ("allow_pickle", "maybe"),
        ("heartbeat_seconds", "soon"),
        ("heartbeat_seconds", "-1"),
    ],
    ids=lambda v: v,
)
def test_malformed_environment_values_name_the_key(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str
) -> None:
    monkeypatch.setenv(f"ALAMBIC_{key.upper()}", value)
    with pytest.raises(ConfigError, match=rf"^{key}=") as caught:
        settings()
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ('max_workers = "abc"', "max_workers"),
        ("max_workers = 0", "max_workers"),
        ('allow_pickle = "maybe"', "allow_pickle"),
        ("heartbeat_seconds = 0", "heartbeat_seconds"),
    ],
    ids=["max_workers-abc", "max_workers-0", "allow_pickle-maybe", "heartbeat-0"],
)
def test_malformed_file_values_name_the_key(
    no_env: pytest.MonkeyPatch, write_toml, line: str, key: str
) -> None:
    write_toml(line + "\n")
    with pytest.raises(ConfigError, match=key):
        settings()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_heartbeats_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    # Regression: NaN slipped through `number <= 0`.
    monkeypatch.setenv("ALAMBIC_HEARTBEAT_SECONDS", value)
    with pytest.raises(ConfigError, match=r"^heartbeat_seconds="):
        settings()


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("max_worker = 4\n", "max_worker"),
        ('[alambic]\nmax_workers = 4\ncolour = "red"\n', "colour"),
    ],
    ids=["top-level-typo", "alambic-table"],
)
def test_unknown_keys_in_the_file_are_named(
    no_env: pytest.MonkeyPatch, write_toml, text: str, unknown: str
) -> None:
    path = write_toml(text)
    with pytest.raises(ConfigError, match="unknown setting") as caught:
        settings()
    named, _, known = str(caught.value).partition("; known: ")
    assert named == f"{path}: unknown setting(s) {unknown}"
    assert "max_workers" in known  # and the message lists what is allowed


def test_a_file_that_is_not_toml_is_refused(no_env: pytest.MonkeyPatch, write_toml) -> None:
    path = write_toml("max_workers = = 4\n")
    with pytest.raises(ConfigError, match="cannot read") as caught:
        settings()
    assert str(path) in str(caught.value)


def test_a_scalar_alambic_key_is_a_config_error(no_env: pytest.MonkeyPatch, write_toml) -> None:
    # Regression: this used to escape as a TypeError from set(1).
    path = write_toml("alambic = 1\n")
    with pytest.raises(ConfigError, match="must be a table") as caught:
        settings()
    assert str(path) in str(caught.value)
