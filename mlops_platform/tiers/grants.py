"""Resource-side grants for the roles of other accounts that read or write a tier's data.

Identity policies alone do not open a bucket or a key to another account: the bucket policy and the key policy
must name the reader too, and forgetting one reader role is how a first cross-account deploy fails. Every
grant is derived here from the topology and the contract's role names, for exactly the roles that live in
another account. Each names the account root as principal and pins the exact roles with `aws:PrincipalArn`:
IAM accepts that before the roles exist (they are created by stacks that deploy later), and nobody else in
that account is admitted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from mlops_platform import contract, naming, topology
from mlops_platform.config import PlatformConfig

Statement = dict[str, Any]
RolesByAccount = Mapping[str, list[str]]


def _role_arn(cfg: PlatformConfig, tier: str, purpose: str) -> tuple[str, str]:
    account = cfg.account_of_tier(tier)
    return account, contract.role_arn(cfg.partition, account, contract.role_name(tier, purpose))


def _foreign(cfg: PlatformConfig, owner_tier: str, roles: list[tuple[str, str]]) -> dict[str, list[str]]:
    owner = cfg.account_of_tier(owner_tier)
    grouped: dict[str, list[str]] = {}
    for account, arn in roles:
        if account != owner:
            grouped.setdefault(account, []).append(arn)
    return grouped


def _serving_tiers(cfg: PlatformConfig) -> list[str]:
    return [tier for tier in topology.SERVING_TIERS if tier in topology.tiers(cfg.size)]


def model_readers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that read model artifacts: the data scientists' and every served model's."""
    roles = [_role_arn(cfg, "dev", "data-scientist")]
    roles += [_role_arn(cfg, tier, f"{use_case.name}-model") for tier in _serving_tiers(cfg)
              for use_case in cfg.use_cases if use_case.serve]
    return _foreign(cfg, "artifact", roles)


def model_writers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that write model artifacts: the retraining pipelines'."""
    return _foreign(cfg, "artifact", [_role_arn(cfg, "ops", f"{use_case.name}-pipeline")
                                      for use_case in cfg.use_cases])


def dataset_readers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that read datasets: the data scientists' and the retraining pipelines'."""
    roles = [_role_arn(cfg, "dev", "data-scientist")]
    roles += [_role_arn(cfg, "ops", f"{use_case.name}-pipeline") for use_case in cfg.use_cases]
    return _foreign(cfg, "data", roles)


def _statement(sid: str, actions: list[str], resource: str | list[str], roles: RolesByAccount) -> Statement:
    """The roots of the roles' accounts (in the roles' partition), pinned to the roles by `aws:PrincipalArn`."""
    return {
        "Sid": sid, "Effect": "Allow",
        "Principal": {"AWS": [naming.account_root_arn(naming.partition_in(arns[0]), account)
                              for account, arns in sorted(roles.items())]},
        "Action": actions, "Resource": resource,
        "Condition": {"ArnEquals": {"aws:PrincipalArn": sorted(arn for arns in roles.values() for arn in arns)}},
    }


def step_script_uploaders(cfg: PlatformConfig) -> dict[str, list[str]]:
    """The ops tier's deploy role, where it lives in another account: `pulumi up --stack ops` uploads each
    pipeline's step scripts into the artifact tier's bucket."""
    account = cfg.account_of_tier("ops")
    return _foreign(cfg, "artifact", [(account, contract.deploy_role_arn(cfg.partition, account,
                                                                         cfg.deploy_role_name))])


STEP_SCRIPT_UPLOAD_ACTIONS = ["s3:DeleteObject", "s3:GetObject", "s3:GetObjectTagging", "s3:PutObject",
                              "s3:PutObjectTagging"]
"""What Pulumi does to a bucket object it manages: create, read back, tag, replace and delete it."""


def bucket_grants(readers: RolesByAccount, writers: RolesByAccount,
                  uploaders: RolesByAccount | None = None) -> Callable[[str], list[Statement]]:
    def grants(bucket_arn: str) -> list[Statement]:
        statements = []
        if uploaders:
            statements.append(_statement("OtherAccountsUploadStepScripts", STEP_SCRIPT_UPLOAD_ACTIONS,
                                         f"{bucket_arn}/{contract.step_script_prefix('*')}", uploaders))
        everyone = {account: [*readers.get(account, []), *writers.get(account, [])]
                    for account in {*readers, *writers}}
        if everyone:
            statements.append(_statement("OtherAccountsList", ["s3:ListBucket", "s3:GetBucketLocation"], bucket_arn,
                                         everyone))
            statements.append(_statement("OtherAccountsRead", ["s3:GetObject", "s3:GetObjectVersion"],
                                         f"{bucket_arn}/*", everyone))
        if writers:
            statements.append(_statement("OtherAccountsWrite", ["s3:PutObject", "s3:AbortMultipartUpload"],
                                         f"{bucket_arn}/*", writers))
        return statements
    return grants


def key_grants(readers: RolesByAccount, writers: RolesByAccount,
               uploaders: RolesByAccount | None = None) -> tuple[Statement, ...]:
    statements = []
    if uploaders:
        statements.append(_statement("OtherAccountsEncryptStepScripts", ["kms:Decrypt", "kms:DescribeKey",
                                                                          "kms:GenerateDataKey"], "*", uploaders))
    if readers:
        statements.append(_statement("OtherAccountsDecrypt", ["kms:Decrypt", "kms:DescribeKey"], "*", readers))
    if writers:
        statements.append(_statement("OtherAccountsEncrypt", ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt",
                                                              "kms:GenerateDataKey", "kms:CreateGrant"], "*", writers))
    return tuple(statements)


def registry_consumers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that turn approved packages into models: the staging/prod deploy roles."""
    roles = [(cfg.account_of_tier(tier),
              contract.deploy_role_arn(cfg.partition, cfg.account_of_tier(tier), cfg.deploy_role_name))
             for tier in _serving_tiers(cfg)]
    return _foreign(cfg, "artifact", roles)


def model_package_group_policy(cfg: PlatformConfig, group_arn: str) -> str | None:
    """The group's resource policy: pipelines of other accounts register into it, deploy roles read from it."""
    package_arns = group_arn.replace(":model-package-group/", ":model-package/") + "/*"
    statements = []
    writers, consumers = model_writers(cfg), registry_consumers(cfg)
    if writers:
        statements.append(_statement("OtherAccountsRegister", ["sagemaker:CreateModelPackage",
                                                               "sagemaker:DescribeModelPackageGroup"],
                                     [group_arn, package_arns], writers))
    readers = _foreign(cfg, "artifact", [_role_arn(cfg, "dev", "data-scientist")])
    if readers:
        statements.append(_statement("OtherAccountsReadCandidates", ["sagemaker:DescribeModelPackage",
                                                                     "sagemaker:DescribeModelPackageGroup",
                                                                     "sagemaker:ListModelPackages"],
                                     [group_arn, package_arns], readers))
    if consumers:
        statements.append(_statement("OtherAccountsDeploy", ["sagemaker:DescribeModelPackage",
                                                             "sagemaker:ListModelPackages"],
                                     [group_arn, package_arns], consumers))
    return json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None


PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
PUSH_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"]
"""What `docker push` of a new tag does (BatchGetImage: the client checks whether the manifest exists)."""


def image_pullers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that pull a use case's images: its pipelines and its served models."""
    roles = [_role_arn(cfg, "ops", f"{use_case.name}-pipeline") for use_case in cfg.use_cases]
    roles += [_role_arn(cfg, tier, f"{use_case.name}-model") for tier in _serving_tiers(cfg)
              for use_case in cfg.use_cases if use_case.serve]
    return _foreign(cfg, "artifact", roles)


def repository_policy(cfg: PlatformConfig) -> str | None:
    pullers = image_pullers(cfg)
    if not pullers:
        return None
    statement = _statement("OtherAccountsPull", PULL_ACTIONS, "*", pullers)
    del statement["Resource"]  # a repository policy applies to its own repository
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def monitoring_image_pullers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that run the monitoring image: per use case, the ops tier's retraining pipeline
    (its drift baseline step) and its drift check."""
    account = cfg.account_of_tier("ops")
    names = [name for use_case in cfg.use_cases
             for name in (contract.retraining_role_name(use_case.name), contract.drift_check_role_name(use_case.name))]
    return _foreign(cfg, "artifact", [(account, contract.role_arn(cfg.partition, account, name)) for name in names])


def monitoring_image_pushers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """The cicd tier's image build role, where it lives in another account: the only principal that pushes."""
    account = cfg.account_of_tier("cicd")
    return _foreign(cfg, "artifact", [(account, contract.role_arn(cfg.partition, account,
                                                                  contract.monitoring_image_build_role_name()))])


def monitoring_repository_policy(cfg: PlatformConfig) -> str | None:
    statements = []
    pullers, pushers = monitoring_image_pullers(cfg), monitoring_image_pushers(cfg)
    if pullers:
        statements.append(_statement("OtherAccountsPull", PULL_ACTIONS, "*", pullers))
    if pushers:
        statements.append(_statement("ImageBuildPushes", PUSH_ACTIONS, "*", pushers))
    for statement in statements:
        del statement["Resource"]  # a repository policy applies to its own repository
    return json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None
