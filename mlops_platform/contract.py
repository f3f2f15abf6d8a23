"""The cross-tier contract: every name that one tier writes and another reads, in one place.

Tiers publish only the outputs listed in `TIER_EXPORTS` and read only those; the stack output a tier's
value lands under is `export_key(tier, name)`. The policy pack reads the tag keys and the tier
component type from here too, so the program and its guardrails cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlops_platform import naming, topology

PROJECT = "mlops-platform"
CONFIG_NAMESPACE = PROJECT

TAG_TIER = "mlops:tier"
TAG_SIZE = "mlops:size"
TAG_STACK = "mlops:stack"
TAG_OWNER = "mlops:owner"
TAG_MANAGED_BY = "managed-by"
MANAGED_BY = "pulumi/mlops-platform"
REQUIRED_TAGS: tuple[str, ...] = (TAG_TIER, TAG_SIZE, TAG_STACK, TAG_OWNER, TAG_MANAGED_BY)

TIER_COMPONENT_PREFIX = "mlops:tier:"

TIER_EXPORTS: Mapping[str, tuple[str, ...]] = {
    "org": (),
    "data": ("keyArn", "datasetBucketName", "datasetBucketArn"),
    "artifact": ("keyArn", "modelBucketName", "modelBucketArn", "modelApproverRoleArn", "featureStoreBucketName",
                 "featureStoreBucketArn", "featureStoreKeyArn"),
    "cicd": ("codeSourceLocation", "stateBackendUrl"),
    "ops": ("retrainingTriggers", "captureBucketName", "captureBucketArn", "keyArn"),
    "dev": ("workspaceBucketName", "studioDomainId"),
    "staging": ("inferenceUrls",),
    "prod": ("inferenceUrls",),
}
"""The outputs each tier exports for other tiers; asking for any other name is a program-time error."""


class ContractError(Exception):
    """A tier asked for, or published, an output that is not in the contract."""


def tier_component_type(tier: str) -> str:
    """The type token of the component that parents everything a tier builds, e.g. `mlops:tier:Artifact`."""
    return TIER_COMPONENT_PREFIX + tier.capitalize()


def tier_from_component_type(type_token: str) -> str | None:
    if not type_token.startswith(TIER_COMPONENT_PREFIX):
        return None
    tier = type_token[len(TIER_COMPONENT_PREFIX) :].lower()
    return tier if tier in topology.TIERS else None


def tier_from_urn(urn: str) -> str | None:
    """The tier whose component a resource is built under, read from the type chain of its URN."""
    parts = urn.split("::")
    if len(parts) < 4:
        return None
    for type_token in parts[2].split("$"):
        tier = tier_from_component_type(type_token)
        if tier is not None:
            return tier
    return None


def export_key(tier: str, name: str) -> str:
    """The stack output name a tier's contract value is exported under: `artifact` + `modelBucketArn`."""
    require_declared(tier, name)
    return tier + name[0].upper() + name[1:]


def require_declared(tier: str, name: str) -> None:
    if tier not in TIER_EXPORTS:
        raise ContractError(f"unknown tier {tier!r}; tiers are: {', '.join(topology.TIERS)}")
    declared = TIER_EXPORTS[tier]
    if name not in declared:
        allowed = ", ".join(declared) if declared else "nothing"
        raise ContractError(f"tier {tier!r} does not export {name!r}; it exports: {allowed}")


def role_arn(partition: str, account_id: str, role_name: str) -> str:
    return naming.role_arn(partition, account_id, role_name)


def deploy_role_arn(partition: str, account_id: str, role_name: str) -> str:
    return role_arn(partition, account_id, role_name)


def created_account_name(logical_account: str) -> str:
    """The name of a member account the org stack creates (`organization.createAccounts`): `mlops-<name>`."""
    return f"mlops-{logical_account}"


def logical_account_of(created_account_name: str) -> str:
    return created_account_name.removeprefix("mlops-")


def stack_reference_name(organization: str, stack: str) -> str:
    return f"{organization}/{PROJECT}/{stack}"


# Names that one tier creates and another refers to before it can read an output (event patterns, alarm
# dimensions, grants to roles of later tiers). Each is derived here, once.

def model_package_group_name(use_case: str) -> str:
    return use_case


def model_package_group_arn(region: str, account_id: str, use_case: str) -> str:
    return naming.sagemaker_arn(region, account_id, f"model-package-group/{model_package_group_name(use_case)}")


def pipeline_name(use_case: str) -> str:
    return f"{use_case}-retraining"


def endpoint_name(use_case: str, tier: str) -> str:
    return f"{use_case}-{tier}"


def endpoint_arn(region: str, account_id: str, use_case: str, tier: str) -> str:
    """SageMaker ARNs carry the endpoint name in lower case; valid before the endpoint exists."""
    return naming.sagemaker_arn(region, account_id, f"endpoint/{endpoint_name(use_case, tier).lower()}")


def rollback_alarm_names(endpoint: str) -> tuple[str, str]:
    """The alarms that roll an endpoint's canary back (model errors, p99 model latency); the deployer names them
    in every rollout it starts."""
    return f"{endpoint}-5xx-errors", f"{endpoint}-model-latency-p99"


def inference_function_name(endpoint: str) -> str:
    """The inference Lambda in front of an endpoint; its HTTP API and access-log group share the name."""
    return f"{endpoint}-inference"


def deployer_function_name(endpoint: str) -> str:
    return f"{endpoint}-deploy-on-approval"


def deploy_events_queue_name(endpoint: str) -> str:
    """The queue on which EventBridge puts an endpoint's approval and InService events for its deployer."""
    return f"{endpoint}-approvals"


def deploy_event_rule_name(endpoint: str, kind: str) -> str:
    return f"{endpoint}-{kind}"


def deploy_failed_alarm_name(endpoint: str) -> str:
    return f"{endpoint}-deploy-failed"


def deploy_notices_topic_name(endpoint: str) -> str:
    """The SNS topic on which an endpoint's approval deployer announces what it did (and its alarm fires)."""
    return f"{endpoint}-deploy-notices"


def deploy_dead_letter_queue_name(endpoint: str) -> str:
    """Where an endpoint's approval deployer parks the events it cannot handle."""
    return f"{endpoint}-deploy-dlq"


SERVING_STATE_PREFIX = f"/{PROJECT}/serving"


def served_models_path(tier: str) -> str:
    """The SSM Parameter Store path under which a serving tier records the model version each use case serves;
    the tier's program reads it with one `get_parameters_by_path` call."""
    return f"{SERVING_STATE_PREFIX}/{tier}/"


def served_model_parameter(tier: str, use_case: str) -> str:
    """The parameter holding the versioned model package ARN `use_case`'s endpoint in `tier` serves. Written by
    the deploy path (the approval deployer in the small size) once a version is approved or rolled back to."""
    return f"{served_models_path(tier)}{use_case}"


def step_script_prefix(use_case: str) -> str:
    """Where the ops tier uploads a pipeline's step scripts in the artifact tier's bucket."""
    return f"code/{use_case}"


def container_repository_name(use_case: str) -> str:
    return f"{PROJECT}/{use_case}"


# The drift loop (open monitoring engine): served traffic captured in staging/prod is replicated into the ops
# tier's capture bucket; a drift pipeline per use case checks it in the platform's monitoring image and, past
# the use case's threshold, announces drift on EventBridge, which starts the retraining pipeline.

MONITORING_IMAGE_REPOSITORY = f"{PROJECT}/monitoring"
"""The artifact tier's ECR repository of the platform's own monitoring image (drift baselines and checks)."""
DRIFT_EVENT_SOURCE = f"{PROJECT}.monitoring"
DRIFT_EVENT_DETAIL_TYPE = "Model Drift Check"
"""What the drift check puts on the default bus of the ops tier's account after every check."""


DRIFT_PIPELINE_SUFFIX = "-drift"


def drift_pipeline_name(use_case: str) -> str:
    return f"{use_case}{DRIFT_PIPELINE_SUFFIX}"


def is_drift_pipeline(pipeline_name: str) -> bool:
    """Whether a pipeline is a use case's drift check (its jobs call AWS APIs: the registry, metrics, events)."""
    return pipeline_name.endswith(DRIFT_PIPELINE_SUFFIX)


def capture_replication_role_name(source_tier: str) -> str:
    """The serving tier's role S3 replicates its captured traffic as; the ops tier admits it by name before it
    exists (the ops tier deploys first)."""
    return role_name(source_tier, "capture-replication")


DRIFT_REPORTS_PREFIX = "reports/"


def drift_reports_prefix(use_case: str) -> str:
    """Where the drift check writes its reports in the ops tier's capture bucket, beside the traffic it judged."""
    return f"{DRIFT_REPORTS_PREFIX}{use_case}/"


def retrain_on_drift_rule_name(use_case: str) -> str:
    return f"{use_case}-retrain-on-drift"


def retrain_on_drift_dead_letter_queue_name(use_case: str) -> str:
    """Where EventBridge parks the drift events it could not turn into a retraining run."""
    return f"{use_case}-retrain-on-drift-dlq"


DRIFT_METRIC_NAMESPACE = f"{PROJECT}/drift"
"""The CloudWatch namespace of the drift check's metrics (per feature, the drifted share, the drift flag)."""


def model_package_group_reference(region: str, account_id: str, registry_account_id: str, use_case: str) -> str:
    """How a job in `account_id` names `use_case`'s model package group: a bare name resolves in the caller's own
    account, so a registry in another account (large) is named by its ARN."""
    if registry_account_id == account_id:
        return model_package_group_name(use_case)
    return model_package_group_arn(region, registry_account_id, use_case)


def replicated_capture_prefix(use_case: str, source_tier: str) -> str:
    """Where one serving tier's captured traffic of one use case lands in the ops tier's capture bucket."""
    return f"{use_case}/{source_tier}/"


# Promotion (medium, large): an approval of a use case's group starts its pipeline in the cicd tier, which
# records the version in staging's SSM state, runs `pulumi up` of staging, tests its API, waits at a manual gate
# and then does the same for prod with the very version that passed staging.

PROMOTION_VARIABLE = "MODEL_PACKAGE_ARN"
"""The promotion pipelines' variable: the versioned ARN of the approved model package they promote."""
PROMOTION_DEPLOY_PROJECT = "mlops-promotion-deploy"
"""The CodeBuild project that records a version as a serving tier's desired state and runs its `pulumi up`."""
PROMOTION_TEST_PROJECT = "mlops-promotion-staging-test"
"""The CodeBuild project that calls the staging inference API (SigV4) before the manual gate."""
APPROVAL_FORWARDING_RULE = "mlops-model-approvals-to-cicd"
"""Large size: the artifact account's rule that forwards model package approvals to the cicd account's bus."""
STATE_SECRETS_KEY_ALIAS = f"{PROJECT}/state"
"""The cicd tier's KMS key behind the stacks' `awskms://` secrets provider (`alias/mlops-platform/state`)."""
PULUMI_ACCESS_TOKEN_SECRET = f"{PROJECT}/pulumi-access-token"
"""With `stateBackend.kind: pulumi-cloud`, the Secrets Manager secret holding the pipelines' Pulumi access token."""
MONITORING_IMAGE_PIPELINE = "mlops-monitoring-image"
MONITORING_IMAGE_SOURCE_PATH = "images/monitoring/**"
"""Pushes to the promotion branch touching these files rebuild the monitoring image."""


def promotion_pipeline_name(use_case: str) -> str:
    return f"{use_case}-promotion"


def promotion_approval_topic_name(use_case: str) -> str:
    """The SNS topic the pipeline's manual gate announces a version waiting for prod on."""
    return f"{use_case}-promotion-approvals"


def promotion_starter_function_name(use_case: str) -> str:
    return f"{use_case}-promotion-starter"


def promotion_dead_letter_queue_name(use_case: str) -> str:
    """Where the starter's failed approvals (and EventBridge's undeliverable ones) wait for a redrive."""
    return f"{use_case}-promotion-dlq"


def promotion_rule_name(use_case: str) -> str:
    return f"{use_case}-promotion-on-approval"


def promotion_pipeline_role_name(use_case: str) -> str:
    """CodePipeline's service role of one promotion pipeline (its builds run as the deploy path's pipeline role)."""
    return role_name("cicd", f"{use_case}-promotion")


def promotion_starter_role_name(use_case: str) -> str:
    return role_name("cicd", f"{use_case}-promotion-starter")


def monitoring_image_pipeline_role_name() -> str:
    return role_name("cicd", "monitoring-image-pipeline")


def approval_forwarder_role_name() -> str:
    return role_name("artifact", "approval-forwarder")


def monitoring_image_build_project_name() -> str:
    """The one CodeBuild project that runs privileged: it builds the monitoring image with Docker (the policy
    pack's `codebuild-privileged-mode` names it as its only exception)."""
    return "mlops-monitoring-image-build"


def role_name(tier: str, purpose: str) -> str:
    """IAM role names are at most 64 characters: `mlops-<tier>-<purpose>`."""
    name = f"mlops-{tier}-{purpose}"
    if len(name) > 64:
        raise ContractError(f"IAM role name {name!r} is longer than 64 characters")
    return name


# Roles by purpose: the one spelling of each role other tiers grant to before it exists.

def retraining_role_name(use_case: str) -> str:
    """The ops tier's execution role of a use case's retraining pipeline and its jobs."""
    return role_name("ops", f"{use_case}-pipeline")


def drift_check_role_name(use_case: str) -> str:
    """The ops tier's role the drift check of `use_case` runs as: it pulls the monitoring image."""
    return role_name("ops", f"{use_case}-drift")


def monitoring_image_build_role_name() -> str:
    """The cicd tier's CodeBuild role that builds the monitoring image and alone pushes it."""
    return role_name("cicd", "image-build")


def retraining_schedule_role_name(use_case: str) -> str:
    return role_name("ops", f"{use_case}-schedule")


def drift_schedule_role_name(use_case: str) -> str:
    return role_name("ops", f"{use_case}-drift-schedule")


def model_role_name(use_case: str, tier: str) -> str:
    """The execution role of a served use case's SageMaker model in a serving tier."""
    return role_name(tier, f"{use_case}-model")


def inference_role_name(use_case: str, tier: str) -> str:
    return role_name(tier, f"{use_case}-inference")


def deployer_role_name(use_case: str, tier: str) -> str:
    return role_name(tier, f"{use_case}-deployer")


def model_approver_role_name(tier: str) -> str:
    return role_name(tier, "model-approver")


def flow_logs_role_name(tier: str) -> str:
    return role_name(tier, "network-flow-logs")


# The CI/CD deploy path: the only principals a workload account's deploy role trusts.
DEPLOY_PIPELINE_ROLE_NAME = "mlops-cicd-deploy-pipeline"
"""In the account hosting the cicd tier; CodePipeline/CodeBuild run as it and assume the deploy roles."""
BOOTSTRAP_ROLE_NAME = "mlops-org-bootstrap"
"""In the management account; platform engineers assume it for a stack's first deploy."""
DATA_SCIENTIST_PERMISSION_SET = "DataScientist"


def data_scientist_role_name() -> str:
    """The dev tier's Studio execution role: what data scientists act as in Studio and in their jobs."""
    return role_name("dev", "data-scientist")


def pipeline_operator_role_name() -> str:
    """Where pipelines live in another account than Studio (large: ops), the role data scientists assume to run
    and follow them (pipelines take no resource policy)."""
    return role_name("ops", "pipeline-operator")
STUDIO_USER_TAG = "studiouserid"
"""The org stack makes Identity Center pass each user's name as this session tag; the dev tier tags each Studio
user profile with its data scientist's name under it: a data scientist opens only their own profile."""


def deploy_pipeline_role_arn(partition: str, account_id: str) -> str:
    return role_arn(partition, account_id, DEPLOY_PIPELINE_ROLE_NAME)


def bootstrap_role_arn(partition: str, account_id: str) -> str:
    return role_arn(partition, account_id, BOOTSTRAP_ROLE_NAME)


# The permissions boundary: the org stack creates it in every account before any platform role, every role the
# platform creates carries it, and the deploy role may create roles only with it.
PERMISSIONS_BOUNDARY_NAME = "mlops-platform-boundary"
PLATFORM_ROLE_NAME_PREFIX = "mlops-"
"""Every role the platform creates is named `mlops-...` (`role_name`, the contract's fixed role names)."""


def permissions_boundary_name() -> str:
    return PERMISSIONS_BOUNDARY_NAME


def permissions_boundary_arn(partition: str, account_id: str) -> str:
    """The boundary managed policy in `account_id`: what every PlatformRole in that account passes as
    `permissions_boundary`."""
    return naming.policy_arn(partition, account_id, permissions_boundary_name())


# Container builds (medium, large): a use case declaring `image` gets a pipeline in the cicd tier that builds it
# on pushes touching its context, pushes it to the use case's repository in the artifact tier under the commit
# id, gates it on the scan and records its URI in the ops tier, where the retraining starter reads it.

IMAGE_RECORD_PREFIX = f"/{PROJECT}/images"
TRAINING_IMAGE_PARAMETER = "TrainingImage"
"""The retraining pipeline's parameter naming the image its training, evaluation and registered model use."""
IMAGE_BUILD_SUFFIX = "-image-build"
IMAGE_BUILDSPEC = "buildspecs/image.yml"
"""The platform's one image buildspec: every image build runs it (the policy pack excepts no other)."""


def image_pipeline_name(use_case: str) -> str:
    return f"{use_case}-image"


def image_build_project_name(use_case: str) -> str:
    """A use case's privileged image build (the policy pack excepts exactly these names and the monitoring one)."""
    return f"mlops-{use_case}{IMAGE_BUILD_SUFFIX}"


def image_build_role_name(use_case: str) -> str:
    """The cicd tier's CodeBuild role that builds `use_case`'s image and alone pushes to its repository."""
    return role_name("cicd", f"{use_case}{IMAGE_BUILD_SUFFIX}")


def image_pipeline_role_name(use_case: str) -> str:
    return role_name("cicd", f"{use_case}-image-pipeline")


def image_record_parameter(use_case: str) -> str:
    """The ops tier's SSM parameter holding the URI of `use_case`'s newest scanned image; the build path writes
    it, the retraining starter reads it."""
    return f"{IMAGE_RECORD_PREFIX}/{use_case}"


def image_recorder_role_name(use_case: str) -> str:
    """The ops tier's role the image build assumes to write `use_case`'s image record, and nothing else."""
    return role_name("ops", f"{use_case}-image-recorder")


def retraining_starter_function_name(use_case: str) -> str:
    """Where a use case builds its own image: the function every retraining start goes through (the schedule,
    the drift rule), which passes the recorded image as TRAINING_IMAGE_PARAMETER."""
    return f"{use_case}-retraining-starter"


def retraining_starter_role_name(use_case: str) -> str:
    return role_name("ops", f"{use_case}-retraining-starter")


def retraining_starter_dead_letter_queue_name(use_case: str) -> str:
    return f"{use_case}-retraining-starter-dlq"


def image_build_use_case(project: str) -> str | None:
    """The use case whose image build `project` is named as (`image_build_project_name`), if it is one."""
    if not project.startswith("mlops-") or not project.endswith(IMAGE_BUILD_SUFFIX):
        return None
    use_case = project.removeprefix("mlops-").removesuffix(IMAGE_BUILD_SUFFIX)
    return use_case if use_case and image_build_project_name(use_case) == project else None
# Feature Store (artifact tier): its groups' offline stores, their Glue tables and their sharing.

FEATURE_STORE_GLUE_CATALOG = "AwsDataCatalog"
FEATURE_STORE_GLUE_DATABASE = "sagemaker_featurestore"
"""The database Feature Store creates its offline stores' Glue tables in (and creates itself on first use)."""
FEATURE_GROUP_SHARE_PERMISSION = "AWSRAMPermissionSagemakerFeatureGroupReadWrite"
"""The AWS RAM managed permission of a shared feature group that reads and writes its records (SageMaker Developer
Guide, "Enabling cross account access"; AWS spells it `Sagemaker` here, `SageMaker` in the read-only one)."""


def feature_store_role_name() -> str:
    """The artifact tier's role Feature Store assumes to write offline stores (and update their Glue tables)."""
    return role_name("artifact", "feature-store")


def feature_group_offline_prefix(use_case: str, feature_group: str) -> str:
    """The key prefix a group's offline store is configured with; Feature Store writes under
    `<prefix>/<account>/sagemaker/<region>/offline-store/<group>-<creation time>/`."""
    return f"{use_case_features_prefix(use_case)}{feature_group}"


def use_case_features_prefix(use_case: str) -> str:
    """Every offline store of a use case's groups, in the feature store bucket."""
    return f"{use_case}/"


def feature_group_table_name(feature_group: str) -> str:
    """The Glue table of a group's offline store (Glue and Athena table names take no hyphens)."""
    return feature_group.replace("-", "_")


def feature_group_share_name(use_case: str) -> str:
    return f"{PROJECT}-{use_case}-feature-groups"
# The governed data lake (large): the data tier's Glue databases, shared by Lake Formation with the ops and dev
# accounts, which reach them through resource links and query them in their own Athena workgroups.

def data_lake_database_name(domain: str) -> str:
    """The data tier's Glue database of a domain."""
    return domain


def data_lake_link_name(domain: str) -> str:
    """The resource link to a domain's database, in each account the database is shared with."""
    return f"{domain}_shared"


def data_lake_table_prefix(domain: str, table: str) -> str:
    """Where a table's objects live in the curated bucket."""
    return f"{domain}/{table}/"


def data_lake_location_role_name() -> str:
    """The data tier's role Lake Formation reads the registered curated location as: the only reader of its
    objects (bucket policy)."""
    return role_name("data", "lake-location")


def data_lake_ingest_role_name() -> str:
    """The data tier's role the curation jobs (AWS Glue) run as: the only writer of raw and curated objects and the
    only reader of raw ones."""
    return role_name("data", "lake-ingest")


def athena_workgroup_name(tier: str) -> str:
    """The Athena workgroup a tier queries the data lake in (ops: the retraining queries; dev: data scientists)."""
    return f"mlops-{tier}-data-lake"


ATHENA_DATA_CATALOG = "AwsDataCatalog"
"""The catalog Athena names the account's Glue Data Catalog by (resource links live in it)."""
