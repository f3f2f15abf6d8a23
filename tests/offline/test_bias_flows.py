"""The bias flows of the access matrix (`features.clarify`, on in the shipped large stacks): the bias step's reads
and writes, the drift check's reads of the registered bias report and of its use case's ground truth only, and the
drift check role's ground-truth grants each carrying exactly its flows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlops_platform.offline.preview import Preview
from tests.offline.test_access_matrix import DRIFT_ROLE_POLICY, _flow, _matrix, dropping

BIAS_FLOWS = {
    "churn: the bias step reads the trained model",
    "churn: the bias step writes post-training-bias.json",
    "churn: the bias step writes explainability.json",
    "churn: the data scientists' Studio role cannot rewrite the registered bias report",
    "churn: the drift check reads the registered bias report",
    "churn: the drift check cannot rewrite the registered bias report",
    "churn: the drift check reads ground truth",
    "churn: the drift check lists ground truth",
    "churn: the drift check reads nothing else of the ground truth's bucket",
    "churn: the drift check lists nothing else of the ground truth's bucket",
    "churn: the drift check decrypts ground truth under the data tier's key",
}


def test_the_bias_flows_hold_in_the_shipped_large_stacks(shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("large", serving=True))
    names = {result.flow.name for result in matrix.results}
    assert names >= BIAS_FLOWS
    assert all(_flow(matrix, name).holds for name in BIAS_FLOWS), [r.flow.name for r in matrix.broken]
    assert not _flow(matrix, "churn: the drift check reads nothing else of the ground truth's bucket").flow.allowed


def test_without_clarify_there_are_no_bias_flows(shipped_preview: Callable[..., Preview]) -> None:
    names = {result.flow.name for result in _matrix(shipped_preview("medium", serving=True)).results}
    assert not names & BIAS_FLOWS


@pytest.mark.parametrize(("sid", "broken"), [
    ("ReadGroundTruth", {"churn: the drift check reads ground truth"}),
    ("ListGroundTruth", {"churn: the drift check lists ground truth"}),
    ("DecryptGroundTruth", {"churn: the drift check decrypts ground truth under the data tier's key"}),
])
def test_each_ground_truth_grant_carries_exactly_its_flow(sid: str, broken: set[str],
                                                          shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("large", serving=True), dropping((DRIFT_ROLE_POLICY, sid)))
    assert {r.flow.name for r in matrix.broken} == broken
