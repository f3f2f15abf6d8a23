"""Promotion (medium, large): per served use case a CodePipeline V2 pipeline in the cicd tier that takes the
approved model package ARN as its variable and carries it source → deploy staging → test → manual gate → deploy
prod, and the two CodeBuild projects every such pipeline runs (`PromotionBuilds`).

Execution mode QUEUED: one execution at a time, in approval order. A version waiting at the manual gate is
therefore the version staging serves while the approver looks at it; SUPERSEDED would let a newer approval
redeploy staging under a waiting gate, and PARALLEL would let two `pulumi up` of one stack race.

The builds run as the deploy path's pipeline role (`contract.DEPLOY_PIPELINE_ROLE_NAME`, created by the org stack
in this account): the staging and prod deploy roles trust that role alone, so no other role could deploy them.
Its own policies are the org stack's (assume the deploy roles, write its build logs); this tier admits it on
the resource side, by exact ARN, to the artifact bucket and key and the state backend. CodePipeline itself runs
as a role of each pipeline that can only read the source, start these two projects and announce the gate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement
from mlops_platform.promotion import PULUMI_CLI_VERSION

BUILD_IMAGE = "aws/codebuild/standard:7.0"
DEPLOY_BUILDSPEC = "buildspecs/deploy.yml"
STAGING_TEST_BUILDSPEC = "buildspecs/staging-test.yml"
DEPLOY_TIMEOUT_MINUTES = 120
"""A canary rollout waits `canaryWaitSeconds` (at most an hour) before the rest of the fleet moves."""
TEST_TIMEOUT_MINUTES = 20
BUILD_LOG_RETENTION_DAYS = 365
ARTIFACT_ACTIONS = ("s3:GetBucketVersioning", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject")
KEY_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
SOURCE_ACTION = "Platform"
"""The source action of every pipeline that checks out this platform's repository (the image build's trigger
names it)."""


def build_log_group(project: str) -> str:
    return f"/aws/codebuild/{project}"


@dataclass(frozen=True)
class StateAccess:
    """How the builds reach the state backend (`components.state_backend.StateBackend`)."""

    backend_url: pulumi.Input[str]
    token_secret_arn: pulumi.Input[str] | None = None
    """With Pulumi Cloud: the access token's secret, handed to the builds as PULUMI_ACCESS_TOKEN."""


@dataclass(frozen=True)
class PromotionBuildsArgs:
    placement: Placement
    key_arn: pulumi.Input[str]
    """Encrypts the build artifacts and logs (the key admits CloudWatch Logs and the pipeline role)."""
    state: StateAccess


class PromotionBuilds(pulumi.ComponentResource):
    """The deploy and staging-test projects, shared by every use case's promotion pipeline."""

    project_arns: list[pulumi.Output[str]]

    def __init__(self, name: str, args: PromotionBuildsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:PromotionBuilds", name, None, opts)
        role = contract.deploy_pipeline_role_arn(args.placement.partition, args.placement.account_id)
        self.project_arns = [
            self._project(f"{name}-deploy", contract.PROMOTION_DEPLOY_PROJECT, DEPLOY_BUILDSPEC,
                          "Records an approved version as a serving tier's desired state, then runs its pulumi up",
                          DEPLOY_TIMEOUT_MINUTES, role, args),
            self._project(f"{name}-staging-test", contract.PROMOTION_TEST_PROJECT, STAGING_TEST_BUILDSPEC,
                          "Calls the staging inference API with SigV4: status, response shape, latency",
                          TEST_TIMEOUT_MINUTES, role, args),
        ]
        self.register_outputs({})

    def _project(self, name: str, project: str, buildspec: str, description: str, timeout: int, role: str,
                 args: PromotionBuildsArgs) -> pulumi.Output[str]:
        logs = aws.cloudwatch.LogGroup(name, name=build_log_group(project), retention_in_days=BUILD_LOG_RETENTION_DAYS,
                                       kms_key_id=args.key_arn, opts=pulumi.ResourceOptions(parent=self))
        variables: list[aws.codebuild.ProjectEnvironmentEnvironmentVariableArgsDict] = [
            {"name": "PULUMI_VERSION", "value": PULUMI_CLI_VERSION},
            {"name": "PULUMI_BACKEND_URL", "value": args.state.backend_url},
        ]
        if args.state.token_secret_arn is not None:
            variables.append({"name": "PULUMI_ACCESS_TOKEN", "value": args.state.token_secret_arn,
                              "type": "SECRETS_MANAGER"})
        built = aws.codebuild.Project(
            name, name=project, description=description, service_role=role, encryption_key=args.key_arn,
            build_timeout=timeout, queued_timeout=480,
            artifacts={"type": "CODEPIPELINE"}, source={"type": "CODEPIPELINE", "buildspec": buildspec},
            environment={"compute_type": "BUILD_GENERAL1_SMALL", "type": "LINUX_CONTAINER", "image": BUILD_IMAGE,
                         "image_pull_credentials_type": "CODEBUILD", "privileged_mode": False,
                         "environment_variables": variables},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name},
                         "s3_logs": {"status": "DISABLED"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]))
        return built.arn


@dataclass(frozen=True)
class PlatformSource:
    """This platform's repository at a branch, read through the CodeConnections connection, and the encrypted
    artifact store a pipeline passes it on in: what the promotion and the image build pipelines share."""

    repository: str
    """`owner/repo`."""
    branch: str
    connection_arn: pulumi.Input[str]
    artifact_bucket: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    key_arn: pulumi.Input[str]

    def source_action(self, detect_changes: bool) -> aws.codepipeline.PipelineStageActionArgsDict:
        configuration: dict[str, pulumi.Input[str]] = {
            "ConnectionArn": self.connection_arn, "FullRepositoryId": self.repository, "BranchName": self.branch}
        if not detect_changes:
            configuration["DetectChanges"] = "false"
        configuration["OutputArtifactFormat"] = "CODE_ZIP"
        return {"name": SOURCE_ACTION, "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection",
                "version": "1", "output_artifacts": ["source"], "configuration": configuration}

    def artifact_store(self) -> aws.codepipeline.PipelineArtifactStoreArgsDict:
        return {"location": self.artifact_bucket, "type": "S3", "encryption_key": {"id": self.key_arn, "type": "KMS"}}

    def pipeline_statements(self) -> list[Statement]:
        """What a pipeline's role needs of its source: the connection, and the artifacts it passes on."""
        return [
            allow(["codeconnections:UseConnection", "codestar-connections:UseConnection"], [self.connection_arn],
                  sid="ReadThePlatformsRepository"),
            allow(list(ARTIFACT_ACTIONS), [pulumi.Output.concat(self.artifact_bucket_arn, "/*")],
                  sid="PassArtifacts"),
        ]


@dataclass(frozen=True)
class ServingTarget:
    """One serving tier a pipeline deploys: its stack and account."""

    tier: str
    stack: str
    """The fully qualified stack name `pulumi up --stack` takes (`contract.stack_reference_name`)."""
    account_id: str


@dataclass(frozen=True)
class PromotionPipelineArgs:
    use_case: UseCase
    placement: Placement
    source: PlatformSource
    registry_account_id: str
    deploy_role_name: str
    staging: ServingTarget
    prod: ServingTarget
    project_arns: Sequence[pulumi.Input[str]]


class PromotionPipeline(pulumi.ComponentResource):
    pipeline_arn: pulumi.Output[str]
    approval_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: PromotionPipelineArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:PromotionPipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        use_case = args.use_case.name
        topic = aws.sns.Topic(f"{name}-approvals", name=contract.promotion_approval_topic_name(use_case),
                              kms_master_key_id=args.source.key_arn, opts=child)
        role = PlatformRole(name, PlatformRoleArgs(
            role_name=contract.promotion_pipeline_role_name(use_case),
            description=f"CodePipeline: promotes approved {use_case} models through staging to prod",
            trust_policy=service_trust("codepipeline.amazonaws.com", args.placement.account_id),
            statements=pipeline_statements(args, topic.arn)), child)
        pipeline = aws.codepipeline.Pipeline(
            name, name=contract.promotion_pipeline_name(use_case), pipeline_type="V2", execution_mode="QUEUED",
            role_arn=role.arn, artifact_stores=[args.source.artifact_store()],
            variables=[{"name": contract.PROMOTION_VARIABLE, "default_value": "none",
                        "description": "The versioned ARN of the approved model package to promote"}],
            stages=_stages(args, topic.arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]))
        self.pipeline_arn = pipeline.arn
        self.approval_topic_arn = topic.arn
        self.register_outputs({"pipelineArn": pipeline.arn})


def pipeline_statements(args: PromotionPipelineArgs, topic_arn: pulumi.Input[str]) -> list[Statement]:
    return [
        *args.source.pipeline_statements(),
        allow(["s3:GetBucketLocation", "s3:ListBucket"], [args.source.artifact_bucket_arn], sid="FindArtifacts"),
        allow(list(KEY_ACTIONS), [args.source.key_arn], sid="EncryptArtifactsAndNotices"),
        allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"], list(args.project_arns), sid="RunTheBuilds"),
        allow(["sns:Publish"], [topic_arn], sid="AnnounceTheGate"),
    ]


def _variable() -> str:
    return f"#{{variables.{contract.PROMOTION_VARIABLE}}}"


def deploy_variables(args: PromotionPipelineArgs, target: ServingTarget,
                     passed: ServingTarget | None = None) -> list[Mapping[str, str]]:
    """What the deploy build is told: the version (the execution's variable), the tier's stack, its SSM state and
    deploy role; for prod, the staging state the version must have passed."""
    partition, use_case = args.placement.partition, args.use_case.name
    variables = [
        {"name": "TIER", "value": target.tier},
        {"name": "STACK", "value": target.stack},
        {"name": contract.PROMOTION_VARIABLE, "value": _variable()},
        {"name": "MODEL_PACKAGE_GROUP_NAME", "value": contract.model_package_group_name(use_case)},
        {"name": "REGISTRY_ACCOUNT", "value": args.registry_account_id},
        {"name": "SERVED_MODEL_PARAMETER", "value": contract.served_model_parameter(target.tier, use_case)},
        {"name": "DEPLOY_ROLE_ARN",
         "value": contract.deploy_role_arn(partition, target.account_id, args.deploy_role_name)},
    ]
    if passed is not None:
        variables += [
            {"name": "PASSED_PARAMETER", "value": contract.served_model_parameter(passed.tier, use_case)},
            {"name": "PASSED_ROLE_ARN",
             "value": contract.deploy_role_arn(partition, passed.account_id, args.deploy_role_name)},
        ]
    return [{**variable, "type": "PLAINTEXT"} for variable in variables]


def test_variables(args: PromotionPipelineArgs) -> list[Mapping[str, str]]:
    staging = args.staging
    return [{**variable, "type": "PLAINTEXT"} for variable in (
        {"name": "STACK", "value": staging.stack},
        {"name": "USE_CASE", "value": args.use_case.name},
        {"name": "DEPLOY_ROLE_ARN",
         "value": contract.deploy_role_arn(args.placement.partition, staging.account_id, args.deploy_role_name)},
        {"name": contract.PROMOTION_VARIABLE, "value": _variable()},
    )]


def _build(name: str, project: str, variables: list[Mapping[str, str]],
           order: int = 1) -> aws.codepipeline.PipelineStageActionArgsDict:
    return {"name": name, "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1",
            "run_order": order, "input_artifacts": ["source"],
            "configuration": {"ProjectName": project, "PrimarySource": "source",
                              "EnvironmentVariables": json.dumps(variables)}}


def _stages(args: PromotionPipelineArgs, topic_arn: pulumi.Input[str]) -> list[aws.codepipeline.PipelineStageArgsDict]:
    # Pushes do not start a promotion; approvals do (StartPipelineExecution with the variable).
    source = args.source.source_action(detect_changes=False)
    gate: aws.codepipeline.PipelineStageActionArgsDict = {
        "name": "PromoteToProd", "category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1",
        "configuration": {"NotificationArn": topic_arn, "CustomData": (
            f"{args.use_case.name}: {_variable()} passed staging; approve to deploy it to prod")}}
    return [
        {"name": "Source", "actions": [source]},
        {"name": "DeployStaging", "actions": [_build("DeployStaging", contract.PROMOTION_DEPLOY_PROJECT,
                                                     deploy_variables(args, args.staging))]},
        {"name": "TestStaging", "actions": [_build("TestStaging", contract.PROMOTION_TEST_PROJECT,
                                                   test_variables(args))]},
        {"name": "Approve", "actions": [gate]},
        {"name": "DeployProd", "actions": [_build("DeployProd", contract.PROMOTION_DEPLOY_PROJECT,
                                                  deploy_variables(args, args.prod, passed=args.staging))]},
    ]


def log_group_arns(placement: Placement) -> list[str]:
    """The build log groups the pipeline role writes to (granted by the org stack's deploy path)."""
    return [naming.log_group_arn(placement.region, placement.account_id, build_log_group(project)) + ":*"
            for project in (contract.PROMOTION_DEPLOY_PROJECT, contract.PROMOTION_TEST_PROJECT)]
