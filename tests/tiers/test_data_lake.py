"""The governed data lake over the captured large stacks: the data tier's buckets, catalog and Lake Formation
settings, the shares by account, the ops and dev accounts' links, grants and workgroups, the retraining reading its
tables by Athena, and nothing in an earlier stack naming a role of a later one."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from mlops_platform.offline import network_paths
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.size_capture import CapturedSize

LARGE = {"data": "222222222222", "ops": "555555555555", "dev": "666666666666"}
SETTINGS = "aws:lakeformation/dataLakeSettings:DataLakeSettings"
PERMISSIONS = "aws:lakeformation/permissions:Permissions"
DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
LAKE_TYPES = (SETTINGS, PERMISSIONS, DATABASE, TABLE, WORKGROUP, "aws:lakeformation/resource:Resource",
              "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings")


def stack(size: CapturedSize, name: str) -> CapturedStack:
    return next(s for s in size.stacks if s.name == name)


def of_type(captured: CapturedStack, type_token: str) -> list[CapturedResource]:
    return [r for r in captured.resources if r.type == type_token]


def one(captured: CapturedStack, type_token: str, name: str | None = None) -> CapturedResource:
    found = [r for r in of_type(captured, type_token) if name is None or r.name == name]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def role(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def statements(resource: CapturedResource, key: str = "policy") -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in json.loads(resource.inputs[key])["Statement"]}


def test_the_data_tier_administers_lake_formation_by_its_deploy_role_with_no_iam_defaults(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    settings = one(stack(shipped_capture("large"), "data"), SETTINGS).inputs
    assert settings["admins"] == [role(LARGE["data"], "mlops-platform-deploy")]
    assert settings["createDatabaseDefaultPermissions"] == [] and settings["createTableDefaultPermissions"] == []
    assert settings["parameters"] == {"CROSS_ACCOUNT_VERSION": "4"}


def test_the_catalog_is_encrypted_and_curated_is_registered_with_its_own_role(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    data = stack(shipped_capture("large"), "data")
    key = one(data, "aws:kms/key:Key", "data-key").outputs["arn"]
    encryption = one(data, "aws:glue/dataCatalogEncryptionSettings:DataCatalogEncryptionSettings").inputs[
        "dataCatalogEncryptionSettings"]
    assert encryption["encryptionAtRest"] == {"catalogEncryptionMode": "SSE-KMS", "sseAwsKmsKeyId": key}
    assert encryption["connectionPasswordEncryption"] == {"returnConnectionPasswordEncrypted": True,
                                                          "awsKmsKeyId": key}
    registered = one(data, "aws:lakeformation/resource:Resource").inputs
    curated = one(data, "aws:s3/bucket:Bucket", "data-lake-curated").outputs["arn"]
    assert registered == {"arn": curated, "roleArn": role(LARGE["data"], "mlops-data-lake-location"),
                          "useServiceLinkedRole": False}


def test_each_domain_is_a_protected_database_of_tables_declared_in_config(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    data = stack(shipped_capture("large"), "data")
    database = one(data, DATABASE)
    bucket = one(data, "aws:s3/bucket:Bucket", "data-lake-curated").outputs["bucket"]
    assert database.protect and database.inputs["name"] == "customers"
    assert database.inputs["locationUri"] == f"s3://{bucket}/customers/"
    table = one(data, TABLE).inputs
    assert table["databaseName"] == "customers" and table["name"] == "churn_history"
    assert table["storageDescriptor"]["location"] == f"s3://{bucket}/customers/churn_history/"
    assert [c["name"] for c in table["storageDescriptor"]["columns"]] == [
        "customer_id", "tenure_months", "monthly_charges", "contract_type", "email", "label"]
    assert table["partitionKeys"] == [{"name": "snapshot_month", "type": "string"}]
    assert table["storageDescriptor"]["serDeInfo"]["serializationLibrary"].endswith("ParquetHiveSerDe")


def test_raw_and_curated_objects_are_read_only_by_their_designed_roles(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    data = stack(shipped_capture("large"), "data")
    curated = statements(one(data, "aws:s3/bucketPolicy:BucketPolicy", "data-lake-curated"))
    read = curated["OnlyLakeFormationReadsCuratedObjects"]
    assert read["Effect"] == "Deny" and read["Principal"] in ("*", {"AWS": "*"})
    assert set(read["Action"]) == {"s3:GetObject", "s3:GetObjectVersion"}
    assert read["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": role(LARGE["data"],
                                                                            "mlops-data-lake-location")}}
    assert curated["OnlyIngestWritesCuratedObjects"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == role(
        LARGE["data"], "mlops-data-lake-ingest")
    raw = statements(one(data, "aws:s3/bucketPolicy:BucketPolicy", "data-lake-raw"))
    assert raw["OnlyIngestReadsRawObjects"]["Condition"]["ArnNotEquals"]["aws:PrincipalArn"] == role(
        LARGE["data"], "mlops-data-lake-ingest")


def test_the_data_account_shares_with_accounts_never_with_their_roles(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    """The data stack deploys before ops and dev: its grants name their accounts, which Lake Formation shares with
    through RAM, and the receiving admins grant their own roles."""
    grants = of_type(stack(shipped_capture("large"), "data"), PERMISSIONS)
    assert {g.inputs["principal"] for g in grants} == {LARGE["ops"], LARGE["dev"]}
    for grant in grants:
        assert grant.inputs["permissions"] == grant.inputs["permissionsWithGrantOptions"]
        assert grant.inputs["catalogId"] == LARGE["data"]


def test_no_stack_names_a_role_of_a_later_stack_in_a_lake_formation_grant(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    """A role named by a grant is created by the grant's own stack, and the grant waits for it."""
    for captured in shipped_capture("large").stacks:
        roles = {str(r.outputs["arn"]): r.urn for r in of_type(captured, "aws:iam/role:Role")}
        for grant in of_type(captured, PERMISSIONS):
            principal = str(grant.inputs["principal"])
            if principal.startswith("arn:"):
                assert principal in roles, (captured.name, principal)
                assert roles[principal] in grant.dependencies, (captured.name, grant.name)
            else:
                assert captured.name == "data" and principal in (LARGE["ops"], LARGE["dev"])


def test_the_ops_account_links_the_shared_database_and_grants_its_retraining_role_its_tables_only(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    ops = stack(shipped_capture("large"), "ops")
    link = one(ops, DATABASE).inputs
    assert link == {"name": "customers_shared", "targetDatabase": {
        "catalogId": LARGE["data"], "databaseName": "customers", "region": "eu-west-1"}}
    retraining = role(LARGE["ops"], "mlops-ops-churn-pipeline")
    grants = {g.name: g for g in of_type(ops, PERMISSIONS)}
    assert {g.inputs["principal"] for g in grants.values()} == {retraining}
    on_link = next(g for g in grants.values() if "database" in g.inputs)
    assert on_link.inputs["database"] == {"catalogId": LARGE["ops"], "name": "customers_shared"}
    assert on_link.inputs["permissions"] == ["DESCRIBE"]
    on_table = next(g for g in grants.values() if "table" in g.inputs)
    assert on_table.inputs["table"] == {"catalogId": LARGE["data"], "databaseName": "customers",
                                        "name": "churn_history"}
    assert on_table.inputs["permissions"] == ["SELECT", "DESCRIBE"]
    assert "permissionsWithGrantOptions" not in on_table.inputs
    role_urn = one(ops, "aws:iam/role:Role", "ops-churn-retraining-execution").urn
    assert all(role_urn in grant.dependencies for grant in grants.values()), "grants wait for the role"


def test_the_dev_account_grants_data_scientists_the_filtered_columns(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    dev = stack(shipped_capture("large"), "dev")
    grants = of_type(dev, PERMISSIONS)
    assert {g.inputs["principal"] for g in grants} == {role(LARGE["dev"], "mlops-dev-data-scientist")}
    columns = next(g for g in grants if "tableWithColumns" in g.inputs).inputs["tableWithColumns"]
    assert "email" not in columns["columnNames"] and "label" in columns["columnNames"]
    assert columns["catalogId"] == LARGE["data"]


def test_each_receiving_tier_queries_in_an_enforced_workgroup_with_kms_encrypted_results(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    for tier in ("ops", "dev"):
        captured = stack(shipped_capture("large"), tier)
        configuration = one(captured, WORKGROUP).inputs["configuration"]
        key = one(captured, "aws:kms/key:Key", f"{tier}-data-lake-key").outputs["arn"]
        bucket = one(captured, "aws:s3/bucket:Bucket", f"{tier}-data-lake-results").outputs["bucket"]
        assert configuration["enforceWorkgroupConfiguration"] is True
        assert configuration["resultConfiguration"]["encryptionConfiguration"] == {
            "encryptionOption": "SSE_KMS", "kmsKeyArn": key}
        assert configuration["resultConfiguration"]["outputLocation"] == f"s3://{bucket}/queries/"
        assert one(captured, WORKGROUP).inputs["name"] == f"mlops-{tier}-data-lake"


def test_the_retraining_preprocess_reads_its_tables_by_athena_in_the_ops_workgroup(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    ops = stack(shipped_capture("large"), "ops")
    pipeline = one(ops, "aws:sagemaker/pipeline:Pipeline", "ops-churn-retraining")
    steps = json.loads(pipeline.inputs["pipelineDefinition"])["Steps"]
    preprocess = next(step for step in steps if step["Name"] == "preprocess")
    inputs = [i for i in preprocess["Arguments"]["ProcessingInputs"] if i["InputName"] != "code"]
    assert len(inputs) == 1 and "S3Input" not in inputs[0], "no read around Lake Formation"
    definition = inputs[0]["DatasetDefinition"]
    athena = definition["AthenaDatasetDefinition"]
    bucket = one(ops, "aws:s3/bucket:Bucket", "ops-data-lake-results").outputs["bucket"]
    key = one(ops, "aws:kms/key:Key", "ops-data-lake-key").outputs["arn"]
    assert athena["WorkGroup"] == "mlops-ops-data-lake" and athena["Database"] == "customers_shared"
    assert athena["Catalog"] == "AwsDataCatalog" and athena["KmsKeyId"] == key
    assert athena["OutputS3Uri"] == f"s3://{bucket}/training-data/churn/customers.churn_history/"
    assert athena["QueryString"].endswith('FROM "customers_shared"."churn_history"')
    assert '"snapshot_month"' in athena["QueryString"]
    assert definition["LocalPath"] == "/opt/ml/processing/lake/customers.churn_history"


def test_the_retraining_role_gets_exactly_its_query_rights(shipped_capture: Callable[[str], CapturedSize]) -> None:
    ops = stack(shipped_capture("large"), "ops")
    policy = next(r for r in of_type(ops, "aws:iam/rolePolicy:RolePolicy")
                  if r.inputs.get("role") == "mlops-ops-churn-pipeline" and "data-lake" in r.name)
    sids = statements(policy)
    assert sids["QueryInTheTierWorkgroup"]["Resource"] == [
        f"arn:aws:athena:eu-west-1:{LARGE['ops']}:workgroup/mlops-ops-data-lake"]
    assert sids["ReadThroughLakeFormation"]["Action"] == ["lakeformation:GetDataAccess"]
    glue = sids["ReadSharedCatalogEntries"]["Resource"]
    assert f"arn:aws:glue:eu-west-1:{LARGE['data']}:table/customers/churn_history" in glue
    assert not any(resource.endswith(":table/customers/*") for resource in glue
                   if f":{LARGE['data']}:" in resource), "only its own tables of the data account's catalog"


def test_the_medium_and_small_sizes_build_no_data_lake(shipped_capture: Callable[[str], CapturedSize]) -> None:
    for size in ("medium", "small"):
        assert not [r.name for s in shipped_capture(size).stacks for r in s.resources if r.type in LAKE_TYPES]


def test_studio_reaches_athena_glue_and_lake_formation_in_its_vpc(
        shipped_capture: Callable[[str], CapturedSize]) -> None:
    """VpcOnly Studio has no route out: querying the data lake needs the three interface endpoints."""
    size = shipped_capture("large")
    paths = network_paths.check(size.configs[0], size.stacks)
    lake = {p.destination.name: p.reachable for p in paths.paths
            if p.workload.kind == "studio" and p.destination.name in ("athena", "glue", "lakeformation")}
    assert lake == {"athena": True, "glue": True, "lakeformation": True}

    def without_athena(captured: CapturedStack) -> CapturedStack:
        kept = [r for r in captured.resources if not (r.type == "aws:ec2/vpcEndpoint:VpcEndpoint"
                                                      and str(r.inputs.get("serviceName", "")).endswith(".athena"))]
        return dataclasses.replace(captured, resources=kept)
    broken = network_paths.check(size.configs[0], [without_athena(s) for s in size.stacks])
    assert [f.destination for f in broken.findings] == ["athena"]
