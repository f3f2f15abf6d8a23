"""The receiving side of the data lake (large: the ops and dev accounts): the account's own Lake Formation settings
(named admins, no `IAMAllowedPrincipals` defaults), a resource link to each shared database, the account admin's
grants to its roles — exactly the tables (and columns) the data account shared — and the Athena workgroup those
roles query in, its results encrypted in a bucket of its own.

Lake Formation checks two grants on a query through a resource link: DESCRIBE on the link (in this account's
catalog) and SELECT on the target table (in the data account's catalog, granted here by this account's admin
from what the data account shared with grant option). The roles' own IAM policies add what Athena, Glue and
`lakeformation:GetDataAccess` need (`reader_statements`): without a grant, IAM alone reads nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.data_lake import DATABASE_SEE, TableGrant
from mlops_platform.components.iam import allow, document
from mlops_platform.components.kms_key import PlatformKey, PlatformKeyArgs
from mlops_platform.components.secure_bucket import SecureBucket, SecureBucketArgs
from mlops_platform.config import LakeTable
from mlops_platform.iam_policy import Statement
from mlops_platform.pipelines.spec import AthenaTrainingInput
from mlops_platform.placement import Placement

ATHENA_QUERY_ACTIONS = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults",
                        "athena:StopQueryExecution", "athena:GetWorkGroup"]
GLUE_READ_ACTIONS = ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables",
                     "glue:GetPartition", "glue:GetPartitions"]
RESULTS_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
QUERY_INTERFACE_ENDPOINTS = ("athena", "glue", "lakeformation")
"""What a VPC-only client (Studio) of the data lake calls: Athena, the Glue catalog and Lake Formation. The
retraining needs none in its VPC: SageMaker runs its query before the network-isolated job starts."""


@dataclass(frozen=True)
class LakeReader:
    """A role of this account and the tables it may read; `role` is the resource creating it (grants wait for it)."""

    role_name: str
    tables: tuple[TableGrant, ...]
    role: pulumi.Resource


@dataclass(frozen=True)
class DataLakeAccessArgs:
    placement: Placement
    data_account_id: str
    admin_role_arns: Sequence[str]
    """This account's Lake Formation admins (its deploy role): they create the links and grant the readers."""
    data_key_arn: pulumi.Input[str]
    """The data tier's key, which encrypts the shared Data Catalog: readers decrypt its metadata through Glue."""
    domains: Sequence[str]
    """The shared domains this account links (its readers' tables are in them)."""
    protect: bool
    access_log_bucket: pulumi.Input[str]


class DataLakeAccess(pulumi.ComponentResource):
    workgroup_name: str
    results_bucket_name: pulumi.Output[str]
    results_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: DataLakeAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:data:DataLakeAccess", name, None, opts)
        place = args.placement
        settings = aws.lakeformation.DataLakeSettings(
            name, admins=list(args.admin_role_arns), create_database_default_permissions=[],
            create_table_default_permissions=[], opts=pulumi.ResourceOptions(parent=self))
        key = PlatformKey(f"{name}-key", PlatformKeyArgs(
            description=f"mlops-platform {place.tier} tier: data lake query results", placement=place,
            alias=f"{contract.PROJECT}/{place.tier}-data-lake", protect=args.protect), pulumi.ResourceOptions(
                parent=self))
        results = SecureBucket(f"{name}-results", SecureBucketArgs(
            placement=place, protect=args.protect, kms_key_arn=key.arn, access_log_bucket=args.access_log_bucket),
            pulumi.ResourceOptions(parent=self))
        self.workgroup_name = contract.athena_workgroup_name(place.tier)
        aws.athena.Workgroup(name, name=self.workgroup_name, force_destroy=False,
                             description=f"The {place.tier} tier's queries of the governed data lake",
                             configuration={
                                 "enforce_workgroup_configuration": True,
                                 "publish_cloudwatch_metrics_enabled": True,
                                 "result_configuration": {
                                     "output_location": pulumi.Output.concat("s3://", results.bucket, "/queries/"),
                                     "encryption_configuration": {"encryption_option": "SSE_KMS",
                                                                  "kms_key_arn": key.arn},
                                     "expected_bucket_owner": place.account_id}},
                             opts=pulumi.ResourceOptions(parent=self))
        self._args = args
        self.results_bucket_name = results.bucket
        self.results_bucket_arn = results.arn
        self.results_key_arn = key.arn
        self._links = {domain: aws.glue.CatalogDatabase(
            f"{name}-{domain}", name=contract.data_lake_link_name(domain),
            target_database={"catalog_id": args.data_account_id,
                             "database_name": contract.data_lake_database_name(domain), "region": place.region},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[settings], protect=args.protect))
            for domain in args.domains}
        self._name = name
        self.register_outputs({"workgroup": self.workgroup_name, "resultsBucket": results.bucket})

    def grant(self, reader: LakeReader) -> None:
        """Lake Formation grants (DESCRIBE on the links, SELECT on the shared tables) and the IAM policy of one
        reader; the grants wait for the reader's role (Lake Formation refuses a principal that does not exist)."""
        name, args, links = self._name, self._args, self._links
        place = args.placement
        principal = contract.role_arn(place.partition, place.account_id, reader.role_name)
        for domain in dict.fromkeys(g.table.domain for g in reader.tables):
            aws.lakeformation.Permissions(
                f"{name}-{reader.role_name}-{domain}", principal=principal, catalog_id=place.account_id,
                permissions=list(DATABASE_SEE),
                database={"catalog_id": place.account_id, "name": links[domain].name},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[reader.role, links[domain]]))
        for table_grant in reader.tables:
            table = table_grant.table
            database = contract.data_lake_database_name(table.domain)
            grant_opts = pulumi.ResourceOptions(parent=self, depends_on=[reader.role, links[table.domain]])
            if table_grant.columns is None:
                aws.lakeformation.Permissions(
                    f"{name}-{reader.role_name}-{table.ref}", principal=principal, catalog_id=place.account_id,
                    permissions=list(table_grant.permissions),
                    table={"catalog_id": args.data_account_id, "database_name": database, "name": table.name},
                    opts=grant_opts)
            else:
                aws.lakeformation.Permissions(
                    f"{name}-{reader.role_name}-{table.ref}", principal=principal, catalog_id=place.account_id,
                    permissions=list(table_grant.permissions),
                    table_with_columns={"catalog_id": args.data_account_id, "database_name": database,
                                        "name": table.name, "column_names": list(table_grant.columns)},
                    opts=grant_opts)
        aws.iam.RolePolicy(f"{name}-{reader.role_name}", role=reader.role_name,
                           policy=document(self.reader_statements(reader.tables)),
                           opts=pulumi.ResourceOptions(parent=self, depends_on=[reader.role]))

    def reader_statements(self, tables: Sequence[TableGrant]) -> list[Statement]:
        """What a reader's IAM policy needs beside its Lake Formation grants: query in this tier's workgroup, read
        the catalog entries of its tables (link and target), ask Lake Formation for data access, and keep results."""
        args = self._args
        place, data = args.placement, args.data_account_id
        domains = list(dict.fromkeys(g.table.domain for g in tables))
        catalog = [
            naming.glue_arn(place.region, place.account_id, "catalog"),
            *(naming.glue_arn(place.region, place.account_id, f"database/{contract.data_lake_link_name(d)}")
              for d in domains),
            *(naming.glue_arn(place.region, place.account_id, f"table/{contract.data_lake_link_name(d)}/*")
              for d in domains),
            naming.glue_arn(place.region, data, "catalog"),
            *(naming.glue_arn(place.region, data, f"database/{contract.data_lake_database_name(d)}")
              for d in domains),
            *(naming.glue_arn(place.region, data,
                              f"table/{contract.data_lake_database_name(g.table.domain)}/{g.table.name}")
              for g in tables),
        ]
        return [
            allow(ATHENA_QUERY_ACTIONS,
                  [naming.athena_workgroup_arn(place.region, place.account_id, self.workgroup_name)],
                  sid="QueryInTheTierWorkgroup"),
            allow(GLUE_READ_ACTIONS, catalog, sid="ReadSharedCatalogEntries"),
            allow(["lakeformation:GetDataAccess"], "*", sid="ReadThroughLakeFormation"),
            allow(["s3:ListBucket", "s3:GetBucketLocation"], [self.results_bucket_arn], sid="ListQueryResults"),
            allow(RESULTS_ACTIONS, [pulumi.Output.concat(self.results_bucket_arn, "/*")], sid="KeepQueryResults"),
            allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [self.results_key_arn],
                  sid="EncryptQueryResults"),
            allow(["kms:Decrypt", "kms:DescribeKey"], [args.data_key_arn],
                  {"StringLike": {"kms:ViaService": f"glue.{place.region}.amazonaws.com"}},
                  sid="DecryptTheSharedCatalog"),
        ]


def training_query(table: LakeTable) -> str:
    """What the retraining reads of a table: every column (partition keys included), through its resource link."""
    columns = ", ".join(f'"{name}"' for name in table.column_names)
    return f'SELECT {columns} FROM "{contract.data_lake_link_name(table.domain)}"."{table.name}"'


@dataclass(frozen=True)
class TrainingQueries:
    """Where a retraining pipeline queries its use case's tables: the ops tier's workgroup and its results."""

    tables: tuple[LakeTable, ...]
    workgroup: str
    results_bucket_name: pulumi.Input[str]
    results_key_arn: pulumi.Input[str]

    def inputs(self, use_case: str, results_bucket: str, key_arn: str) -> tuple[AthenaTrainingInput, ...]:
        """Each table's query, its result under `training-data/<use case>/<domain.table>/` of the results bucket."""
        return tuple(AthenaTrainingInput(
            table=table.ref, database=contract.data_lake_link_name(table.domain), query=training_query(table),
            workgroup=self.workgroup, output_s3_uri=f"s3://{results_bucket}/training-data/{use_case}/{table.ref}/",
            kms_key_arn=key_arn) for table in self.tables)
