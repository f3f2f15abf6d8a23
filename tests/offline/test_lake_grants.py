"""The data lake in the access matrix: its Lake Formation grants equal the designed set exactly (a grant too many,
one missing or one widened each shows as itself), and each IAM flow of the data lake breaks alone when the grant
it rests on is removed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from mlops_platform.offline import access_matrix, lake_grants
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.lake_grants import LakeGrant
from mlops_platform.offline.preview import Preview

PERMISSIONS = lake_grants.PERMISSIONS_TYPE
DATA, OPS, DEV = "222222222222", "555555555555", "666666666666"
RETRAINING = f"arn:aws:iam::{OPS}:role/mlops-ops-churn-pipeline"
SCIENTISTS = f"arn:aws:iam::{DEV}:role/mlops-dev-data-scientist"
Edit = Callable[[CapturedResource], CapturedResource | None]


def stacks(preview: Preview, edit: Edit | None = None) -> list[CapturedStack]:
    edited = []
    for stack in preview.stacks:
        resources = [r if edit is None else edit(r) for r in stack.captured.resources]
        edited.append(dataclasses.replace(stack.captured, resources=[r for r in resources if r is not None]))
    return edited


def matrix(preview: Preview, edit: Edit | None = None) -> AccessMatrix:
    return access_matrix.check(preview.stacks[0].config, stacks(preview, edit))


def with_inputs(name: str, **changes: Any) -> Edit:
    def edit(resource: CapturedResource) -> CapturedResource:
        if resource.type == PERMISSIONS and resource.name == name:
            return dataclasses.replace(resource, inputs={**resource.inputs, **changes})
        return resource
    return edit


def test_the_shipped_grants_are_exactly_the_designed_ones(shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    assert preview.access is not None and preview.access.lake_grants is not None
    grants = preview.access.lake_grants
    assert grants.passed and len(grants.captured) == 8
    assert {g.principal for g in grants.captured} == {OPS, DEV, RETRAINING, SCIENTISTS}
    assert set(preview.access.document()["lakeGrants"]) == {"passed", "grants", "missing", "unexpected"}
    table = lake_grants.table(DATA, "customers", "churn_history")
    assert LakeGrant(OPS, RETRAINING, table, ("DESCRIBE", "SELECT")) in grants.captured
    assert LakeGrant(DATA, OPS, table, ("DESCRIBE", "SELECT"), ("DESCRIBE", "SELECT")) in grants.captured


def test_sizes_without_a_data_lake_carry_no_lake_verdict(shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("medium")
    assert preview.access is not None and preview.access.lake_grants is None
    assert "lakeGrants" not in preview.access.document()


def test_a_widened_grant_is_unexpected_and_its_designed_one_missing(shipped_preview: Callable[..., Preview]) -> None:
    result = matrix(shipped_preview("large"), with_inputs(
        "ops-data-lake-mlops-ops-churn-pipeline-customers.churn_history", permissions=["ALL"]))
    grants = result.lake_grants
    assert grants is not None and not grants.passed and not result.passed
    assert [(g.principal, g.permissions) for g in grants.unexpected] == [(RETRAINING, ("ALL",))]
    assert [(g.principal, g.permissions) for g in grants.missing] == [(RETRAINING, ("DESCRIBE", "SELECT"))]
    assert not result.broken, "the IAM flows are untouched: only the Lake Formation verdict fails"


def test_data_scientists_granted_every_column_is_caught(shipped_preview: Callable[..., Preview]) -> None:
    def unfiltered(resource: CapturedResource) -> CapturedResource:
        if resource.type == PERMISSIONS and "tableWithColumns" in resource.inputs and resource.name.startswith("dev"):
            spec = resource.inputs["tableWithColumns"]
            inputs = {k: v for k, v in resource.inputs.items() if k != "tableWithColumns"}
            inputs["table"] = {k: v for k, v in spec.items() if k != "columnNames"}
            return dataclasses.replace(resource, inputs=inputs)
        return resource
    grants = matrix(shipped_preview("large"), unfiltered).lake_grants
    assert grants is not None
    assert [g.resource for g in grants.unexpected] == [lake_grants.table(DATA, "customers", "churn_history")]
    assert [g.principal for g in grants.missing] == [SCIENTISTS]


def test_a_grant_to_someone_else_and_a_missing_share_are_each_reported(
        shipped_preview: Callable[..., Preview]) -> None:
    other = f"arn:aws:iam::{OPS}:role/mlops-ops-churn-drift"
    grants = matrix(shipped_preview("large"), with_inputs(
        "ops-data-lake-mlops-ops-churn-pipeline-customers", principal=other)).lake_grants
    assert grants is not None
    assert [g.principal for g in grants.unexpected] == [other]
    assert [(g.principal, g.resource) for g in grants.missing] == [
        (RETRAINING, lake_grants.database(OPS, "customers_shared"))]

    def no_ops_share(resource: CapturedResource) -> CapturedResource | None:
        keep = not (resource.type == PERMISSIONS and resource.inputs.get("principal") == OPS)
        return resource if keep else None
    grants = matrix(shipped_preview("large"), no_ops_share).lake_grants
    assert grants is not None and not grants.unexpected
    assert {g.principal for g in grants.missing} == {OPS} and len(grants.missing) == 2


def _without_statement(sid: str) -> Edit:
    def edit(resource: CapturedResource) -> CapturedResource:
        if resource.type != "aws:s3/bucketPolicy:BucketPolicy" or "policy" not in resource.inputs:
            return resource
        document = json.loads(resource.inputs["policy"])
        kept = [s for s in document["Statement"] if s.get("Sid") != sid]
        if len(kept) == len(document["Statement"]):
            return resource
        return dataclasses.replace(resource, inputs={**resource.inputs,
                                                     "policy": json.dumps({**document, "Statement": kept})})
    return edit


def test_without_the_curated_read_deny_exactly_the_around_lake_formation_flows_break(
        shipped_preview: Callable[..., Preview]) -> None:
    result = matrix(shipped_preview("large"), _without_statement("OnlyLakeFormationReadsCuratedObjects"))
    assert sorted(r.flow.name for r in result.broken) == [
        "even holding every IAM permission, the data tier's deploy role cannot read curated objects",
        "even holding every IAM permission, the ingest role cannot read curated objects"]


def test_without_the_raw_read_deny_exactly_the_location_role_flow_breaks(
        shipped_preview: Callable[..., Preview]) -> None:
    result = matrix(shipped_preview("large"), _without_statement("OnlyIngestReadsRawObjects"))
    assert [r.flow.name for r in result.broken] == [
        "even holding every IAM permission, the location role cannot read raw objects"]


def test_without_its_query_policy_the_retraining_role_cannot_query(shipped_preview: Callable[..., Preview]) -> None:
    def drop(resource: CapturedResource) -> CapturedResource | None:
        is_query_policy = (resource.type == "aws:iam/rolePolicy:RolePolicy"
                           and resource.name == "ops-data-lake-mlops-ops-churn-pipeline")
        return None if is_query_policy else resource
    result = matrix(shipped_preview("large"), drop)
    assert sorted(r.flow.name for r in result.broken) == sorted(
        f"churn: retraining {what}" for what in (
            "queries in the ops workgroup", "reads its table through the resource link",
            "asks Lake Formation for data access", "writes its query results", "encrypts its query results",
            "reads its query results"))
