"""The first hour with serving, as a user types it: a token in a shell variable, relative
weights that say how they split the traffic."""

from __future__ import annotations

import re

import httpx
import pytest

from alambic.serving import create_app, create_endpoint, get_endpoint, serving_store
from tests.cli.helpers import Alambic
from tests.serving.helpers import ROW, lgbm, register_live, running, split

TOKEN = re.compile(r"alm_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\n")


@pytest.mark.parametrize("quiet", [False, True], ids=["default", "quiet"])
def test_a_token_captured_from_stdout_authenticates_a_real_request(
    alambic: Alambic, quiet: bool
) -> None:
    register_live(lgbm())
    create_endpoint("fraud", variants=["toy@production"])  # private: a token is needed
    created = alambic("tokens", "create", "site", "--scope", "invoke", "-e", "fraud",
                      *(["--quiet"] if quiet else []))  # fmt: skip
    assert created.code == 0, created.transcript
    assert TOKEN.fullmatch(created.out), created.transcript  # the token alone, one line
    token_id = created.out.split("_")[1]
    if quiet:
        assert created.err == ""
    else:
        assert created.err == (
            f"token {token_id} (invoke) for site: printed once; stored hashed, so keep it now "
            f"(revoke it with `alambic tokens revoke {token_id}`)\n"
        )
    token = created.out.rstrip("\n")  # what TOKEN=$(alambic tokens create …) holds
    with running(create_app(["fraud"])) as url:
        answer = httpx.post(
            f"{url}/invocations", json=split([ROW]), headers={"authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"]) == 1


def _traffic(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("traffic:")]


def _weights(out: str) -> dict[str, str]:
    """The weight column of the endpoint table, by variant."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in out.splitlines()]
    return {row[0]: row[3] for row in rows if len(row) == 5 and row[4] == "answers"}


def test_weights_are_relative_and_the_commands_say_how_they_split(alambic: Alambic) -> None:
    register_live(lgbm())
    created = alambic("endpoints", "create", "fraud",
                      "-v", "champion=toy@production:9", "-v", "challenger=toy/1:1")  # fmt: skip
    assert created.code == 0, created.transcript
    assert _weights(created.out) == {"champion": "90%", "challenger": "10%"}
    assert _traffic(created.out) == ["traffic: champion 90%, challenger 10% (weights are relative)"]
    assert [v.weight for v in get_endpoint("fraud").variants] == [0.9, 0.1]
    stored = serving_store().get_endpoint("fraud").config["variants"]
    assert [v["weight"] for v in stored] == [0.9, 0.1]  # shares, as every release reads them

    champion, challenger = "champion=toy@production", "challenger=toy/1"
    updated = alambic("endpoints", "update", "fraud",
                      "-v", f"{champion}:0.5", "-v", f"{challenger}:0.25")  # fmt: skip
    assert updated.code == 0, updated.transcript
    assert _weights(updated.out) == {"champion": "67%", "challenger": "33%"}
    assert _traffic(updated.out) == ["traffic: champion 67%, challenger 33% (weights are relative)"]

    summing = alambic("endpoints", "update", "fraud",
                      "-v", f"{champion}:0.7", "-v", f"{challenger}:0.3")  # fmt: skip
    assert summing.code == 0, summing.transcript
    assert _weights(summing.out) == {"champion": "70%", "challenger": "30%"}
    assert _traffic(summing.out) == []  # weights summing to 1 need no explanation
    other = alambic("endpoints", "update", "fraud", "--holdout", "0.1")
    assert other.code == 0 and _traffic(other.out) == [], other.transcript
    listed = alambic("endpoints", "list")
    assert "toy@production 70%, toy/1 30%" in listed.out, listed.transcript

    tiny = alambic("endpoints", "create", "tiny",
                   "-v", "a=toy@production:999", "-v", "b=toy/1:1")  # fmt: skip
    assert tiny.code == 0 and _weights(tiny.out) == {"a": ">99%", "b": "<1%"}, tiny.transcript


@pytest.mark.parametrize(
    ("variants", "message"),
    [
        (["a=toy/1:0", "b=toy@production:0"], "every variant has weight 0"),
        (["a=toy/1:-1", "b=toy@production:2"], "the weight must be a number >= 0"),
        (["a=toy/1:lots"], "the weight must be a number"),
    ],
    ids=["all-zero", "negative", "not-a-number"],
)
def test_weights_that_split_nothing_are_refused_with_why(
    alambic: Alambic, variants: list[str], message: str
) -> None:
    register_live(lgbm())
    flags = [arg for v in variants for arg in ("-v", v)]
    refused = alambic("endpoints", "create", "fraud", *flags)
    assert refused.code == 2 and refused.out == "", refused.transcript
    assert refused.err.startswith("error: ") and message in refused.err
    assert "(weights are relative shares: 9 and 1 send 90% and 10% of the traffic)" in refused.err
    assert alambic("endpoints", "create", "fraud", "-v", "toy/1").code == 0
    updated = alambic("endpoints", "update", "fraud", *flags)
    assert updated.code == 2 and message in updated.err, updated.transcript
    assert [v.weight for v in get_endpoint("fraud").variants] == [1.0]  # unchanged
