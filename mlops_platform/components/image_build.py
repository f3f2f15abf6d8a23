"""The monitoring image build (medium, large, with the open drift engine): a CodePipeline V2 pipeline in the cicd
tier whose trigger is a push to the promotion branch touching `images/monitoring/**` (a new pipeline also runs
once when it is created), and the platform's one privileged CodeBuild project, which builds
`images/monitoring/Dockerfile` and pushes it to the artifact tier's monitoring repository under the image's
content-hash tag (`mlops_platform.monitoring_image`), skipping the push when that immutable tag exists, then
fails on scan findings at or above `promotion.imageScanFailSeverity` (`buildspecs/monitoring-image.yml`).

Execution mode SUPERSEDED: only the newest image matters, so a newer push overtakes an older build.
The build runs as its own role, which may push only to the monitoring repository (the artifact tier's repository
policy admits exactly that role) and read its source; the pipeline's role only reads the source and starts it.
"""

from __future__ import annotations

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
from mlops_platform.placement import Placement

IMAGE_BUILDSPEC = "buildspecs/monitoring-image.yml"
PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                "ecr:DescribeImageScanFindings", "ecr:DescribeImages", "ecr:InitiateLayerUpload", "ecr:PutImage",
                "ecr:UploadLayerPart")
BUILD_TIMEOUT_MINUTES = 60


@dataclass(frozen=True)
class MonitoringImageBuildArgs:
    placement: Placement
    registry_account_id: str
    """The artifact tier's account, which holds the monitoring repository."""
    source: PlatformSource
    fail_severity: str


class MonitoringImageBuild(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringImageBuildArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:cicd:MonitoringImageBuild", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        placement, project = args.placement, contract.monitoring_image_build_project_name()
        repository_arn = naming.ecr_repository_arn(placement.region, args.registry_account_id,
                                                   contract.MONITORING_IMAGE_REPOSITORY)
        logs = aws.cloudwatch.LogGroup(name, name=build_log_group(project), retention_in_days=BUILD_LOG_RETENTION_DAYS,
                                       kms_key_id=args.source.key_arn, opts=child)
        build_role = PlatformRole(f"{name}-build", PlatformRoleArgs(
            role_name=contract.monitoring_image_build_role_name(),
            description="CodeBuild: builds the monitoring image and pushes it to its repository",
            trust_policy=service_trust("codebuild.amazonaws.com", placement.account_id),
            statements=build_statements(args, repository_arn, logs.arn)), child)
        built = aws.codebuild.Project(
            name, name=project, description="Builds and pushes the platform's monitoring image (Docker: privileged)",
            service_role=build_role.arn, encryption_key=args.source.key_arn, build_timeout=BUILD_TIMEOUT_MINUTES,
            queued_timeout=480, artifacts={"type": "CODEPIPELINE"},
            source={"type": "CODEPIPELINE", "buildspec": IMAGE_BUILDSPEC},
            environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "type": "LINUX_CONTAINER", "image": BUILD_IMAGE,
                         "image_pull_credentials_type": "CODEBUILD", "privileged_mode": True,
                         "environment_variables": [
                             {"name": "REGISTRY",
                              "value": naming.ecr_registry_hostname(placement.region, args.registry_account_id)},
                             {"name": "REGISTRY_ACCOUNT", "value": args.registry_account_id},
                             {"name": "REPOSITORY_NAME", "value": contract.MONITORING_IMAGE_REPOSITORY},
                             {"name": "FAIL_SEVERITY", "value": args.fail_severity}]},
            logs_config={"cloudwatch_logs": {"status": "ENABLED", "group_name": logs.name},
                         "s3_logs": {"status": "DISABLED"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, build_role]))
        pipeline_role = PlatformRole(name, PlatformRoleArgs(
            role_name=contract.monitoring_image_pipeline_role_name(),
            description="CodePipeline: rebuilds the monitoring image on pushes touching it",
            trust_policy=service_trust("codepipeline.amazonaws.com", placement.account_id),
            statements=[
                *args.source.pipeline_statements(),
                allow(list(KEY_ACTIONS), [args.source.key_arn], sid="EncryptArtifacts"),
                allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"], [built.arn], sid="RunTheBuild")]),
            child)
        aws.codepipeline.Pipeline(
            name, name=contract.MONITORING_IMAGE_PIPELINE, pipeline_type="V2", execution_mode="SUPERSEDED",
            role_arn=pipeline_role.arn, artifact_stores=[args.source.artifact_store()],
            triggers=[{"provider_type": "CodeStarSourceConnection", "git_configuration": {
                "source_action_name": SOURCE_ACTION,
                "pushes": [{"branches": {"includes": [args.source.branch]},
                            "file_paths": {"includes": [contract.MONITORING_IMAGE_SOURCE_PATH]}}]}}],
            stages=[{"name": "Source", "actions": [args.source.source_action(detect_changes=True)]},
                    {"name": "Build", "actions": [{
                        "name": "BuildAndPush", "category": "Build", "owner": "AWS", "provider": "CodeBuild",
                        "version": "1", "input_artifacts": ["source"],
                        "configuration": {"ProjectName": project}}]}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline_role]))
        self.register_outputs({})


def build_statements(args: MonitoringImageBuildArgs, repository_arn: str,
                     log_group_arn: pulumi.Input[str]) -> list[Statement]:
    return [
        allow(["logs:CreateLogStream", "logs:PutLogEvents"], [pulumi.Output.concat(log_group_arn, ":*")],
              sid="WriteBuildLogs"),
        allow(["s3:GetObject", "s3:GetObjectVersion"], [pulumi.Output.concat(args.source.artifact_bucket_arn, "/*")],
              sid="ReadTheSource"),
        allow(["kms:Decrypt", "kms:DescribeKey"], [args.source.key_arn], sid="DecryptTheSource"),
        # GetAuthorizationToken names no repository (AWS: it takes Resource "*").
        allow(["ecr:GetAuthorizationToken"], "*", sid="LogInToEcr"),
        allow(list(PUSH_ACTIONS), [repository_arn], sid="PushTheMonitoringImageOnly"),
    ]
