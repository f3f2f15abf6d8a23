"""The IAM engine's decisions kept on disk: a hit is the engine's own answer to that very request, any change of
a document is a miss, and neither a missing engine nor an unwritable cache is hidden by it."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import disk_cache
from mlops_platform.offline import iam_simulate
from mlops_platform.offline.iam_simulate import Simulation

ROLE = "arn:aws:iam::111111111111:role/reader"


def _reading(bucket_policy_action: str) -> Simulation:
    identity: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": bucket_policy_action, "Resource": "arn:aws:s3:::datasets/*"}]}
    return Simulation(ROLE, "s3:GetObject", "arn:aws:s3:::datasets/train.csv", "111111111111",
                      identity_policies=[("read", identity)])


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(tmp_path))
    return tmp_path


def _engine_refused(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []

    def refuse(command: list[str], **_: Any) -> subprocess.Popen[str]:
        started.append(command)
        raise AssertionError("the engine was started")
    monkeypatch.setattr(subprocess, "Popen", refuse)
    return started


def test_a_hit_is_the_engines_answer_and_starts_no_engine(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requests = [_reading("s3:GetObject"), _reading("s3:PutObject")]
    fresh = iam_simulate.simulate(requests)
    assert [d.result for d in fresh] == ["Allowed", "ImplicitlyDenied"]
    started = _engine_refused(monkeypatch)
    assert iam_simulate.simulate(requests) == fresh
    assert not started


def test_a_changed_document_is_asked_of_the_engine(cache: Path) -> None:
    (allowed,) = iam_simulate.simulate([_reading("s3:GetObject")])
    (changed,) = iam_simulate.simulate([_reading("s3:GetObjectVersion")])
    assert allowed.allowed and not changed.allowed
    assert len(list(cache.rglob("*.json"))) == 2


def test_only_the_unseen_requests_go_to_the_engine(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    iam_simulate.simulate([_reading("s3:GetObject")])
    batches: list[Sequence[str]] = []
    run = iam_simulate._run_engine

    def counting(node: str, requests: Sequence[str]) -> list[Any]:
        batches.append(requests)
        return run(node, requests)
    monkeypatch.setattr(iam_simulate, "_run_engine", counting)
    decisions = iam_simulate.simulate([_reading("s3:GetObject"), _reading("s3:PutObject"), _reading("s3:PutObject")])
    assert [d.result for d in decisions] == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]
    assert len(batches) == 1 and [request.count('"s3:PutObject"') for request in batches[0]] == [1]


def test_a_damaged_entry_is_a_miss(cache: Path) -> None:
    iam_simulate.simulate([_reading("s3:GetObject")])
    (entry,) = cache.rglob("*.json")
    entry.write_text("{not json")
    (decision,) = iam_simulate.simulate([_reading("s3:GetObject")])
    assert decision.allowed


def test_an_unwritable_cache_still_evaluates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(disk_cache.CACHE_DIR_VARIABLE, str(blocker))
    (decision,) = iam_simulate.simulate([_reading("s3:GetObject")])
    assert decision.allowed


def test_a_cached_decision_does_not_hide_a_missing_engine(cache: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    iam_simulate.simulate([_reading("s3:GetObject")])
    monkeypatch.setattr(iam_simulate, "ENGINE_DIR", tmp_path / "not-installed")
    with pytest.raises(iam_simulate.EngineUnavailable, match="npm ci --prefix"):
        iam_simulate.simulate([_reading("s3:GetObject")])


def test_the_engine_answers_each_request_in_order(cache: Path) -> None:
    actions = [f"s3:{verb}Object" for verb in ("Get", "Put", "Delete")] * 40
    decisions = iam_simulate.simulate([_reading(action) for action in actions])
    assert [d.result for d in decisions] == [
        "Allowed" if action == "s3:GetObject" else "ImplicitlyDenied" for action in actions]


def test_an_engine_failure_names_the_error_not_the_node_version(cache: Path) -> None:
    node = iam_simulate._installed_engine()
    with pytest.raises(iam_simulate.EngineUnavailable) as raised:
        iam_simulate._run_engine(node, ["{not json"])
    assert str(raised.value).startswith("the IAM engine failed: SyntaxError:"), str(raised.value)
