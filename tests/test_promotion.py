"""Promotion in the sizes with an organization: approval → CodePipeline V2 → staging → test → manual gate → prod.

Captured stacks (the pipeline's stages, variable and roles; the builds; the starter; the forwarding of approvals
across accounts in large; the state backend), the buildspecs as files, the starter Lambda against moto, the deploy
step's `record` against moto and the staging test against a local HTTP server."""

from __future__ import annotations

import importlib.metadata
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import boto3
import pytest
import yaml
from botocore.credentials import Credentials
from moto import mock_aws
from moto.events.models import EventPattern

from mlops_platform import contract, events, naming, topology
from mlops_platform.components.promotion_pipeline import DEPLOY_BUILDSPEC, STAGING_TEST_BUILDSPEC
from mlops_platform.functions import start_promotion
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.preview import Preview, StackPreview
from mlops_platform.promotion import PULUMI_CLI_VERSION, record, staging_test

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "events"
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def every(preview: Preview, type_token: str) -> list[CapturedResource]:
    return [r for stack in preview.stacks for r in of_type(stack, type_token)]


def sample(name: str, group: str = "churn") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    arn = event["detail"]["ModelPackageArn"].replace("churn-model", group)
    event["detail"].update(ModelPackageGroupName=group, ModelPackageArn=arn)
    event["resources"] = [arn]
    return event


def env_vars(action: dict[str, Any]) -> dict[str, str]:
    return {v["name"]: v["value"] for v in json.loads(action["configuration"]["EnvironmentVariables"])}


def stages(pipeline: CapturedResource) -> dict[str, dict[str, Any]]:
    return {stage["name"]: stage["actions"][0] for stage in pipeline.inputs["stages"]}


# --- the pipeline ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_each_served_use_case_gets_a_v2_pipeline_with_the_package_variable(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cicd = stack_of(preview, topology.stack_hosting(topology.Size(size), "cicd").name)
    (pipeline,) = of_type(cicd, PIPELINE)
    assert pipeline.inputs["name"] == contract.promotion_pipeline_name("churn")
    assert pipeline.inputs["pipelineType"] == "V2"
    assert pipeline.inputs["executionMode"] == "QUEUED"
    assert [v["name"] for v in pipeline.inputs["variables"]] == [contract.PROMOTION_VARIABLE]
    (store,) = pipeline.inputs["artifactStores"]
    key = next(k for k in of_type(cicd, "aws:kms/key:Key") if k.name == "cicd-key")
    assert store["encryptionKey"] == {"id": key.outputs["arn"], "type": "KMS"}
    assert list(stages(pipeline)) == ["Source", "DeployStaging", "TestStaging", "Approve", "DeployProd"]


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_stages_carry_one_version_from_staging_to_prod(size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    sized = topology.Size(size)
    organization = stack_of(preview, "staging").config.stack_organization
    (pipeline,) = every(preview, PIPELINE)
    actions = stages(pipeline)
    source = actions["Source"]["configuration"]
    assert source["FullRepositoryId"] == "example-org/mlops-platform" and source["BranchName"] == "main"
    assert source["DetectChanges"] == "false", "pushes must not start a promotion; approvals do"
    staging, test, prod = (env_vars(actions[name]) for name in ("DeployStaging", "TestStaging", "DeployProd"))
    variable = f"#{{variables.{contract.PROMOTION_VARIABLE}}}"
    assert staging[contract.PROMOTION_VARIABLE] == prod[contract.PROMOTION_VARIABLE] == variable
    for tier, variables in (("staging", staging), ("prod", prod)):
        assert variables["STACK"] == contract.stack_reference_name(
            organization, topology.stack_hosting(sized, tier).name)
        assert variables["SERVED_MODEL_PARAMETER"] == contract.served_model_parameter(tier, "churn")
        assert variables["DEPLOY_ROLE_ARN"].split(":")[4] == stack_of(preview, tier).config.account_id
    assert prod["PASSED_PARAMETER"] == staging["SERVED_MODEL_PARAMETER"]
    assert prod["PASSED_ROLE_ARN"] == staging["DEPLOY_ROLE_ARN"] == test["DEPLOY_ROLE_ARN"]
    assert actions["Approve"]["provider"] == "Manual"
    topic = next(t for t in every(preview, "aws:sns/topic:Topic")
                 if t.inputs["name"] == contract.promotion_approval_topic_name("churn"))
    assert actions["Approve"]["configuration"]["NotificationArn"] == topic.outputs["arn"]
    assert topic.inputs["kmsMasterKeyId"]


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_builds_run_unprivileged_encrypted_as_the_pipeline_role_with_the_pinned_cli(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cicd_account = stack_of(preview, "staging").config.account_of_tier("cicd")
    projects = {p.inputs["name"]: p for p in every(preview, PROJECT)}
    for name, buildspec in ((contract.PROMOTION_DEPLOY_PROJECT, DEPLOY_BUILDSPEC),
                            (contract.PROMOTION_TEST_PROJECT, STAGING_TEST_BUILDSPEC)):
        project = projects[name]
        assert project.inputs["serviceRole"] == contract.deploy_pipeline_role_arn("aws", cicd_account)
        assert project.inputs["environment"]["privilegedMode"] is False
        assert project.inputs["encryptionKey"]
        assert project.inputs["source"] == {"type": "CODEPIPELINE", "buildspec": buildspec}
        assert project.inputs["logsConfig"]["cloudwatchLogs"]["status"] == "ENABLED"
        variables = {v["name"]: v for v in project.inputs["environment"]["environmentVariables"]}
        assert variables["PULUMI_VERSION"]["value"] == PULUMI_CLI_VERSION
        assert variables["PULUMI_BACKEND_URL"]["value"].startswith("s3://")


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_pipeline_role_reads_the_source_starts_its_builds_and_announces_the_gate(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    role = next(r for r in every(preview, "aws:iam/role:Role")
                if r.inputs["name"] == contract.promotion_pipeline_role_name("churn"))
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "codepipeline.amazonaws.com"}
    policy = next(p for p in every(preview, "aws:iam/rolePolicy:RolePolicy") if p.name == role.name)
    sids = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert set(sids) == {"ReadThePlatformsRepository", "PassArtifacts", "FindArtifacts", "EncryptArtifactsAndNotices",
                         "RunTheBuilds", "AnnounceTheGate"}
    assert len(sids["RunTheBuilds"]["Resource"]) == 2


def test_the_small_size_has_no_promotion_and_the_larger_sizes_no_approval_deployer(
        shipped_preview: Callable[..., Preview]) -> None:
    assert not every(shipped_preview("small"), PIPELINE)
    assert every(shipped_preview("small", serving=True), "mlops:serving:ApprovalDeployer") or any(
        "deploy-on-approval" in str(f.inputs.get("name")) for f in
        every(shipped_preview("small"), "aws:lambda/function:Function"))
    for size in ("medium", "large"):
        for serving in (False, True):
            functions = every(shipped_preview(size, serving=serving), "aws:lambda/function:Function")
            assert not [f for f in functions if "deploy-on-approval" in str(f.inputs.get("name"))]


# --- starting on approval ----------------------------------------------------------------------------------

def test_the_promotion_pattern_matches_aws_sample_approval_only() -> None:
    pattern = EventPattern.load(json.dumps(events.model_package_approved_pattern("churn")))
    assert pattern.matches_event(sample("model-package-approved"))
    assert not pattern.matches_event(sample("model-package-rejected"))
    assert not pattern.matches_event(sample("model-package-pending"))
    assert not pattern.matches_event(sample("model-package-approved", group="fraud"))


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_starter_rule_invokes_the_function_and_parks_failures(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    rule = next(r for r in every(preview, "aws:cloudwatch/eventRule:EventRule")
                if r.inputs["name"] == contract.promotion_rule_name("churn"))
    assert EventPattern.load(rule.inputs["eventPattern"]).matches_event(sample("model-package-approved"))
    function = next(f for f in every(preview, "aws:lambda/function:Function")
                    if f.inputs["name"] == contract.promotion_starter_function_name("churn"))
    assert function.inputs["deadLetterConfig"]["targetArn"].endswith(contract.promotion_dead_letter_queue_name("churn"))
    assert function.inputs["environment"]["variables"]["PIPELINE_NAME"] == contract.promotion_pipeline_name("churn")
    target = next(t for t in every(preview, "aws:cloudwatch/eventTarget:EventTarget")
                  if t.inputs["rule"] == rule.outputs["name"])
    assert target.inputs["arn"] == function.outputs["arn"] and target.inputs["deadLetterConfig"]["arn"]


def test_large_forwards_approvals_from_the_registry_account_to_the_cicd_bus(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    artifact, cicd = stack_of(preview, "artifact"), stack_of(preview, "cicd")
    region, cicd_account, artifact_account = cicd.config.region, cicd.config.account_id, artifact.config.account_id
    (rule,) = [r for r in of_type(artifact, "aws:cloudwatch/eventRule:EventRule")
               if r.inputs["name"] == contract.APPROVAL_FORWARDING_RULE]
    pattern = EventPattern.load(rule.inputs["eventPattern"])
    assert pattern.matches_event(sample("model-package-approved"))
    assert not pattern.matches_event(sample("model-package-rejected"))
    (target,) = [t for t in of_type(artifact, "aws:cloudwatch/eventTarget:EventTarget")
                 if t.inputs["rule"] == rule.outputs["name"]]
    bus = naming.event_bus_arn(region, cicd_account)
    assert target.inputs["arn"] == bus
    forwarder = contract.role_arn("aws", artifact_account, contract.approval_forwarder_role_name())
    assert target.inputs["roleArn"] == forwarder
    role_policy = next(p for p in of_type(artifact, "aws:iam/rolePolicy:RolePolicy") if "forwarding" in p.name)
    (statement,) = json.loads(role_policy.inputs["policy"])["Statement"]
    assert statement["Action"] == ["events:PutEvents"] and statement["Resource"] == [bus]
    (bus_policy,) = of_type(cicd, "aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    (admit,) = json.loads(bus_policy.inputs["policy"])["Statement"]
    assert admit["Principal"] == {"AWS": naming.account_root_arn("aws", artifact_account)}
    assert admit["Condition"]["ArnEquals"] == {"aws:PrincipalArn": forwarder}
    assert admit["Resource"] == bus and admit["Action"] == "events:PutEvents"


def test_medium_keeps_registry_and_pipelines_in_one_account_without_forwarding(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("medium")
    assert not every(preview, "aws:cloudwatch/eventBusPolicy:EventBusPolicy")
    assert not [r for r in every(preview, "aws:cloudwatch/eventRule:EventRule")
                if r.inputs["name"] == contract.APPROVAL_FORWARDING_RULE]


STARTER_ENV = {"PIPELINE_NAME": "churn-promotion", "MODEL_PACKAGE_GROUP_NAME": "churn",
               "PIPELINE_VARIABLE": contract.PROMOTION_VARIABLE, "AWS_DEFAULT_REGION": "eu-west-1"}


@pytest.fixture
def codepipeline(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in STARTER_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        role = boto3.client("iam").create_role(
            RoleName=contract.promotion_pipeline_role_name("churn"), AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))
        client = boto3.client("codepipeline", region_name="eu-west-1")
        client.create_pipeline(pipeline={
            "name": "churn-promotion", "roleArn": role["Role"]["Arn"],
            "artifactStore": {"type": "S3", "location": "artifacts"}, "pipelineType": "V2",
            "variables": [{"name": contract.PROMOTION_VARIABLE, "defaultValue": "none"}],
            "stages": [{"name": "Source", "actions": [{"name": "S", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "outputArtifacts": [{"name": "source"}], "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}}]},
                {"name": "Build", "actions": [{"name": "B", "actionTypeId": {
                    "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "inputArtifacts": [{"name": "source"}], "configuration": {"ProjectName": "p"}}]}]})
        yield client


def test_an_approval_starts_the_pipeline_with_the_package_variable(codepipeline: Any) -> None:
    event = sample("model-package-approved")
    result = start_promotion.handler(event, None, codepipeline)
    assert result["status"] == "started"
    execution = codepipeline.get_pipeline_execution(pipelineName="churn-promotion",
                                                    pipelineExecutionId=result["pipelineExecutionId"])
    assert execution["pipelineExecution"]["variables"] == [
        {"name": contract.PROMOTION_VARIABLE, "resolvedValue": event["detail"]["ModelPackageArn"]}]


@pytest.mark.parametrize("event, reason", [
    ("not an event", "not a JSON object"),
    ({"source": "aws.codebuild", "detail-type": "Build"}, "not a 'SageMaker Model Package State Change'"),
    (sample("model-package-approved", group="fraud"), "'fraud' is not 'churn'"),
    ({**sample("model-package-approved"), "detail": {**sample("model-package-approved")["detail"],
                                                    "ModelPackageArn": "arn:aws:sagemaker:eu-west-1:1:x"}},
     "is not a versioned package"),
], ids=["not-an-object", "another-source", "another-group", "no-version"])
def test_bad_events_are_rejected_with_one_logged_error_and_no_call(
        event: Any, reason: str, codepipeline: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = start_promotion.handler(event, None, codepipeline)
    assert result["status"] == "rejected" and reason in result["reason"]
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["level"] == "error"
    assert not codepipeline.list_pipeline_executions(pipelineName="churn-promotion")["pipelineExecutionSummaries"]


def test_a_pending_package_is_ignored(codepipeline: Any) -> None:
    assert start_promotion.handler(sample("model-package-pending"), None, codepipeline)["status"] == "ignored"


def test_a_missing_pipeline_is_raised_so_lambda_retries_then_parks_the_event(
        codepipeline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_NAME", "no-such-pipeline")
    with pytest.raises(codepipeline.exceptions.PipelineNotFoundException):
        start_promotion.handler(sample("model-package-approved"), None, codepipeline)


def test_a_missing_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIPELINE_NAME", raising=False)
    with pytest.raises(start_promotion.environment.ConfigurationError, match="PIPELINE_NAME"):
        start_promotion.Settings.from_env()


# --- the buildspecs ----------------------------------------------------------------------------------------

def commands(path: str) -> list[str]:
    spec = yaml.safe_load((ROOT / path).read_text())
    assert spec["version"] == 0.2
    return [command for phase in spec["phases"].values() for command in phase["commands"]]


@pytest.mark.parametrize("path", [DEPLOY_BUILDSPEC, STAGING_TEST_BUILDSPEC])
def test_the_buildspecs_install_the_pinned_cli_and_log_in_to_the_state_backend(path: str) -> None:
    run = commands(path)
    download = next(c for c in run if "pulumi-v${PULUMI_VERSION}-linux-x64.tar.gz" in c and c.startswith("curl"))
    assert "github.com/pulumi/pulumi/releases/download/v${PULUMI_VERSION}/" in download
    assert any("sha256sum -c" in c for c in run), "the CLI is checked against the release's checksums"
    assert 'pulumi login "$PULUMI_BACKEND_URL"' in run
    assert any("uv sync --locked" in c for c in run)


def test_the_pinned_cli_is_the_locked_python_sdks_release() -> None:
    assert importlib.metadata.version("pulumi") == PULUMI_CLI_VERSION


def test_the_deploy_buildspec_records_the_version_then_runs_pulumi_up_with_the_pack() -> None:
    run = commands(DEPLOY_BUILDSPEC)
    recorded = run.index("python3 -m uv run --locked python -m mlops_platform.promotion.record")
    up = next(i for i, c in enumerate(run) if c.startswith("pulumi up"))
    assert recorded < up
    assert run[up].split() == ["pulumi", "up", "--stack", '"$STACK"', "--yes", "--non-interactive",
                               "--policy-pack", "policies"]
    assert (ROOT / "policies" / "PulumiPolicy.yaml").is_file()


def test_the_staging_test_reads_the_staging_outputs_and_runs_the_test_module() -> None:
    run = commands(STAGING_TEST_BUILDSPEC)
    assert 'pulumi stack output --stack "$STACK" --json > staging-outputs.json' in run
    assert run[-1].endswith("python -m mlops_platform.promotion.staging_test --outputs staging-outputs.json")


# --- the deploy step: record the desired version -----------------------------------------------------------

PACKAGE = "arn:aws:sagemaker:eu-west-1:333333333333:model-package/churn/4"
RECORD_ENV = {"MODEL_PACKAGE_ARN": PACKAGE, "MODEL_PACKAGE_GROUP_NAME": "churn", "REGISTRY_ACCOUNT": "333333333333",
              "SERVED_MODEL_PARAMETER": contract.served_model_parameter("prod", "churn"),
              "DEPLOY_ROLE_ARN": "arn:aws:iam::123456789012:role/mlops-platform-deploy",
              "PASSED_PARAMETER": contract.served_model_parameter("staging", "churn"),
              "PASSED_ROLE_ARN": "arn:aws:iam::123456789012:role/mlops-platform-deploy"}


@pytest.fixture
def ssm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        yield boto3.client("ssm", region_name="eu-west-1")


def test_prod_records_the_version_that_passed_staging(ssm: Any) -> None:
    ssm.put_parameter(Name=RECORD_ENV["PASSED_PARAMETER"], Value=PACKAGE, Type="String")
    assert record.record(record.Promotion.from_env(RECORD_ENV)) == PACKAGE
    assert ssm.get_parameter(Name=RECORD_ENV["SERVED_MODEL_PARAMETER"])["Parameter"]["Value"] == PACKAGE


def test_prod_refuses_a_version_staging_does_not_serve(ssm: Any) -> None:
    ssm.put_parameter(Name=RECORD_ENV["PASSED_PARAMETER"], Value=PACKAGE.replace("/4", "/3"), Type="String")
    with pytest.raises(record.PromotionError, match="only the version that passed staging"):
        record.record(record.Promotion.from_env(RECORD_ENV))
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=RECORD_ENV["SERVED_MODEL_PARAMETER"])


def test_staging_records_without_a_passed_check(ssm: Any) -> None:
    env = {**RECORD_ENV, "SERVED_MODEL_PARAMETER": RECORD_ENV["PASSED_PARAMETER"], "PASSED_PARAMETER": ""}
    assert record.record(record.Promotion.from_env(env)) == PACKAGE


@pytest.mark.parametrize("override, message", [
    ({"MODEL_PACKAGE_ARN": "none"}, "is not a versioned model package ARN"),
    ({"MODEL_PACKAGE_ARN": PACKAGE.replace("churn", "fraud")}, "not a version of the 'churn' group"),
    ({"MODEL_PACKAGE_ARN": PACKAGE.replace("333333333333", "999999999999")}, "registry account 333333333333"),
    ({"DEPLOY_ROLE_ARN": ""}, "DEPLOY_ROLE_ARN is not set"),
], ids=["the-default", "another-group", "another-registry", "no-role"])
def test_bad_deploy_inputs_are_refused_naming_them(override: dict[str, str], message: str,
                                                   capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**RECORD_ENV, **override}.items():
        monkeypatch.setenv(name, value)
    assert record.main() == 2
    assert message in capsys.readouterr().err


# --- the test step: the staging API ------------------------------------------------------------------------

class _Api(BaseHTTPRequestHandler):
    answer: ClassVar[tuple[int, str]] = (200, "0.91\n0.12\n")
    seen: ClassVar[list[dict[str, str]]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append(dict(self.headers.items()))
        status, body = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def api() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Api.seen = []
    yield f"http://127.0.0.1:{server.server_port}/invocations"
    server.shutdown()


CREDENTIALS = Credentials("AKIDEXAMPLE", "secret", "token")
TWO_ROWS = "1,2,3\n4,5,6\n"


def test_the_staging_api_is_called_with_sigv4_and_holds_its_promises(api: str) -> None:
    _Api.answer = (200, "0.91\n0.12\n")
    answers = staging_test.run(api, TWO_ROWS, CREDENTIALS, "eu-west-1", calls=2, budget_ms=5000)
    assert [a.status for a in answers] == [200, 200]
    authorization = _Api.seen[0]["Authorization"]
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization
    assert _Api.seen[0]["X-Amz-Security-Token"] == "token"


@pytest.mark.parametrize("answer, budget, message", [
    ((500, "oops"), 5000, "status 500"),
    ((200, "0.91\n"), 5000, "1 scores for 2 request rows"),
    ((200, "yes\nno\n"), 5000, "not a number"),
    ((200, "0.1\n0.2\n"), 0, "over the 0 ms budget"),
], ids=["error-status", "missing-score", "not-scores", "too-slow"])
def test_a_broken_promise_fails_the_test(api: str, answer: tuple[int, str], budget: float, message: str) -> None:
    _Api.answer = answer
    with pytest.raises(staging_test.StagingTestFailed, match=message):
        staging_test.run(api, TWO_ROWS, CREDENTIALS, "eu-west-1", calls=1, budget_ms=budget)


def test_the_url_comes_from_the_staging_stacks_outputs() -> None:
    url = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/invocations"
    assert staging_test.staging_url({contract.export_key("staging", "inferenceUrls"): {"churn": url}}, "churn") == url
    with pytest.raises(staging_test.StagingTestFailed, match="no inference URL for 'fraud'"):
        staging_test.staging_url({contract.export_key("staging", "inferenceUrls"): {"churn": url}}, "fraud")


def test_the_test_session_may_only_invoke_the_staging_api() -> None:
    url = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/invocations"
    (statement,) = json.loads(staging_test.invoke_only_policy(url, "eu-west-1", "777777777777"))["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == "arn:aws:execute-api:eu-west-1:777777777777:a1b2c3/*/POST/invocations"
