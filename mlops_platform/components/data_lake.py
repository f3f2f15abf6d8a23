"""The governed data lake of the data tier: Glue databases and tables over the curated bucket, the Data Catalog
encrypted with the tier's key, and Lake Formation as the only gate.

Lake Formation is administered by named roles only (never `*`), with no `IAMAllowedPrincipals` defaults for new
databases and tables, so nothing is readable until it is granted. The curated bucket is registered with its own
role (the location role), the only principal its bucket policy lets read objects: every read goes through Lake
Formation, which vends the location role's credentials to the principals it granted. The grants to other
accounts (`LakeShare`) name the receiving *account*: Lake Formation shares them through AWS RAM (cross-account
version 4), and the receiving account's own Lake Formation admin grants its roles (`data_lake_access`), so the
data stack, deployed before the ops and dev stacks, names none of their roles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, iam_policy, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, allow, service_trust, trust
from mlops_platform.config import DataLake, LakeTable
from mlops_platform.iam_policy import Statement, grant
from mlops_platform.placement import Placement

CROSS_ACCOUNT_VERSION = "4"
"""Lake Formation's cross-account version: 3 and 4 share named resources through AWS RAM, whose invitations
inside the organization are accepted without anyone's action (with RAM's sharing with AWS Organizations on)."""
TABLE_READ = ("SELECT", "DESCRIBE")
"""What a reader of a whole table holds (and an account it is shared with may grant on)."""
COLUMN_READ = ("SELECT",)
"""What a reader of some of a table's columns holds: Lake Formation grants only SELECT on columns."""
DATABASE_SEE = ("DESCRIBE",)
"""On a shared database: enough for the receiving account to link it and find its tables."""
PARQUET = {
    "input_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "serde": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
}
OBJECT_READS = ["s3:GetObject", "s3:GetObjectVersion"]
OBJECT_WRITES = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]


@dataclass(frozen=True)
class TableGrant:
    """A table one reader may select from: every column (None) or only `columns`."""

    table: LakeTable
    columns: tuple[str, ...] | None = None

    @property
    def permissions(self) -> tuple[str, ...]:
        return TABLE_READ if self.columns is None else COLUMN_READ


@dataclass(frozen=True)
class LakeShare:
    """What the data account shares with another account of the organization: these tables, with grant option,
    so that account's Lake Formation admin can grant them (and no more) to its own roles."""

    account_id: str
    tables: tuple[TableGrant, ...]

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(grant.table.domain for grant in self.tables))


def location_role_arn(placement: Placement) -> str:
    return contract.role_arn(placement.partition, placement.account_id, contract.data_lake_location_role_name())


def ingest_role_arn(placement: Placement) -> str:
    return contract.role_arn(placement.partition, placement.account_id, contract.data_lake_ingest_role_name())


def _deny_all_but(sid: str, actions: list[str], resource: str, role_arn: str) -> Statement:
    return grant(sid, {"*": "*"}, actions, resource, {"ArnNotEquals": {"aws:PrincipalArn": role_arn}},
                 effect=iam_policy.DENY)


def raw_bucket_policy(placement: Placement, bucket_arn: str) -> list[Statement]:
    """Raw objects: written and read by the ingest role alone (Lake Formation does not govern raw data)."""
    ingest = ingest_role_arn(placement)
    return [_deny_all_but("OnlyIngestReadsRawObjects", OBJECT_READS, f"{bucket_arn}/*", ingest),
            _deny_all_but("OnlyIngestWritesRawObjects", OBJECT_WRITES, f"{bucket_arn}/*", ingest)]


def curated_bucket_policy(placement: Placement, bucket_arn: str) -> list[Statement]:
    """Curated objects: read only by the registered location's role (so only through Lake Formation), written
    only by the ingest role."""
    return [_deny_all_but("OnlyLakeFormationReadsCuratedObjects", OBJECT_READS, f"{bucket_arn}/*",
                          location_role_arn(placement)),
            _deny_all_but("OnlyIngestWritesCuratedObjects", OBJECT_WRITES, f"{bucket_arn}/*",
                          ingest_role_arn(placement))]


@dataclass(frozen=True)
class DataLakeArgs:
    placement: Placement
    lake: DataLake
    admin_role_arns: Sequence[str]
    """The data account's Lake Formation admins: roles that exist when the settings are applied (the deploy role)."""
    key_arn: pulumi.Input[str]
    raw_bucket_arn: pulumi.Input[str]
    curated_bucket_name: pulumi.Input[str]
    curated_bucket_arn: pulumi.Input[str]
    shares: Sequence[LakeShare]
    protect: bool


class GovernedDataLake(pulumi.ComponentResource):
    def __init__(self, name: str, args: DataLakeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:data:GovernedDataLake", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        place = args.placement
        settings = aws.lakeformation.DataLakeSettings(
            name, admins=list(args.admin_role_arns), create_database_default_permissions=[],
            create_table_default_permissions=[], parameters={"CROSS_ACCOUNT_VERSION": CROSS_ACCOUNT_VERSION},
            opts=child)
        aws.glue.DataCatalogEncryptionSettings(name, data_catalog_encryption_settings={
            "encryption_at_rest": {"catalog_encryption_mode": "SSE-KMS", "sse_aws_kms_key_id": args.key_arn},
            "connection_password_encryption": {"return_connection_password_encrypted": True,
                                               "aws_kms_key_id": args.key_arn}}, opts=child)
        location = self._location_role(name, args)
        aws.lakeformation.Resource(name, arn=args.curated_bucket_arn, role_arn=location.arn,
                                   use_service_linked_role=False,
                                   opts=pulumi.ResourceOptions(parent=self, depends_on=[settings, location]))
        self._ingest_role(name, args)
        after_settings = pulumi.ResourceOptions(parent=self, depends_on=[settings], protect=args.protect)
        databases: dict[str, aws.glue.CatalogDatabase] = {}
        tables: dict[str, aws.glue.CatalogTable] = {}
        for domain in args.lake.domains:
            databases[domain] = aws.glue.CatalogDatabase(
                f"{name}-{domain}", name=contract.data_lake_database_name(domain),
                description=f"The {domain} domain's curated tables, governed by Lake Formation",
                location_uri=pulumi.Output.concat("s3://", args.curated_bucket_name, "/", domain, "/"),
                opts=after_settings)
            for table in args.lake.tables_of(domain):
                tables[table.ref] = _table(f"{name}-{domain}-{table.name}", table, args.curated_bucket_name,
                                           pulumi.ResourceOptions(parent=self, depends_on=[databases[domain]]))
        for share in args.shares:
            _share(f"{name}-{share.account_id}", share, place, databases, tables, self)
        self.database_names = {domain: database.name for domain, database in databases.items()}
        self.register_outputs({})

    def _location_role(self, name: str, args: DataLakeArgs) -> PlatformRole:
        objects = pulumi.Output.concat(args.curated_bucket_arn, "/*")
        return PlatformRole(f"{name}-location", PlatformRoleArgs(
            role_name=contract.data_lake_location_role_name(),
            description="Lake Formation reads the registered curated location as this role, for the principals it "
                        "granted (the design grants no writes)",
            trust_policy=trust({"Service": ["lakeformation.amazonaws.com", "glue.amazonaws.com"]}),
            statements=[
                allow(["s3:ListBucket", "s3:GetBucketLocation"], [args.curated_bucket_arn], sid="ListCurated"),
                allow(OBJECT_READS, [objects], sid="ReadCuratedForGrantedPrincipals"),
                allow(["kms:Decrypt", "kms:DescribeKey"], [args.key_arn], sid="DecryptCurated"),
            ]), pulumi.ResourceOptions(parent=self))

    def _ingest_role(self, name: str, args: DataLakeArgs) -> PlatformRole:
        place = args.placement
        return PlatformRole(f"{name}-ingest", PlatformRoleArgs(
            role_name=contract.data_lake_ingest_role_name(),
            description="The curation jobs (AWS Glue) write raw data and turn it into the curated tables",
            trust_policy=service_trust("glue.amazonaws.com", place.account_id),
            statements=[
                allow(["s3:ListBucket", "s3:GetBucketLocation"], [args.raw_bucket_arn, args.curated_bucket_arn],
                      sid="ListLakeBuckets"),
                allow([*OBJECT_READS, *OBJECT_WRITES], [pulumi.Output.concat(args.raw_bucket_arn, "/*")],
                      sid="ReadWriteRaw"),
                allow(OBJECT_WRITES, [pulumi.Output.concat(args.curated_bucket_arn, "/*")], sid="WriteCurated"),
                allow(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"], [args.key_arn],
                      sid="UseTheDataKey"),
                allow(["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:BatchCreatePartition"],
                      [naming.glue_arn(place.region, place.account_id, "catalog"),
                       naming.glue_arn(place.region, place.account_id, "database/*"),
                       naming.glue_arn(place.region, place.account_id, "table/*/*")], sid="AddPartitions"),
            ]), pulumi.ResourceOptions(parent=self))


def _table(name: str, table: LakeTable, curated_bucket: pulumi.Input[str],
           opts: pulumi.ResourceOptions) -> aws.glue.CatalogTable:
    return aws.glue.CatalogTable(
        name, name=table.name, database_name=contract.data_lake_database_name(table.domain),
        table_type="EXTERNAL_TABLE", parameters={"classification": "parquet", "EXTERNAL": "TRUE"},
        partition_keys=[{"name": column.name, "type": column.type} for column in table.partition_keys],
        storage_descriptor={
            "location": pulumi.Output.concat("s3://", curated_bucket, "/",
                                             contract.data_lake_table_prefix(table.domain, table.name)),
            "input_format": PARQUET["input_format"], "output_format": PARQUET["output_format"],
            "ser_de_info": {"serialization_library": PARQUET["serde"]},
            "columns": [{"name": column.name, "type": column.type} for column in table.columns],
        }, opts=opts)


def _share(name: str, share: LakeShare, place: Placement, databases: dict[str, aws.glue.CatalogDatabase],
           tables: dict[str, aws.glue.CatalogTable], parent: pulumi.Resource) -> None:
    for domain in share.domains:
        aws.lakeformation.Permissions(
            f"{name}-{domain}", principal=share.account_id, catalog_id=place.account_id,
            permissions=list(DATABASE_SEE), permissions_with_grant_options=list(DATABASE_SEE),
            database={"catalog_id": place.account_id, "name": databases[domain].name},
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[databases[domain]]))
    for table_grant in share.tables:
        table = table_grant.table
        table_opts = pulumi.ResourceOptions(parent=parent, depends_on=[tables[table.ref]])
        permissions = list(table_grant.permissions)
        if table_grant.columns is None:
            aws.lakeformation.Permissions(
                f"{name}-{table.domain}-{table.name}", principal=share.account_id, catalog_id=place.account_id,
                permissions=permissions, permissions_with_grant_options=permissions,
                table={"catalog_id": place.account_id, "database_name": contract.data_lake_database_name(table.domain),
                       "name": table.name}, opts=table_opts)
        else:
            aws.lakeformation.Permissions(
                f"{name}-{table.domain}-{table.name}", principal=share.account_id, catalog_id=place.account_id,
                permissions=permissions, permissions_with_grant_options=permissions,
                table_with_columns={"catalog_id": place.account_id,
                                    "database_name": contract.data_lake_database_name(table.domain),
                                    "name": table.name, "column_names": list(table_grant.columns)},
                opts=table_opts)
