"""Resource-side grants for the roles of other accounts that read or write a tier's data.

Identity policies alone do not open a bucket or a key to another account: the bucket policy and the key policy
must name the reader too, and forgetting one reader role is how a first cross-account deploy fails. Every
grant is derived here from the topology and the contract's role names, for exactly the roles that live in
another account. Each names the account root as principal and pins the exact roles with `aws:PrincipalArn`:
IAM accepts that before the roles exist (they are created by stacks that deploy later), and nobody else in
that account is admitted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mlops_platform import contract, iam_policy, naming, topology
from mlops_platform.config import PlatformConfig, UseCase
from mlops_platform.iam_policy import Statement, grant

RolesByAccount = Mapping[str, list[str]]


def _role_arn(cfg: PlatformConfig, tier: str, role_name: str) -> tuple[str, str]:
    """The account of `tier` and the ARN of its role `role_name`."""
    account = cfg.account_of_tier(tier)
    return account, contract.role_arn(cfg.partition, account, role_name)


def _data_scientists(cfg: PlatformConfig) -> tuple[str, str]:
    return _role_arn(cfg, "dev", contract.data_scientist_role_name())


def _retraining_roles(cfg: PlatformConfig) -> list[tuple[str, str]]:
    return [_role_arn(cfg, "ops", contract.retraining_role_name(use_case.name)) for use_case in cfg.use_cases]


def _served_model_roles(cfg: PlatformConfig) -> list[tuple[str, str]]:
    return [_role_arn(cfg, tier, contract.model_role_name(use_case.name, tier))
            for tier in topology.serving_tiers(cfg.size) for use_case in cfg.use_cases if use_case.serve]


def _foreign(cfg: PlatformConfig, owner_tier: str, roles: list[tuple[str, str]]) -> dict[str, list[str]]:
    owner = cfg.account_of_tier(owner_tier)
    grouped: dict[str, list[str]] = {}
    for account, arn in roles:
        if account != owner:
            grouped.setdefault(account, []).append(arn)
    return grouped


def monitors_drift(cfg: PlatformConfig) -> bool:
    """The platform's own drift check runs (drift monitoring on, open engine): served traffic is replicated into
    the ops tier and checked there per use case."""
    return cfg.drift_engine == "open"


def drift_checks(cfg: PlatformConfig) -> list[tuple[str, str]]:
    """(account, ARN) of the ops tier's drift check role of every use case, where drift is checked."""
    if not monitors_drift(cfg):
        return []
    return [_role_arn(cfg, "ops", contract.drift_check_role_name(use_case.name)) for use_case in cfg.use_cases]


def replicating_tiers(cfg: PlatformConfig) -> list[str]:
    """The serving tiers whose captured traffic is replicated into the ops tier's capture bucket."""
    if not monitors_drift(cfg) or not any(use_case.serve for use_case in cfg.use_cases):
        return []
    return list(topology.serving_tiers(cfg.size))


def model_readers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that read model artifacts: the data scientists', every served model's and the drift
    checks' (the baseline of the version serving)."""
    return _foreign(cfg, "artifact", [_data_scientists(cfg), *_served_model_roles(cfg), *drift_checks(cfg)])


def model_writers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that write model artifacts: the retraining pipelines'."""
    return _foreign(cfg, "artifact", _retraining_roles(cfg))


def data_key_readers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that decrypt with the data tier's key: the data scientists' and every retraining
    pipeline's (datasets, or the data lake's encrypted catalog)."""
    return _foreign(cfg, "data", [_data_scientists(cfg), *_retraining_roles(cfg)])


def dataset_readers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that read datasets: the data scientists' and the retraining pipelines' (but those
    of use cases training through the data lake, which read nothing around Lake Formation)."""
    readers = [_role_arn(cfg, "ops", contract.retraining_role_name(use_case.name)) for use_case in cfg.use_cases
               if not cfg.trains_through_data_lake(use_case)]
    return _foreign(cfg, "data", [_data_scientists(cfg), *readers])


def _statement(sid: str, actions: list[str], resource: str | list[str] | None, roles: RolesByAccount) -> Statement:
    """The roots of the roles' accounts (in the roles' partition), pinned to the roles by `aws:PrincipalArn`;
    no resource for a policy that applies to its own resource (a repository's)."""
    return grant(sid, {"AWS": [naming.account_root_arn(naming.partition_in(arns[0]), account)
                               for account, arns in sorted(roles.items())]},
                 actions, [] if resource is None else resource,
                 {"ArnEquals": {"aws:PrincipalArn": sorted(arn for arns in roles.values() for arn in arns)}})


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
             for tier in topology.serving_tiers(cfg.size)]
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
    readers = _foreign(cfg, "artifact", [_data_scientists(cfg)])
    if readers:
        statements.append(_statement("OtherAccountsReadCandidates", ["sagemaker:DescribeModelPackage",
                                                                     "sagemaker:DescribeModelPackageGroup",
                                                                     "sagemaker:ListModelPackages"],
                                     [group_arn, package_arns], readers))
    drift = _foreign(cfg, "artifact", drift_checks(cfg))
    if drift:
        statements.append(_statement("DriftChecksFindTheServedVersion", ["sagemaker:DescribeModelPackage",
                                                                         "sagemaker:ListModelPackages"],
                                     [group_arn, package_arns], drift))
    if consumers:
        statements.append(_statement("OtherAccountsDeploy", ["sagemaker:DescribeModelPackage",
                                                             "sagemaker:ListModelPackages"],
                                     [group_arn, package_arns], consumers))
    return iam_policy.document_json(statements) if statements else None


PULL_ACTIONS = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
PUSH_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage", "ecr:BatchGetImage"]
"""What `docker push` of a new tag does (BatchGetImage: the client checks whether the manifest exists)."""


def image_pullers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that pull a use case's images: its pipelines and its served models."""
    return _foreign(cfg, "artifact", [*_retraining_roles(cfg), *_served_model_roles(cfg)])


def repository_policy(cfg: PlatformConfig, use_case: UseCase) -> str | None:
    """Pulls by the ops retraining roles and the served models' roles of other accounts; where `use_case` builds
    its own image, pushes by its image build role alone."""
    statements = []
    pullers = image_pullers(cfg)
    if pullers:
        statements.append(_statement("OtherAccountsPull", PULL_ACTIONS, None, pullers))
    if use_case.image is not None:
        build = _role_arn(cfg, "cicd", contract.image_build_role_name(use_case.name))
        statements.extend(_only_pusher(cfg, build))
    return iam_policy.document_json(statements) if statements else None


LAYER_WRITE_ACTIONS = ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"]
"""What writes an image into a repository (pulling needs none of them)."""


def _only_pusher(cfg: PlatformConfig, build: tuple[str, str]) -> list[Statement]:
    """The build role pushes (admitted across accounts), and every other principal is denied the writes, whatever
    its own policies say: in the sizes where the artifact tier shares its account, an identity policy alone would
    otherwise suffice."""
    statements = []
    pushers = _foreign(cfg, "artifact", [build])
    if pushers:
        statements.append(_statement("ImageBuildPushes", PUSH_ACTIONS, None, pushers))
    statements.append(grant("OnlyTheImageBuildPushes", {"*": "*"}, LAYER_WRITE_ACTIONS, [],
                            {"ArnNotEquals": {"aws:PrincipalArn": build[1]}}, effect=iam_policy.DENY))
    return statements


def monitoring_image_pullers(cfg: PlatformConfig) -> dict[str, list[str]]:
    """Roles of other accounts that run the monitoring image: per use case, the ops tier's retraining pipeline
    (its drift baseline step) and its drift check."""
    return _foreign(cfg, "artifact", [*_retraining_roles(cfg), *[
        _role_arn(cfg, "ops", contract.drift_check_role_name(use_case.name)) for use_case in cfg.use_cases]])


def monitoring_repository_policy(cfg: PlatformConfig) -> str | None:
    """Pulls by the ops roles that run the image across accounts; pushes by the image build role alone."""
    statements = []
    pullers = monitoring_image_pullers(cfg)
    if pullers:
        statements.append(_statement("OtherAccountsPull", PULL_ACTIONS, None, pullers))
    if builds_monitoring_image(cfg):
        statements.extend(_only_pusher(cfg, _role_arn(cfg, "cicd", contract.monitoring_image_build_role_name())))
    return iam_policy.document_json(statements) if statements else None


def builds_monitoring_image(cfg: PlatformConfig) -> bool:
    """The cicd tier builds the monitoring image (open engine, a cicd pipeline reading `promotion.repository`);
    elsewhere (the small size) it is pushed by hand, so its repository names no sole pusher."""
    return topology.has_organization(cfg.size) and cfg.drift_engine == "open" and cfg.promotion.repository is not None


# The ops tier's capture bucket: written by the serving tiers' replication roles alone, each into its own prefixes.

REPLICA_WRITE_ACTIONS = ["s3:ObjectOwnerOverrideToBucketOwner", "s3:ReplicateObject", "s3:ReplicateTags"]
CAPTURE_WRITE_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectTagging", "s3:DeleteObjectVersion",
                         "s3:DeleteObjectVersionTagging", "s3:PutObject", "s3:PutObjectTagging",
                         "s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"]
"""Every way to write, tag or delete a captured object (or a version of one)."""


def capture_replicator(cfg: PlatformConfig, tier: str) -> tuple[str, str]:
    account = cfg.account_of_tier(tier)
    return account, contract.role_arn(cfg.partition, account, contract.capture_replication_role_name(tier))


def _capture_prefixes(cfg: PlatformConfig, bucket_arn: str, tier: str) -> list[str]:
    return [f"{bucket_arn}/{contract.replicated_capture_prefix(use_case.name, tier)}*"
            for use_case in cfg.use_cases if use_case.serve]


def capture_bucket_grants(cfg: PlatformConfig) -> Callable[[str], list[Statement]]:
    """Each serving tier's replication role replicates into its own prefixes (from its account, where that is
    another one), and nobody else writes or deletes there: not another tier's role, not a data scientist."""
    def grants(bucket_arn: str) -> list[Statement]:
        statements: list[Statement] = []
        for tier in replicating_tiers(cfg):
            account, role = capture_replicator(cfg, tier)
            prefixes = _capture_prefixes(cfg, bucket_arn, tier)
            name = tier.capitalize()
            if account != cfg.account_of_tier("ops"):
                statements.append(_statement(f"{name}ReplicatesItsCapturedTraffic", REPLICA_WRITE_ACTIONS, prefixes,
                                             {account: [role]}))
            statements.append(grant(f"Only{name}ReplicationWritesItsCapturedTraffic", {"*": "*"},
                                    CAPTURE_WRITE_ACTIONS, prefixes, {"ArnNotEquals": {"aws:PrincipalArn": role}},
                                    effect=iam_policy.DENY))
        return statements
    return grants


def capture_key_grants(cfg: PlatformConfig) -> tuple[Statement, ...]:
    """The replication roles of other accounts encrypt replicas with the ops tier's key, and do nothing else."""
    replicators = _foreign(cfg, "ops", [capture_replicator(cfg, tier) for tier in replicating_tiers(cfg)])
    if not replicators:
        return ()
    return (_statement("OtherAccountsEncryptReplicas", ["kms:Encrypt", "kms:GenerateDataKey"], "*", replicators),)


# The artifact tier's feature store: each use case's groups are read and written by its retraining role (ops) and
# by the data scientists (dev); their offline stores are written by the feature store role alone.

OFFLINE_STORE_CHANGE_ACTIONS = ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject", "s3:PutObjectAcl",
                               "s3:PutObjectTagging", "s3:RestoreObject"]
"""Every way to write, overwrite or delete an offline store's object."""


def feature_use_cases(cfg: PlatformConfig) -> list[str]:
    """The use cases that have feature groups (in config order), where the feature store is built."""
    if not cfg.features.feature_store:
        return []
    return [use_case.name for use_case in cfg.use_cases if cfg.feature_groups_of(use_case.name)]


def feature_readers(cfg: PlatformConfig, use_case: str) -> list[tuple[str, str]]:
    """(account, ARN) of the roles that read and write `use_case`'s groups: its retraining role, the data
    scientists."""
    return [_role_arn(cfg, "ops", contract.retraining_role_name(use_case)), _data_scientists(cfg)]


def feature_reader_accounts(cfg: PlatformConfig, use_case: str) -> list[str]:
    """The accounts a use case's groups are shared with: its readers' other than the artifact tier's."""
    return sorted(_foreign(cfg, "artifact", feature_readers(cfg, use_case)))


def feature_store_role(cfg: PlatformConfig) -> str:
    return _role_arn(cfg, "artifact", contract.feature_store_role_name())[1]


def feature_store_bucket_grants(cfg: PlatformConfig) -> Callable[[str], list[Statement]]:
    """Each use case's readers of other accounts list the bucket and read its prefix; nobody but the feature store
    role writes or deletes an offline store's object."""
    def grants(bucket_arn: str) -> list[Statement]:
        statements: list[Statement] = []
        everyone: dict[str, list[str]] = {}
        for use_case in feature_use_cases(cfg):
            readers = _foreign(cfg, "artifact", feature_readers(cfg, use_case))
            for account, arns in readers.items():
                everyone.setdefault(account, [])
                everyone[account].extend(arn for arn in arns if arn not in everyone[account])
            if readers:
                statements.append(_statement(f"{_sid(use_case)}ReadersReadItsOfflineStores",
                                             ["s3:GetObject", "s3:GetObjectVersion"],
                                             f"{bucket_arn}/{contract.use_case_features_prefix(use_case)}*", readers))
        if everyone:
            statements.insert(0, _statement("OtherAccountsList", ["s3:ListBucket", "s3:GetBucketLocation"],
                                            bucket_arn, everyone))
        statements.append(grant("OnlyTheFeatureStoreWritesOfflineStores", {"*": "*"}, OFFLINE_STORE_CHANGE_ACTIONS,
                                f"{bucket_arn}/*", {"ArnNotEquals": {"aws:PrincipalArn": feature_store_role(cfg)}},
                                effect=iam_policy.DENY))
        return statements
    return grants


def feature_store_key_grants(cfg: PlatformConfig) -> tuple[Statement, ...]:
    """Readers of other accounts decrypt features (offline objects, online records), and nothing else."""
    readers = _foreign(cfg, "artifact", [reader for use_case in feature_use_cases(cfg)
                                         for reader in feature_readers(cfg, use_case)])
    readers = {account: sorted(set(arns)) for account, arns in readers.items()}
    if not readers:
        return ()
    return (_statement("OtherAccountsDecryptFeatures", ["kms:Decrypt", "kms:DescribeKey"], "*", readers),)


def _sid(use_case: str) -> str:
    """A statement id part from a use-case name (Sids are letters and digits)."""
    return "".join(part.capitalize() for part in use_case.replace("_", "-").split("-"))
