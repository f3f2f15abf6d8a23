"""Every ARN the platform builds or grants, in the partition of its region: one function per kind, here only.

The partition of a region and its DNS suffix come from botocore's partition data (`botocore/data/partitions.json`,
the SDK's own source), never from a hand table: `cn-north-1` is `aws-cn` with `amazonaws.com.cn`,
`us-gov-west-1` is `aws-us-gov` with `amazonaws.com`.

Service principals (`sagemaker.amazonaws.com`) are kept as `<service>.amazonaws.com` in every partition. That
is an assumption, not derived data: botocore's partition data says nothing about principals, and the China
partition has some that end in `.amazonaws.com.cn`; none of them is derived here.

Regional kinds take the platform's region (the partition follows from it); kinds whose ARN carries no region
(IAM, S3, Scheduler's universal targets) take the partition, from `partition_of(region)`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ANY = "*"
"""Any region or any account, in ARNs that grant across them."""


class NamingError(ValueError):
    """A region no AWS partition knows."""


@dataclass(frozen=True)
class Partition:
    name: str
    """`aws`, `aws-cn`, `aws-us-gov`, ...: the second field of every ARN."""
    dns_suffix: str
    """`amazonaws.com` or `amazonaws.com.cn`, ...: the suffix of the partition's service endpoints."""


@functools.cache
def _partitions() -> tuple[Mapping[str, Any], ...]:
    import botocore.loaders

    return tuple(botocore.loaders.Loader().load_data("partitions")["partitions"])


@functools.cache
def partition_info(region: str) -> Partition:
    """The partition a region belongs to: the partition listing it, else the one whose region pattern it fits."""
    for data in _partitions():
        if region in data["regions"]:
            return Partition(data["id"], data["outputs"]["dnsSuffix"])
    for data in _partitions():
        if re.fullmatch(data["regionRegex"], region):
            return Partition(data["id"], data["outputs"]["dnsSuffix"])
    raise NamingError(f"{region!r} is in no AWS partition")


def partition_of(region: str) -> str:
    return partition_info(region).name


def dns_suffix(region: str) -> str:
    return partition_info(region).dns_suffix


def partition_names() -> tuple[str, ...]:
    return tuple(data["id"] for data in _partitions())


def arn(partition: str, service: str, region: str, account: str, resource: str) -> str:
    """The one place an ARN is spelt: `arn:<partition>:<service>:<region>:<account>:<resource>`."""
    return f"arn:{partition}:{service}:{region}:{account}:{resource}"


def arn_prefix(partition: str) -> str:
    """What every ARN of the partition starts with, for matching captured values."""
    return f"arn:{partition}:"


def partition_in(arn_value: str) -> str:
    """The partition an ARN names (its second field)."""
    fields = arn_value.split(":", 2)
    if len(fields) < 3 or fields[0] != "arn" or not fields[1]:
        raise NamingError(f"{arn_value!r} is not an ARN")
    return fields[1]


@dataclass(frozen=True)
class PrincipalParts:
    """An AWS principal read apart: an IAM or STS ARN, or a bare account id (service and resource empty)."""

    partition: str
    service: str
    account: str
    resource: str


_ACCOUNT_ID = re.compile(r"[0-9]{12}")


def principal_parts(principal: str) -> PrincipalParts | None:
    """The parts of `arn:<partition>:iam|sts::<account>:<resource>` or of a bare account id; None otherwise."""
    if _ACCOUNT_ID.fullmatch(principal):
        return PrincipalParts("", "", principal, "")
    fields = principal.split(":", 5)
    if (len(fields) == 6 and fields[0] == "arn" and fields[1].startswith("aws") and fields[2] in ("iam", "sts")
            and fields[3] == "" and _ACCOUNT_ID.fullmatch(fields[4])):
        return PrincipalParts(fields[1], fields[2], fields[4], fields[5])
    return None


def service_in(arn_value: str) -> str:
    """The service an ARN names (its third field); empty for what is not an ARN."""
    fields = arn_value.split(":", 3)
    return fields[2] if len(fields) > 3 and fields[0] == "arn" else ""


def bucket_in(s3_arn: str) -> str:
    """The bucket of an S3 bucket or object ARN."""
    return s3_arn.split(":", 5)[5].split("/", 1)[0]


def regional_arn(region: str, service: str, account: str, resource: str) -> str:
    return arn(partition_of(region), service, region, account, resource)


# IAM, STS, Organizations and Identity Center: global, so they take the partition.

def account_root_arn(partition: str, account: str) -> str:
    return arn(partition, "iam", "", account, "root")


def role_arn(partition: str, account: str, role_name: str) -> str:
    return arn(partition, "iam", "", account, f"role/{role_name}")


def roles_arn(partition: str, account: str, name_pattern: str) -> str:
    """Roles matching `name_pattern` (may hold `*` and a path); `account` may be ANY."""
    return arn(partition, "iam", "", account, f"role/{name_pattern}")


def policy_arn(partition: str, account: str, policy_name: str) -> str:
    return arn(partition, "iam", "", account, f"policy/{policy_name}")


def aws_managed_policy_arn(partition: str, policy_name: str) -> str:
    """A policy AWS manages in every account of the partition (`PowerUserAccess`)."""
    return arn(partition, "iam", "", "aws", f"policy/{policy_name}")


def assumed_role_arn(partition: str, account: str, role_name: str, session: str) -> str:
    return arn(partition, "sts", "", account, f"assumed-role/{role_name}/{session}")


def organizations_arn(partition: str, account: str, resource: str) -> str:
    return arn(partition, "organizations", "", account, resource)


def sso_instance_arn(partition: str, instance_id: str) -> str:
    return arn(partition, "sso", "", "", f"instance/{instance_id}")


# S3: bucket names are global within a partition.

def bucket_arn(partition: str, bucket: str) -> str:
    return arn(partition, "s3", "", "", bucket)


def objects_arn(partition: str, bucket_and_prefix: str) -> str:
    """Every object under `bucket[/prefix]`."""
    return arn(partition, "s3", "", "", f"{bucket_and_prefix}/*")


# Regional services.

def sagemaker_arn(region: str, account: str, resource: str) -> str:
    """A SageMaker resource (`pipeline/<name>`, `endpoint/<name>`, `model-package/<group>/<version>`); `resource`
    may be empty for the prefix of everything SageMaker in the account."""
    return regional_arn(region, "sagemaker", account, resource)


def sagemaker_scope(region: str, account: str) -> str:
    """`arn:...:sagemaker:<region>:<account>`: what the platform appends `:<kind>/<name>` to."""
    return sagemaker_arn(region, account, "").removesuffix(":")


def ecr_repository_arn(region: str, account: str, repository: str) -> str:
    return regional_arn(region, "ecr", account, f"repository/{repository}")


def log_group_arn(region: str, account: str, log_group: str) -> str:
    return regional_arn(region, "logs", account, f"log-group:{log_group}")


def ssm_parameter_arn(region: str, account: str, parameter: str) -> str:
    """`parameter` is the full name with its leading `/`."""
    return regional_arn(region, "ssm", account, f"parameter{parameter}")


def queue_arn(region: str, account: str, queue: str) -> str:
    return regional_arn(region, "sqs", account, queue)


def topic_arn(region: str, account: str, topic: str) -> str:
    return regional_arn(region, "sns", account, topic)


def event_bus_arn(region: str, account: str, bus: str = "default") -> str:
    return regional_arn(region, "events", account, f"event-bus/{bus}")


def event_rule_arn(region: str, account: str, rule: str) -> str:
    """A rule on the account's default bus."""
    return regional_arn(region, "events", account, f"rule/{rule}")


def secret_arn(region: str, account: str, secret: str) -> str:
    """A Secrets Manager secret; `secret` may end in `*` (AWS appends six random characters to the name)."""
    return regional_arn(region, "secretsmanager", account, f"secret:{secret}")


def kms_arn(partition: str, region: str, account: str, resource: str) -> str:
    """`key/<id>` or `alias/<name>`; `region` may be ANY."""
    return arn(partition, "kms", region, account, resource)


def trail_arn(partition: str, region: str, account: str, trail: str) -> str:
    """A CloudTrail trail; `region` may be ANY (an organization trail is read from every region)."""
    return arn(partition, "cloudtrail", region, account, f"trail/{trail}")


def ec2_arn(region: str, account: str, resource: str) -> str:
    return regional_arn(region, "ec2", account, resource)


def codepipeline_arn(region: str, account: str, resource: str) -> str:
    return regional_arn(region, "codepipeline", account, resource)


def codebuild_arn(region: str, account: str, resource: str) -> str:
    return regional_arn(region, "codebuild", account, resource)


def function_arn(region: str, account: str, function: str) -> str:
    return regional_arn(region, "lambda", account, f"function:{function}")


def function_invoke_arn(region: str, function_arn_value: str) -> str:
    """What API Gateway integrations call a Lambda function through."""
    return regional_arn(region, "apigateway", "lambda", f"path/2015-03-31/functions/{function_arn_value}/invocations")


def http_api_arn(region: str, api_id: str) -> str:
    return regional_arn(region, "apigateway", "", f"/apis/{api_id}")


def execute_api_arn(region: str, account: str, resource: str) -> str:
    return regional_arn(region, "execute-api", account, resource)


def scheduler_universal_target(partition: str, service: str, action: str) -> str:
    """EventBridge Scheduler's universal target for an AWS API action (`sagemaker`, `startPipelineExecution`)."""
    return arn(partition, "scheduler", "", "", f"aws-sdk:{service}:{action}")


# Endpoints: hostnames carry the partition's DNS suffix.

def regional_hostname(service: str, region: str) -> str:
    """`<service>.<region>.<dns suffix>`: `sqs.cn-north-1.amazonaws.com.cn`."""
    return f"{service}.{region}.{dns_suffix(region)}"


def ecr_registry_hostname(region: str, account: str) -> str:
    """An account's private ECR registry: `<account>.dkr.ecr.<region>.<dns suffix>`."""
    return f"{account}.{regional_hostname('dkr.ecr', region)}"


def ecr_image_uri(region: str, account: str, repository: str, tag: str) -> str:
    """An image by tag in an account's private ECR registry, as SageMaker jobs name their image."""
    return f"{ecr_registry_hostname(region, account)}/{repository}:{tag}"


# Feature Store and its sharing.

def feature_group_arn(region: str, account: str, feature_group: str) -> str:
    return sagemaker_arn(region, account, f"feature-group/{feature_group}")


def glue_arn(region: str, account: str, resource: str) -> str:
    """A Glue Data Catalog resource: `catalog`, `database/<name>`, `table/<database>/<name>`."""
    return regional_arn(region, "glue", account, resource)


def ram_managed_permission_arn(partition: str, permission: str) -> str:
    """An AWS RAM permission AWS manages (`AWSRAMPermissionSagemakerFeatureGroupReadWrite`)."""
    return arn(partition, "ram", "", "aws", f"permission/{permission}")


def athena_workgroup_arn(region: str, account: str, workgroup: str) -> str:
    return regional_arn(region, "athena", account, f"workgroup/{workgroup}")
