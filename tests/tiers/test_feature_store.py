"""Feature Store as the stacks build it (mock-engine capture): the large size's shipped groups in the artifact
account, shared by AWS RAM with exactly their readers' accounts; the small size with the flag on, built in the dev
stack with no share; and, with two use cases, the access matrix proving each reader reaches its own groups only and
that each grant carries exactly its flows."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import contract, naming
from mlops_platform.components.feature_store import READER_GROUP_ACTIONS, SHARED_GROUP_ACTIONS
from mlops_platform.offline import access_matrix
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.size_capture import CapturedSize, capture_size
from mlops_platform.offline.stack_config import load_project_config

ROOT = Path(__file__).resolve().parents[2]
GROUP = "churn-customers"
FEATURE_GROUP = "aws:sagemaker/featureGroup:FeatureGroup"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
KEY = "aws:kms/key:Key"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

TWO_USE_CASES = """config:
  mlops-platform:useCases:
    - name: churn
    - name: fraud
  mlops-platform:features:
    featureStore: true
  mlops-platform:featureGroups:
    - name: churn-customers
      useCase: churn
      recordIdentifier: customer_id
      eventTime: event_time
      onlineStore: true
      features: {customer_id: String, event_time: String, tenure_months: Integral}
    - name: fraud-cards
      useCase: fraud
      recordIdentifier: card_id
      eventTime: seen_at
      features: {card_id: String, seen_at: Fractional, declines_24h: Integral}
"""


@pytest.fixture(scope="module")
def large(shipped_capture: Callable[[str], CapturedSize]) -> CapturedSize:
    return shipped_capture("large")


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> CapturedSize:
    override = tmp_path_factory.mktemp("features") / "features.yaml"
    override.write_text(TWO_USE_CASES, encoding="utf-8")
    return capture_size(load_project_config(ROOT, "small", override), serving=True)


@pytest.fixture(scope="module")
def large_two(tmp_path_factory: pytest.TempPathFactory) -> CapturedSize:
    override = tmp_path_factory.mktemp("features") / "features.yaml"
    override.write_text(TWO_USE_CASES, encoding="utf-8")
    return capture_size(load_project_config(ROOT, "large", override), serving=True)


def resources(captured: CapturedSize, type_token: str, stack: str | None = None) -> list[CapturedResource]:
    return [r for s in captured.stacks for r in s.resources
            if r.type == type_token and (stack is None or s.name == stack)]


def named(captured: CapturedSize, type_token: str, name: str) -> CapturedResource:
    found = [r for r in resources(captured, type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)} found"
    return found[0]


def statements(document: Any) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in json.loads(document)["Statement"]}


def account(captured: CapturedSize, tier: str) -> str:
    return captured.configs[0].account_of_tier(tier)


def role_arn(captured: CapturedSize, tier: str, name: str) -> str:
    return naming.role_arn("aws", account(captured, tier), name)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the groups and their stores --------------------------------------------------------------------------


def test_the_shipped_group_is_built_in_the_artifact_account_with_kms_encrypted_stores(large: CapturedSize) -> None:
    group = named(large, FEATURE_GROUP, f"artifact-churn-features-{GROUP}")
    key = named(large, KEY, "artifact-feature-store-key").outputs["arn"]
    bucket = named(large, "aws:s3/bucket:Bucket", "artifact-feature-store").outputs["bucket"]
    stack = next(s for s in large.stacks if group in s.resources)
    assert stack.name == "artifact" and group.protect
    assert group.inputs["featureGroupName"] == GROUP
    assert group.inputs["recordIdentifierFeatureName"] == "customer_id"
    assert group.inputs["eventTimeFeatureName"] == "event_time"
    assert group.inputs["featureDefinitions"][:2] == [{"featureName": "customer_id", "featureType": "String"},
                                                       {"featureName": "event_time", "featureType": "String"}]
    offline = group.inputs["offlineStoreConfig"]
    assert offline["s3StorageConfig"] == {"s3Uri": f"s3://{bucket}/churn/{GROUP}", "kmsKeyId": key}
    assert offline["disableGlueTableCreation"] is False
    assert offline["dataCatalogConfig"] == {"catalog": "AwsDataCatalog", "database": "sagemaker_featurestore",
                                            "tableName": "churn_customers"}
    assert group.inputs["onlineStoreConfig"] == {"enableOnlineStore": True, "securityConfig": {"kmsKeyId": key}}
    assert group.inputs["roleArn"] == role_arn(large, "artifact", "mlops-artifact-feature-store")


def test_the_offline_stores_bucket_is_versioned_and_encrypted_with_the_feature_store_key(large: CapturedSize) -> None:
    bucket = named(large, "aws:s3/bucket:Bucket", "artifact-feature-store")
    assert bucket.protect
    versioning = named(large, "aws:s3/bucketVersioning:BucketVersioning", "artifact-feature-store")
    assert versioning.inputs["versioningConfiguration"]["status"] == "Enabled"
    encryption = named(large, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                       "artifact-feature-store").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert encryption == {"sseAlgorithm": "aws:kms",
                          "kmsMasterKeyId": named(large, KEY, "artifact-feature-store-key").outputs["arn"]}


def test_the_feature_store_role_trusts_sagemaker_and_writes_only_its_groups_prefixes(large: CapturedSize) -> None:
    role = named(large, "aws:iam/role:Role", "artifact-feature-store-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "sagemaker.amazonaws.com"}]
    policy = statements(named(large, ROLE_POLICY, "artifact-feature-store-role").inputs["policy"])
    bucket = named(large, "aws:s3/bucket:Bucket", "artifact-feature-store").outputs["arn"]
    assert policy["WriteTheOfflineStores"]["Resource"] == [f"{bucket}/churn/{GROUP}/*"]
    assert policy["EncryptTheOfflineStores"]["Resource"] == [named(large, KEY, "artifact-feature-store-key")
                                                             .outputs["arn"]]
    artifact = account(large, "artifact")
    assert policy["KeepTheOfflineStoreTables"]["Resource"][-1] == (
        f"arn:aws:glue:eu-west-1:{artifact}:table/sagemaker_featurestore/churn_customers")


# --- sharing: RAM, bucket and key grants, reader policies ------------------------------------------------


def test_each_use_cases_groups_are_shared_by_ram_with_exactly_its_readers_accounts(large_two: CapturedSize) -> None:
    shares = resources(large_two, "aws:ram/resourceShare:ResourceShare")
    assert {s.inputs["name"] for s in shares} == {"mlops-platform-churn-feature-groups",
                                                  "mlops-platform-fraud-feature-groups"}
    for share in shares:
        assert share.inputs["allowExternalPrincipals"] is False
        assert share.inputs["permissionArns"] == [
            "arn:aws:ram::aws:permission/AWSRAMPermissionSagemakerFeatureGroupReadWrite"]
    by_share = {s.outputs["arn"]: s.inputs["name"].split("-")[2] for s in shares}
    associated = {(by_share[a.inputs["resourceShareArn"]], a.inputs["resourceArn"])
                  for a in resources(large_two, "aws:ram/resourceAssociation:ResourceAssociation")}
    artifact = account(large_two, "artifact")
    assert associated == {("churn", naming.feature_group_arn("eu-west-1", artifact, "churn-customers")),
                          ("fraud", naming.feature_group_arn("eu-west-1", artifact, "fraud-cards"))}
    principals = {(by_share[a.inputs["resourceShareArn"]], a.inputs["principal"])
                  for a in resources(large_two, "aws:ram/principalAssociation:PrincipalAssociation")}
    readers = {account(large_two, "ops"), account(large_two, "dev")}
    assert principals == {(use_case, reader) for use_case in ("churn", "fraud") for reader in readers}


def test_the_matrix_models_the_share_as_the_permissions_documented_actions(large: CapturedSize) -> None:
    world = access_matrix.World(large.stacks, large.configs[0].accounts)
    arn = naming.feature_group_arn("eu-west-1", account(large, "artifact"), GROUP)
    policy = world.resource_policy("sagemaker:GetRecord", arn)
    assert policy is not None
    assert {s["Principal"]["AWS"] for s in policy["Statement"]} == {
        f"arn:aws:iam::{account(large, t)}:root" for t in ("ops", "dev")}
    assert all(sorted(s["Action"]) == sorted(SHARED_GROUP_ACTIONS) for s in policy["Statement"])
    assert set(READER_GROUP_ACTIONS) < set(SHARED_GROUP_ACTIONS)


def test_the_bucket_and_key_admit_exactly_each_use_cases_readers(large_two: CapturedSize) -> None:
    bucket = statements(named(large_two, BUCKET_POLICY, "artifact-feature-store").inputs["policy"])
    scientists = role_arn(large_two, "dev", "mlops-dev-data-scientist")
    for use_case in ("churn", "fraud"):
        read = bucket[f"{use_case.capitalize()}ReadersReadItsOfflineStores"]
        assert set(read["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {
            role_arn(large_two, "ops", f"mlops-ops-{use_case}-pipeline"), scientists}
        assert read["Resource"].endswith(f"/{use_case}/*")
    only = bucket["OnlyTheFeatureStoreWritesOfflineStores"]
    assert only["Effect"] == "Deny" and "s3:PutObject" in only["Action"]
    assert only["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role_arn(large_two, "artifact",
                                                                               "mlops-artifact-feature-store")}}
    key = statements(named(large_two, KEY, "artifact-feature-store-key").inputs["policy"])
    assert sorted(key["OtherAccountsDecryptFeatures"]["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]
    assert set(key["OtherAccountsDecryptFeatures"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == {
        role_arn(large_two, "ops", "mlops-ops-churn-pipeline"), role_arn(large_two, "ops", "mlops-ops-fraud-pipeline"),
        scientists}


def test_each_retraining_role_may_use_only_its_own_groups(large_two: CapturedSize) -> None:
    artifact = account(large_two, "artifact")
    for use_case, group in (("churn", "churn-customers"), ("fraud", "fraud-cards")):
        policy = named(large_two, ROLE_POLICY, f"ops-{use_case}-feature-access")
        assert policy.inputs["role"] == f"mlops-ops-{use_case}-pipeline"
        granted = statements(policy.inputs["policy"])
        assert granted["UseTheFeatureGroups"]["Resource"] == [naming.feature_group_arn("eu-west-1", artifact, group)]
        assert sorted(as_list(granted["UseTheFeatureGroups"]["Action"])) == sorted(READER_GROUP_ACTIONS)
        assert [r.rsplit("/", 2)[-2] for r in granted["ReadTheOfflineStores"]["Resource"]] == [use_case]
        assert granted["ListTheOfflineStores"]["Condition"] == {"StringLike": {"s3:prefix": [f"{use_case}/*"]}}


def test_the_data_scientists_carry_the_feature_access_policy_of_every_group(large_two: CapturedSize) -> None:
    policy = named(large_two, "aws:iam/policy:Policy", "dev-feature-access")
    attached = [a.inputs["policyArn"] for a in resources(large_two, "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                                        "dev")]
    assert policy.outputs["arn"] in attached
    groups = statements(policy.inputs["policy"])["UseTheFeatureGroups"]["Resource"]
    assert [arn.rsplit("/", 1)[-1] for arn in groups] == ["churn-customers", "fraud-cards"]


# --- the small size: one account, no share -----------------------------------------------------------------


def test_in_the_small_size_the_feature_store_is_built_in_the_dev_stack_without_a_share(small: CapturedSize) -> None:
    groups = resources(small, FEATURE_GROUP)
    assert {(g.inputs["featureGroupName"]) for g in groups} == {"churn-customers", "fraud-cards"}
    assert {s.name for s in small.stacks if any(r in s.resources for r in groups)} == {"dev"}
    assert resources(small, "aws:ram/resourceShare:ResourceShare") == []
    assert all(g.protect for g in groups), "the artifact tier's state is protected in whatever stack hosts it"
    fraud = next(g for g in groups if g.inputs["featureGroupName"] == "fraud-cards")
    assert fraud.inputs["onlineStoreConfig"] == {"enableOnlineStore": False}


def test_in_the_small_size_every_feature_flow_holds_within_the_account(small: CapturedSize) -> None:
    matrix = access_matrix.check(small.configs[0], list(small.stacks))
    names = {r.flow.name for r in matrix.results}
    assert {"churn-customers: the churn retraining role sagemaker:GetRecord",
            "fraud-cards: the churn retraining role cannot get records",
            "fraud-cards: the prod churn model cannot read the offline store"} <= names
    assert matrix.passed, [r.flow.name for r in matrix.broken]


# --- the access matrix over the large size with two use cases ----------------------------------------------

Edit = Callable[[CapturedResource], CapturedResource | None]


def _stacks(captured: CapturedSize, edit: Edit) -> list[CapturedStack]:
    edited = []
    for stack in captured.stacks:
        kept = [edit(r) for r in stack.resources]
        edited.append(dataclasses.replace(stack, resources=[r for r in kept if r is not None]))
    return edited


def _matrix(captured: CapturedSize, edit: Edit | None = None) -> AccessMatrix:
    return access_matrix.check(captured.configs[0], list(captured.stacks) if edit is None else _stacks(captured, edit))


def _feature_flows(matrix: AccessMatrix) -> set[str]:
    return {r.flow.name for r in matrix.results if r.flow.name.startswith(("churn-customers:", "fraud-cards:"))}


@pytest.fixture(scope="module")
def large_matrix(large_two: CapturedSize) -> AccessMatrix:
    return _matrix(large_two)


def test_every_feature_flow_holds_across_the_accounts(large_matrix: AccessMatrix) -> None:
    names = _feature_flows(large_matrix)
    assert {"churn-customers: the churn retraining role sagemaker:PutRecord",
            "churn-customers: the data scientists reads the offline store",
            "churn-customers: the fraud retraining role cannot get records",
            "churn-customers: the fraud retraining role cannot read the offline store",
            "churn-customers: the fraud retraining role cannot list the offline store",
            "fraud-cards: the fraud retraining role lists the offline store",
            "fraud-cards: the churn retraining role cannot put records",
            "fraud-cards: the staging churn model cannot get records",
            "churn-customers: the churn drift check cannot get records",
            "churn-customers: the feature store role writes the offline store",
            "churn-customers: the churn retraining role cannot write the offline store"} <= names
    assert large_matrix.passed, [r.flow.name for r in large_matrix.broken]


def _without_principal(account_id: str) -> Edit:
    def edit(resource: CapturedResource) -> CapturedResource | None:
        if resource.type == "aws:ram/principalAssociation:PrincipalAssociation" \
                and resource.inputs["principal"] == account_id and "churn" in resource.name:
            return None
        return resource
    return edit


def test_without_the_shares_ops_association_only_the_churn_retraining_loses_its_records(
        large_two: CapturedSize) -> None:
    matrix = _matrix(large_two, _without_principal(account(large_two, "ops")))
    assert {r.flow.name for r in matrix.broken} == {
        f"churn-customers: the churn retraining role {action}" for action in (
            "sagemaker:GetRecord", "sagemaker:PutRecord", "sagemaker:BatchGetRecord",
            "sagemaker:DescribeFeatureGroup")}


def _without_statement(type_token: str, name: str, sid: str) -> Edit:
    def edit(resource: CapturedResource) -> CapturedResource:
        if resource.type != type_token or resource.name != name:
            return resource
        document = json.loads(resource.inputs["policy"])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
        return dataclasses.replace(resource, inputs={**resource.inputs, "policy": json.dumps(document)})
    return edit


@pytest.mark.parametrize(("grant", "broken"), [
    ((BUCKET_POLICY, "artifact-feature-store", "FraudReadersReadItsOfflineStores"),
     {"fraud-cards: the fraud retraining role reads the offline store",
      "fraud-cards: the data scientists reads the offline store"}),
    ((BUCKET_POLICY, "artifact-feature-store", "OnlyTheFeatureStoreWritesOfflineStores"),
     {f"{group}: the artifact deploy role cannot {action} the offline store"
      for group in ("churn-customers", "fraud-cards") for action in ("s3:PutObject", "s3:DeleteObjectVersion")}),
    ((KEY, "artifact-feature-store-key", "OtherAccountsDecryptFeatures"),
     {"churn-customers: the retraining role decrypts features", "churn-customers: the data scientists decrypt features",
      "fraud-cards: the retraining role decrypts features", "fraud-cards: the data scientists decrypt features"}),
    ((ROLE_POLICY, "ops-churn-feature-access", "UseTheFeatureGroups"),
     {f"churn-customers: the churn retraining role {action}" for action in (
         "sagemaker:GetRecord", "sagemaker:PutRecord", "sagemaker:BatchGetRecord", "sagemaker:DescribeFeatureGroup")}),
])
def test_each_feature_grant_carries_exactly_its_flows(grant: tuple[str, str, str], broken: set[str],
                                                      large_two: CapturedSize) -> None:
    matrix = _matrix(large_two, _without_statement(*grant))
    assert {r.flow.name for r in matrix.broken} == broken


def test_the_offline_store_prefix_and_table_names_come_from_the_contract() -> None:
    assert contract.feature_group_offline_prefix("churn", GROUP) == f"churn/{GROUP}"
    assert contract.feature_group_table_name(GROUP) == "churn_customers"


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> CapturedSize:
    override = tmp_path_factory.mktemp("features") / "features.yaml"
    override.write_text(TWO_USE_CASES, encoding="utf-8")
    return capture_size(load_project_config(ROOT, "medium", override), serving=True)


def test_in_the_medium_size_the_dev_account_hosts_the_groups_and_every_feature_flow_holds(
        medium: CapturedSize) -> None:
    assert {s.name for s in medium.stacks if any(r.type == FEATURE_GROUP for r in s.resources)} == {"dev"}
    assert resources(medium, "aws:ram/resourceShare:ResourceShare") == []
    matrix = _matrix(medium)
    assert "fraud-cards: the staging churn model cannot get records" in _feature_flows(matrix)
    assert matrix.passed, [r.flow.name for r in matrix.broken]


def test_the_ops_tier_uploads_the_read_features_script_and_runs_it_over_the_offline_store(
        large: CapturedSize) -> None:
    scripts = {r.inputs["key"] for r in resources(large, "aws:s3/bucketObjectv2:BucketObjectv2", "ops")}
    assert "code/churn/features.py" in scripts
    pipeline = next(r for r in resources(large, "aws:sagemaker/pipeline:Pipeline", "ops")
                    if r.inputs["pipelineName"] == "churn-retraining")
    steps = {s["Name"]: s for s in json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]}
    bucket = named(large, "aws:s3/bucket:Bucket", "artifact-feature-store").outputs["bucket"]
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in steps["read-features"]["Arguments"]["ProcessingInputs"]}
    assert inputs[f"offline-store-{GROUP}"] == f"s3://{bucket}/churn/{GROUP}/"
