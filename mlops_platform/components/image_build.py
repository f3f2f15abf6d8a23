"""Image builds (medium, large): per image a CodePipeline V2 pipeline in the cicd tier whose trigger is a push to
the promotion branch touching the image's build context (a new pipeline also runs once when it is created), and a
privileged CodeBuild project — Docker needs it; the policy pack names each such project — that builds the
Dockerfile and pushes it to the image's repository in the artifact tier under an immutable tag, skipping the push
when that tag exists, then fails on scan findings at or above `promotion.imageScanFailSeverity`
(`buildspecs/image.yml`).

Two kinds of image share it: the platform's monitoring image (`monitoring_image()`, tagged with its content hash,
which the program computes too) and each use case's own image (`use_case_image()`, `useCases[].image`, tagged
with the commit id), whose URI the build then records in the ops tier's SSM parameter through a role of that
account it assumes; the retraining starter passes the recorded URI to every retraining run.

Execution mode SUPERSEDED: only the newest image matters, so a newer push overtakes an older build (the Build
stage admits one execution at a time, so the last record is the newest image). The build runs as its own role,
which may push only to its image's repository (the artifact tier's repository policy admits exactly that role
and denies every other pusher) and read its source; the pipeline's role only reads the source and starts it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform import contract, naming
from mlops_platform.components.iam import PlatformRole, PlatformRoleArgs, Statement, allow, service_trust
from mlops_platform.components.promotion_pipeline import (
    BUILD_IMAGE,
    BUILD_LOG_RETENTION_DAYS,
    KEY_ACTIONS,
    SOURCE_ACTION,
    PlatformSource,
    build_log_group,
)
from mlops_platform.config import UseCase
from mlops_platform.placement import Placement

IMAGE_BUILDSPEC = contract.IMAGE_BUILDSPEC
PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage",
                "ecr:UploadLayerPart")
BUILD_TIMEOUT_MINUTES = 60
SOURCE_NAMESPACE = "Source"
"""The source action's variable namespace: the build reads the commit it checked out as `#{Source.CommitId}`."""
TAG_SOURCES = ("content", "commit")
MONITORING_IMAGE_CONTEXT = contract.MONITORING_IMAGE_SOURCE_PATH.removesuffix("/**")
LEGACY_MONITORING_TYPE = "mlops:cicd:MonitoringImageBuild"
"""The monitoring image build's type before builds were shared: aliased, so deployed stacks keep its resources."""


@dataclass(frozen=True)
class ImageRecord:
    """Where a built image's URI is recorded: an SSM parameter of the ops tier, written as its recorder role."""

    parameter: str
    recorder_role_arn: str


@dataclass(frozen=True)
class BuiltImage:
    """What one image build builds, how it is tagged, and what it is allowed to touch."""

    description: str
    """E.g. `the platform's monitoring image`, in the project's and roles' descriptions."""
    pipeline: str
    project: str
    build_role: str
    pipeline_role: str
    repository: str
    context: str
    dockerfile: str
    trigger_paths: tuple[str, ...]
    tag_source: str
    """`content` (the monitoring image's content hash) or `commit` (the commit id the pipeline checked out)."""
    record: ImageRecord | None = None


def monitoring_image() -> BuiltImage:
    return BuiltImage(
        description="the platform's monitoring image", pipeline=contract.MONITORING_IMAGE_PIPELINE,
        project=contract.monitoring_image_build_project_name(), build_role=contract.monitoring_image_build_role_name(),
        pipeline_role=contract.monitoring_image_pipeline_role_name(), repository=contract.MONITORING_IMAGE_REPOSITORY,
        context=MONITORING_IMAGE_CONTEXT, dockerfile=f"{MONITORING_IMAGE_CONTEXT}/Dockerfile",
        trigger_paths=(contract.MONITORING_IMAGE_SOURCE_PATH,), tag_source="content")


def use_case_image(use_case: UseCase, ops: Placement) -> BuiltImage:
    """`use_case`'s own image (it must declare one), recorded in the ops tier `ops`."""
    if use_case.image is None:
        raise ValueError(f"use case {use_case.name!r} declares no image (useCases[].image)")
    name = use_case.name
    return BuiltImage(
        description=f"the {name} image", pipeline=contract.image_pipeline_name(name),
        project=contract.image_build_project_name(name), build_role=contract.image_build_role_name(name),
        pipeline_role=contract.image_pipeline_role_name(name), repository=contract.container_repository_name(name),
        context=use_case.image.context, dockerfile=use_case.image.dockerfile,
        trigger_paths=use_case.image.trigger_paths, tag_source="commit",
        record=ImageRecord(contract.image_record_parameter(name), contract.role_arn(
            ops.partition, ops.account_id, contract.image_recorder_role_name(name))))


@dataclass(frozen=True)
class ImageBuildArgs:
    placement: Placement
    registry_account_id: str
    """The artifact tier's account, which holds the image's repository."""
    source: PlatformSource
    fail_severity: str
    image: BuiltImage


class ImageBuild(pulumi.ComponentResource):
    project_arn: pulumi.Output[str]
    pipeline_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ImageBuildArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        aliases = [pulumi.Alias(type_=LEGACY_MONITORING_TYPE)] if args.image == monitoring_image() else []
        super().__init__("mlops:cicd:ImageBuild", name, None,
                         pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=aliases)))
        if args.image.tag_source not in TAG_SOURCES:
            raise ValueError(f"tag_source {args.image.tag_source!r} is not one of {', '.join(TAG_SOURCES)}")
        child = pulumi.ResourceOptions(parent=self)
        placement, image = args.placement, args.image
        repository_arn = naming.ecr_repository_arn(placement.region, args.registry_account_id, image.repository)
        logs = aws.cloudwatch.LogGroup(name, name=build_log_group(image.project),
                                       retention_in_days=BUILD_LOG_RETENTION_DAYS, kms_key_id=args.source.key_arn,
                                       opts=child)
        build_role = PlatformRole(f"{name}-build", PlatformRoleArgs(
            role_name=image.build_role,
            description=f"CodeBuild: builds {image.description} and pushes it to its repository",
            trust_policy=service_trust("codebuild.amazonaws.com", placement.account_id),
            statements=build_statements(args, repository_arn, logs.arn)), child)
        built = aws.codebuild.Project(
            name, name=image.project, description=f"Builds and pushes {image.description} (Docker: privileged)",
            service_role=build_role.arn, encryption_key=args.source.key_arn, build_timeout=BUILD_TIMEOUT_MINUTES,
            queued_timeout=480, artifacts={"type": "CODEPIPELINE"},
            source={"type": "CODEPIPELINE", "buildspec": IMAGE_BUILDSPEC},
            environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "type": "LINUX_CONTAINER", "image": BUILD_IMAGE,
                         "image_pull_credentials_type": "CODEBUILD", "privileged_mode": True,
                         "environment_variables": build_variables(args)},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name},
                         "s3_logs": {"status": "DISABLED"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, build_role]))
        pipeline_role = PlatformRole(name, PlatformRoleArgs(
            role_name=image.pipeline_role,
            description=f"CodePipeline: rebuilds {image.description} on pushes touching it",
            trust_policy=service_trust("codepipeline.amazonaws.com", placement.account_id),
            statements=[
                *args.source.pipeline_statements(),
                allow(list(KEY_ACTIONS), [args.source.key_arn], sid="EncryptArtifacts"),
                allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"], [built.arn], sid="RunTheBuild")]),
            child)
        pipeline = aws.codepipeline.Pipeline(
            name, name=image.pipeline, pipeline_type="V2", execution_mode="SUPERSEDED",
            role_arn=pipeline_role.arn, artifact_stores=[args.source.artifact_store()],
            triggers=[{"provider_type": "CodeStarSourceConnection", "git_configuration": {
                "source_action_name": SOURCE_ACTION,
                "pushes": [{"branches": {"includes": [args.source.branch]},
                            "file_paths": {"includes": list(image.trigger_paths)}}]}}],
            stages=[{"name": "Source", "actions": [
                        {**args.source.source_action(detect_changes=True), "namespace": SOURCE_NAMESPACE}]},
                    {"name": "Build", "actions": [{
                        "name": "BuildAndPush", "category": "Build", "owner": "AWS", "provider": "CodeBuild",
                        "version": "1", "input_artifacts": ["source"],
                        "configuration": {"ProjectName": image.project,
                                          "EnvironmentVariables": commit_variable()}}]}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline_role]))
        self.project_arn = built.arn
        self.pipeline_arn = pipeline.arn
        self.register_outputs({"pipelineArn": pipeline.arn})


def commit_variable() -> str:
    """The build action's environment: the commit the source action checked out (the use-case images' tag)."""
    return json.dumps([{"name": "COMMIT_ID", "value": f"#{{{SOURCE_NAMESPACE}.CommitId}}", "type": "PLAINTEXT"}])


def build_variables(args: ImageBuildArgs) -> list[aws.codebuild.ProjectEnvironmentEnvironmentVariableArgsDict]:
    image = args.image
    values = {
        "REGISTRY": naming.ecr_registry_hostname(args.placement.region, args.registry_account_id),
        "REGISTRY_ACCOUNT": args.registry_account_id,
        "REPOSITORY_NAME": image.repository,
        "FAIL_SEVERITY": args.fail_severity,
        "CONTEXT": image.context,
        "DOCKERFILE": image.dockerfile,
        "TAG_SOURCE": image.tag_source,
        "RECORD_PARAMETER": image.record.parameter if image.record else "",
        "RECORDER_ROLE_ARN": image.record.recorder_role_arn if image.record else "",
    }
    return [{"name": name, "value": value} for name, value in values.items()]


def build_statements(args: ImageBuildArgs, repository_arn: str,
                     log_group_arn: pulumi.Input[str]) -> list[Statement]:
    statements = [
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(log_group_arn, ":*")],
              sid="WriteBuildLogs"),
        allow(["s3:GetObject", "s3:GetObjectVersion"], [pulumi.Output.concat(args.source.artifact_bucket_arn, "/*")],
              sid="ReadTheSource"),
        allow(["kms:Decrypt", "kms:DescribeKey"], [args.source.key_arn], sid="DecryptTheSource"),
        # GetAuthorizationToken names no repository (AWS: it takes Resource "*").
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(list(PUSH_ACTIONS), [repository_arn], sid="PushItsImageOnly"),
    ]
    if args.image.record is not None:
        statements.append(allow(["sts:AssumeRole"], [args.image.record.recorder_role_arn], sid="RecordTheImage"))
    return statements
