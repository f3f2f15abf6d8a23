"""Container builds (medium, large): a use case declaring `image` gets an image pipeline in the cicd tier that
builds it on pushes touching its context, pushes it to its repository in the artifact tier under the commit id,
gates it on the scan and records its URI in the ops tier, where the retraining starter reads it for every start.

Captured medium and large stacks with two imaged use cases (the pipelines, the builds, the roles, the repository
policies with their exact principals, the recorder, the starter and the pipeline's TrainingImage parameter), the
buildspec parsed and its tag logic run in bash, the record step and the starter against moto, the config's
errors, and the access matrix with each grant broken on purpose."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
import yaml
from moto import mock_aws

from mlops_platform import contract, naming, topology
from mlops_platform.components.image_build import IMAGE_BUILDSPEC, SOURCE_NAMESPACE
from mlops_platform.config import ConfigError, PlatformConfig, UseCaseImage, parse_config
from mlops_platform.functions import start_retraining
from mlops_platform.offline import access_matrix
from mlops_platform.offline.access_matrix import AccessMatrix
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.preview import Preview, StackPreview, run_preview
from mlops_platform.offline.stack_config import load_project_config
from mlops_platform.promotion import image_record
from tests.test_config import valid_raw

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-1"
USE_CASES = """config:
  mlops-platform:useCases:
    - name: churn
      metricThreshold: 0.75
      image: {context: images/churn}
      fairness: {facet: gender, limits: {statistical_parity_difference: 0.1}}
    - name: fraud
      image: {context: ml/fraud, dockerfile: docker/fraud.Dockerfile}
"""
IMAGED = ("churn", "fraud")
PROMOTION = {"repository": "acme/mlops"}
TRIGGERS = {"churn": ["images/churn/**"], "fraud": ["ml/fraud/**", "docker/fraud.Dockerfile"]}
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"


@pytest.fixture(scope="module")
def imaged_preview(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Preview]:
    """The full preview (policy pack, access matrix) of a size's samples with two use cases building images."""
    override = tmp_path_factory.mktemp("images") / "Pulumi.images.yaml"
    override.write_text(USE_CASES)
    cache: dict[str, Preview] = {}

    def get(size: str) -> Preview:
        if size not in cache:
            cache[size] = run_preview(load_project_config(ROOT, size, override))
        return cache[size]
    return get


def resources(preview: Preview, type_token: str) -> list[CapturedResource]:
    return [r for stack in preview.stacks for r in stack.captured.resources if r.type == type_token]


def stack_of(preview: Preview, tier: str) -> StackPreview:
    name = topology.stack_hosting(preview.size, tier).name
    return next(stack for stack in preview.stacks if stack.name == name)


def config_of(preview: Preview) -> PlatformConfig:
    return stack_of(preview, "cicd").config


def named(preview: Preview, type_token: str, name: str, key: str = "name") -> CapturedResource:
    (found,) = [r for r in resources(preview, type_token) if r.inputs.get(key) == name]
    return found


def role_statements(preview: Preview, role_name: str) -> dict[str, dict[str, Any]]:
    role = named(preview, ROLE, role_name)
    (policy,) = [p for p in resources(preview, ROLE_POLICY) if policy_of(role)(p)]
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def policy_of(role: CapturedResource) -> Callable[[CapturedResource], bool]:
    """Whether a role policy is `role`'s inline policy (a PlatformRole names both alike, under one parent)."""
    return lambda policy: policy.name == role.name and policy.parent == role.parent


def role_arn(cfg: PlatformConfig, tier: str, role_name: str) -> str:
    return contract.role_arn("aws", cfg.account_of_tier(tier), role_name)


def repository_arn(cfg: PlatformConfig, use_case: str) -> str:
    return naming.ecr_repository_arn(REGION, cfg.account_of_tier("artifact"),
                                     contract.container_repository_name(use_case))


# --- the config --------------------------------------------------------------------------------------------

def test_an_image_declares_its_context_and_its_dockerfile_defaults_inside_it() -> None:
    raw = valid_raw("large", promotion=PROMOTION,
                    useCases=[{"name": "churn", "image": {"context": "images/churn/"}},
                              {"name": "fraud", "image": {"context": "ml", "dockerfile": "d/Dockerfile"}}])
    churn, fraud = parse_config(raw, "cicd", "acme").use_cases
    assert churn.image == UseCaseImage(context="images/churn", dockerfile="images/churn/Dockerfile")
    assert churn.image.trigger_paths == ("images/churn/**",)
    assert fraud.image is not None and fraud.image.trigger_paths == ("ml/**", "d/Dockerfile")


@pytest.mark.parametrize("image, key", [
    ("images/churn", "useCases[0].image"),
    ({"dockerfile": "Dockerfile"}, "useCases[0].image.context"),
    ({"context": "../outside"}, "useCases[0].image.context"),
    ({"context": "/etc"}, "useCases[0].image.context"),
    ({"context": "images/*"}, "useCases[0].image.context"),
    ({"context": "images", "dockerfile": "a/./Dockerfile"}, "useCases[0].image.dockerfile"),
    ({"context": "images", "tag": "latest"}, "useCases[0].image.tag"),
], ids=["not-a-map", "no-context", "dot-dot", "absolute", "wildcard", "dot-segment", "unknown-field"])
def test_a_bad_image_is_one_error_naming_its_key(image: Any, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(valid_raw("large", promotion=PROMOTION, useCases=[{"name": "churn", "image": image}]), "cicd",
                     "acme")
    assert error.value.key == key


def test_the_small_size_refuses_an_image_it_could_never_build() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(valid_raw("small", promotion=PROMOTION,
                               useCases=[{"name": "churn", "image": {"context": "images/churn"}}]), "dev", "acme")
    assert error.value.key == "useCases[0].image"
    assert "builds no images" in error.value.allowed


def test_an_image_needs_the_repository_its_pipeline_builds_from() -> None:
    raw = valid_raw("medium", useCases=[{"name": "churn", "serve": False, "image": {"context": "images/churn"}}])
    raw.pop("promotion", None)
    raw.pop("ci", None)
    with pytest.raises(ConfigError) as error:
        parse_config(raw, "dev", "acme")
    assert error.value.key == "useCases[0].image" and "promotion.repository" in error.value.allowed
    codecommit = {**raw, "promotion": {"repository": "acme/mlops"}, "codeRepository": {"provider": "CodeCommit"}}
    with pytest.raises(ConfigError) as error:
        parse_config(codecommit, "dev", "acme")
    assert error.value.key == "codeRepository.provider"


# --- the pipelines and builds ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_previews_with_image_builds_pass_every_check(size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    assert preview.mandatory_violations == 0, [v.message for stack in preview.stacks for v in stack.mandatory]
    assert preview.access is not None
    assert preview.access.passed, [r.flow.name for r in preview.access.broken]
    assert preview.reachability is not None and preview.reachability.passed
    assert preview.network_paths is not None and preview.network_paths.passed


@pytest.mark.parametrize("size", ["medium", "large"])
def test_each_imaged_use_case_gets_a_v2_pipeline_triggered_by_its_context(
        size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    cicd = stack_of(preview, "cicd")
    for use_case in IMAGED:
        pipeline = named(preview, PIPELINE, contract.image_pipeline_name(use_case))
        assert pipeline.urn.split("::")[-1] == f"cicd-{use_case}-image" and pipeline in cicd.captured.resources
        assert (pipeline.inputs["pipelineType"], pipeline.inputs["executionMode"]) == ("V2", "SUPERSEDED")
        (trigger,) = pipeline.inputs["triggers"]
        (push,) = trigger["gitConfiguration"]["pushes"]
        assert push["filePaths"]["includes"] == TRIGGERS[use_case] and push["branches"]["includes"] == ["main"]
        source, build = (stage["actions"][0] for stage in pipeline.inputs["stages"])
        assert [stage["name"] for stage in pipeline.inputs["stages"]] == ["Source", "Build"]
        assert source["namespace"] == SOURCE_NAMESPACE and "DetectChanges" not in source["configuration"]
        assert build["configuration"]["ProjectName"] == contract.image_build_project_name(use_case)
        assert json.loads(build["configuration"]["EnvironmentVariables"]) == [
            {"name": "COMMIT_ID", "value": "#{Source.CommitId}", "type": "PLAINTEXT"}]
        statements = role_statements(preview, contract.image_pipeline_role_name(use_case))
        assert statements["RunTheBuild"]["Resource"] == [named(
            preview, PROJECT, contract.image_build_project_name(use_case)).outputs["arn"]]


@pytest.mark.parametrize("size", ["medium", "large"])
def test_each_build_pushes_its_own_repository_under_the_commit_and_records_in_ops(
        size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    cfg = config_of(preview)
    for use_case in IMAGED:
        project = named(preview, PROJECT, contract.image_build_project_name(use_case))
        assert project.inputs["source"] == {"type": "CODEPIPELINE", "buildspec": IMAGE_BUILDSPEC}
        environment = project.inputs["environment"]
        assert environment["privilegedMode"] is True and environment["imagePullCredentialsType"] == "CODEBUILD"
        variables = {v["name"]: v["value"] for v in environment["environmentVariables"]}
        image = next(u.image for u in cfg.use_cases if u.name == use_case)
        assert image is not None
        recorder = role_arn(cfg, "ops", contract.image_recorder_role_name(use_case))
        assert variables == {
            "REGISTRY": naming.ecr_registry_hostname(REGION, cfg.account_of_tier("artifact")),
            "REGISTRY_ACCOUNT": cfg.account_of_tier("artifact"),
            "REPOSITORY_NAME": contract.container_repository_name(use_case), "FAIL_SEVERITY": "HIGH",
            "CONTEXT": image.context, "DOCKERFILE": image.dockerfile, "TAG_SOURCE": "commit",
            "RECORD_PARAMETER": contract.image_record_parameter(use_case), "RECORDER_ROLE_ARN": recorder}
        assert project.inputs["serviceRole"] == named(
            preview, ROLE, contract.image_build_role_name(use_case)).outputs["arn"]
        statements = role_statements(preview, contract.image_build_role_name(use_case))
        assert statements["PushItsImageOnly"]["Resource"] == [repository_arn(cfg, use_case)]
        assert statements["RecordTheImage"] == {"Sid": "RecordTheImage", "Effect": "Allow",
                                                "Action": ["sts:AssumeRole"], "Resource": [recorder]}


def test_the_monitoring_image_keeps_its_content_tag_and_records_nothing(
        imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    project = named(preview, PROJECT, contract.monitoring_image_build_project_name())
    variables = {v["name"]: v["value"] for v in project.inputs["environment"]["environmentVariables"]}
    assert (variables["TAG_SOURCE"], variables["CONTEXT"], variables["RECORD_PARAMETER"]) == (
        "content", "images/monitoring", "")
    assert "RecordTheImage" not in role_statements(preview, contract.monitoring_image_build_role_name())
    privileged = sorted(p.inputs["name"] for p in resources(preview, PROJECT)
                        if p.inputs["environment"]["privilegedMode"])
    assert privileged == sorted([contract.monitoring_image_build_project_name(),
                                 *(contract.image_build_project_name(u) for u in IMAGED)])


# --- the repositories --------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_only_its_build_role_pushes_a_use_cases_repository(size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    cfg = config_of(preview)
    artifact = stack_of(preview, "artifact")
    for use_case in IMAGED:
        repository = named(preview, "aws:ecr/repository:Repository", contract.container_repository_name(use_case))
        assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
        assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        policy = next(p for p in artifact.captured.resources if p.type == REPOSITORY_POLICY
                      and p.inputs["repository"] == repository.outputs["name"])
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        build = role_arn(cfg, "cicd", contract.image_build_role_name(use_case))
        assert statements["OnlyTheImageBuildPushes"] == {
            "Sid": "OnlyTheImageBuildPushes", "Effect": "Deny", "Principal": "*",
            "Action": ["ecr:CompleteLayerUpload", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": build}}}
        if cfg.account_of_tier("cicd") == cfg.account_of_tier("artifact"):
            assert "ImageBuildPushes" not in statements  # its own account: the build role's policy suffices
        else:
            pushes = statements["ImageBuildPushes"]
            assert pushes["Principal"] == {"AWS": [naming.account_root_arn("aws", cfg.account_of_tier("cicd"))]}
            assert pushes["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [build]}}
            pullers = statements["OtherAccountsPull"]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
            assert role_arn(cfg, "ops", contract.retraining_role_name(use_case)) in pullers
            assert {role_arn(cfg, tier, contract.model_role_name(use_case, tier))
                    for tier in topology.SERVING_TIERS} <= set(pullers)


# --- recording and training the image ----------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_recorder_trusts_only_the_build_and_writes_only_its_record(
        size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    cfg = config_of(preview)
    for use_case in IMAGED:
        recorder = named(preview, ROLE, contract.image_recorder_role_name(use_case))
        (trust,) = json.loads(recorder.inputs["assumeRolePolicy"])["Statement"]
        assert trust["Principal"] == {"AWS": naming.account_root_arn("aws", cfg.account_of_tier("cicd"))}
        assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": role_arn(
            cfg, "cicd", contract.image_build_role_name(use_case))}}
        record = naming.ssm_parameter_arn(REGION, cfg.account_of_tier("ops"), contract.image_record_parameter(use_case))
        (write,) = role_statements(preview, contract.image_recorder_role_name(use_case)).values()
        assert (write["Action"], write["Resource"]) == (["ssm:PutParameter"], [record])


@pytest.mark.parametrize("size", ["medium", "large"])
def test_every_automatic_start_goes_through_the_starter_with_the_recorded_image(
        size: str, imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview(size)
    ops = stack_of(preview, "ops")
    for use_case in IMAGED:
        function = named(preview, "aws:lambda/function:Function", contract.retraining_starter_function_name(use_case))
        assert function.inputs["environment"]["variables"] == {
            "PIPELINE_NAME": contract.pipeline_name(use_case),
            "IMAGE_PARAMETER": contract.image_record_parameter(use_case),
            "PIPELINE_PARAMETER": contract.TRAINING_IMAGE_PARAMETER}
        schedule = named(preview, "aws:scheduler/schedule:Schedule", f"{contract.pipeline_name(use_case)}-schedule")
        assert schedule.inputs["target"]["arn"] == function.outputs["arn"]
        assert json.loads(schedule.inputs["target"]["input"]) == {"reason": "scheduled retraining",
                                                                  "id": "<aws.scheduler.execution-id>"}
        schedule_role = role_statements(preview, contract.retraining_schedule_role_name(use_case))
        assert list(schedule_role) == ["InvokeThePipelinesStarter"]
        rule = named(preview, "aws:cloudwatch/eventRule:EventRule", contract.retrain_on_drift_rule_name(use_case))
        (target,) = [t for t in resources(preview, "aws:cloudwatch/eventTarget:EventTarget")
                     if t.inputs["rule"] == rule.outputs["name"]]
        assert target.inputs["arn"] == function.outputs["arn"] and "roleArn" not in target.inputs
        assert not [r for r in resources(preview, ROLE)
                    if r.inputs["name"] == contract.role_name("ops", f"{use_case}-retrain-on-drift")]
        starter = role_statements(preview, contract.retraining_starter_role_name(use_case))
        assert starter["StartOnePipeline"]["Action"] == ["sagemaker:StartPipelineExecution"]
        assert starter["ReadTheImageRecord"]["Action"] == ["ssm:GetParameter"]
        trigger = ops.captured.outputs[contract.export_key("ops", "retrainingTriggers")][use_case]
        assert f"Name={contract.TRAINING_IMAGE_PARAMETER},Value=\"$(aws ssm get-parameter --name " \
               f"{contract.image_record_parameter(use_case)}" in trigger


def test_the_pipeline_trains_evaluates_and_registers_the_training_image_parameter(
        imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    pipeline = named(preview, "aws:sagemaker/pipeline:Pipeline", contract.pipeline_name("churn"), "pipelineName")
    definition = json.loads(pipeline.inputs["pipelineDefinition"])
    (parameter,) = [p for p in definition["Parameters"] if p["Name"] == contract.TRAINING_IMAGE_PARAMETER]
    assert parameter["Type"] == "String" and "sagemaker-xgboost" in parameter["DefaultValue"]
    reference = {"Get": f"Parameters.{contract.TRAINING_IMAGE_PARAMETER}"}
    steps = {step["Name"]: step for step in definition["Steps"]}
    train = next(s for s in steps.values() if s["Type"] == "Training")
    assert train["Arguments"]["AlgorithmSpecification"]["TrainingImage"] == reference
    text = json.dumps(definition)
    assert text.count(json.dumps(reference)) >= 3, "training, evaluation and the registered model use it"


# --- the buildspec -----------------------------------------------------------------------------------------

def buildspec_commands() -> list[str]:
    spec = yaml.safe_load((ROOT / IMAGE_BUILDSPEC).read_text())
    return [command for phase in spec["phases"].values() for command in phase["commands"]]


def tag_script() -> str:
    return next(c for c in buildspec_commands() if "TAG_SOURCE" in c)


@pytest.mark.parametrize("environment, status, tag", [
    ({"TAG_SOURCE": "commit", "COMMIT_ID": "0123abcd"}, 0, "0123abcd"),
    ({"TAG_SOURCE": "commit"}, 1, ""),
    ({"TAG_SOURCE": "latest", "COMMIT_ID": "0123abcd"}, 1, ""),
], ids=["commit", "no-commit-id", "unknown-source"])
def test_the_tag_is_the_commit_and_a_missing_one_fails_the_build(environment: dict[str, str], status: int,
                                                                 tag: str) -> None:
    result = subprocess.run(["bash", "-c", tag_script() + '\necho "TAG=$TAG"'], env={"PATH": "/usr/bin:/bin",
                            **environment}, capture_output=True, text=True, check=False)
    assert result.returncode == status
    if status == 0:
        assert result.stdout.strip().splitlines()[-1] == f"TAG={tag}"


def test_the_record_comes_after_the_scan_gate_and_only_where_a_record_is_named() -> None:
    run = buildspec_commands()
    gate = run.index('python3 -m uv run --locked python -m mlops_platform.promotion.scan_gate "$TAG"')
    record = next(i for i, c in enumerate(run) if "mlops_platform.promotion.image_record" in c)
    assert gate < record == len(run) - 1
    assert run[record].startswith('if [ -n "$RECORD_PARAMETER" ]; then')


# --- the record and the starter against moto ---------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


IMAGE = "333333333333.dkr.ecr.eu-west-1.amazonaws.com/mlops-platform/churn:0123456789abcdef0123456789abcdef01234567"


def test_the_build_records_the_image_as_the_recorder_and_the_starter_trains_it(
        aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    parameter = contract.image_record_parameter("churn")
    recorder = contract.role_arn("aws", "123456789012", contract.image_recorder_role_name("churn"))
    monkeypatch.setenv("RECORDER_ROLE_ARN", recorder)
    monkeypatch.setenv("RECORD_PARAMETER", parameter)
    monkeypatch.setenv("AWS_REGION", REGION)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    definition = {"Version": "2020-12-01", "Parameters": [
        {"Name": contract.TRAINING_IMAGE_PARAMETER, "Type": "String", "DefaultValue": "xgboost"}], "Steps": []}
    sagemaker.create_pipeline(PipelineName=contract.pipeline_name("churn"), RoleArn=recorder,
                              PipelineDefinition=json.dumps(definition))
    monkeypatch.setenv("PIPELINE_NAME", contract.pipeline_name("churn"))
    monkeypatch.setenv("IMAGE_PARAMETER", parameter)
    monkeypatch.setenv("PIPELINE_PARAMETER", contract.TRAINING_IMAGE_PARAMETER)
    ssm = boto3.client("ssm", region_name=REGION)
    with pytest.raises(start_retraining.NoRecordedImage, match="run the use case's image pipeline"):
        start_retraining.handler({"reason": "scheduled retraining"}, None, sagemaker, ssm)

    assert image_record.main([IMAGE.replace(":0123", ":old0123")]) == 0
    assert image_record.main([IMAGE]) == 0
    assert ssm.get_parameter(Name=parameter)["Parameter"]["Value"] == IMAGE
    started = start_retraining.handler({"reason": "scheduled retraining"}, None, sagemaker, ssm)
    assert started["image"] == IMAGE
    execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=started["pipelineExecutionArn"])
    assert execution["PipelineExecutionDescription"] == "scheduled retraining"
    (step_parameters,) = [sagemaker.list_pipeline_parameters_for_execution(
        PipelineExecutionArn=started["pipelineExecutionArn"])["PipelineParameters"]]
    assert step_parameters == [{"Name": contract.TRAINING_IMAGE_PARAMETER, "Value": IMAGE}]
    assert "recorded " in capsys.readouterr().out


def test_the_record_step_refuses_a_missing_uri_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_record.main([]) == 2
    monkeypatch.delenv("RECORDER_ROLE_ARN", raising=False)
    assert image_record.main([IMAGE]) == 2


def test_a_drift_event_is_described_and_its_id_is_the_request_token() -> None:
    event = {"id": "7bf73129-1428-4cd3-a780-95db273d1602", "source": contract.DRIFT_EVENT_SOURCE,
             "detail-type": contract.DRIFT_EVENT_DETAIL_TYPE, "detail": {"retrain": True}}
    assert start_retraining.request_token(event) == event["id"]
    assert start_retraining.request_token({"id": "short"}) is None
    assert start_retraining.description(event) == (f"{contract.DRIFT_EVENT_DETAIL_TYPE} "
                                                    f"({contract.DRIFT_EVENT_SOURCE}) asked for retraining")


def test_a_record_that_is_not_an_image_is_refused(aws: None) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name=contract.image_record_parameter("churn"), Value="latest", Type="String")
    with pytest.raises(start_retraining.NoRecordedImage, match="not an ECR image URI"):
        start_retraining.recorded_image(ssm, contract.image_record_parameter("churn"))


# --- the access matrix, each grant broken on purpose -------------------------------------------------------

def matrix_without(preview: Preview, edit: Callable[[CapturedResource], CapturedResource]) -> AccessMatrix:
    stacks: list[CapturedStack] = [dataclasses.replace(s.captured, resources=[edit(r) for r in s.captured.resources])
                                   for s in preview.stacks]
    return access_matrix.check(preview.stacks[0].config, stacks)


def dropping(type_token: str, key: str, sid: str, where: Callable[[CapturedResource], bool]) -> Callable[
        [CapturedResource], CapturedResource]:
    def edit(resource: CapturedResource) -> CapturedResource:
        if resource.type != type_token or not where(resource):
            return resource
        document = json.loads(resource.inputs[key])
        document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
        return dataclasses.replace(resource, inputs={**resource.inputs, key: json.dumps(document)})
    return edit


def broken(matrix: AccessMatrix) -> set[str]:
    return {result.flow.name for result in matrix.broken}


def test_without_the_cross_account_push_grant_only_the_churn_push_breaks(
        imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    churn = named(preview, "aws:ecr/repository:Repository", contract.container_repository_name("churn"))
    matrix = matrix_without(preview, dropping(REPOSITORY_POLICY, "policy", "ImageBuildPushes",
                                              lambda r: r.inputs["repository"] == churn.outputs["name"]))
    assert broken(matrix) == {"churn: its image build pushes its image (ecr:InitiateLayerUpload)",
                              "churn: its image build pushes its image (ecr:PutImage)"}


def test_without_the_sole_pusher_deny_the_deploy_role_could_push(imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("medium")  # one account hosts the artifact, cicd and ops tiers
    churn = named(preview, "aws:ecr/repository:Repository", contract.container_repository_name("churn"))
    matrix = matrix_without(preview, dropping(REPOSITORY_POLICY, "policy", "OnlyTheImageBuildPushes",
                                              lambda r: r.inputs["repository"] == churn.outputs["name"]))
    assert broken(matrix) == {"the artifact tier's deploy role cannot push the churn image"}


@pytest.mark.parametrize("sid, flows", [
    ("RecordTheImage", {"churn: its image build assumes the recorder role"}),
    ("PushItsImageOnly", {"churn: its image build pushes its image (ecr:InitiateLayerUpload)",
                          "churn: its image build pushes its image (ecr:PutImage)"}),
])
def test_each_build_role_grant_carries_exactly_its_flows(sid: str, flows: set[str],
                                                         imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    role = named(preview, ROLE, contract.image_build_role_name("churn"))
    matrix = matrix_without(preview, dropping(ROLE_POLICY, "policy", sid,
                                              policy_of(role)))
    assert broken(matrix) == flows


@pytest.mark.parametrize("role_name, sid, flows", [
    (contract.image_recorder_role_name("churn"), "RecordTheImage",
     {"churn: the recorder role writes the image record"}),
    (contract.retraining_starter_role_name("churn"), "ReadTheImageRecord",
     {"churn: the retraining starter reads the image record"}),
])
def test_the_record_is_written_and_read_only_through_its_grants(role_name: str, sid: str, flows: set[str],
                                                                imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    role = named(preview, ROLE, role_name)
    matrix = matrix_without(preview, dropping(ROLE_POLICY, "policy", sid,
                                              policy_of(role)))
    assert broken(matrix) == flows


def test_a_recorder_that_does_not_trust_the_cicd_account_breaks_only_the_builds_record(
        imaged_preview: Callable[[str], Preview]) -> None:
    preview = imaged_preview("large")
    ops_root = naming.account_root_arn("aws", config_of(preview).account_of_tier("ops"))

    def untrusting(resource: CapturedResource) -> CapturedResource:
        if resource.type != ROLE or resource.inputs["name"] != contract.image_recorder_role_name("churn"):
            return resource
        document = json.loads(resource.inputs["assumeRolePolicy"])
        for statement in document["Statement"]:
            statement["Principal"] = {"AWS": ops_root}
        return dataclasses.replace(resource, inputs={**resource.inputs, "assumeRolePolicy": json.dumps(document)})

    assert broken(matrix_without(preview, untrusting)) == {"churn: its image build assumes the recorder role"}
