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

import boto3  # type: ignore[import-untyped]
import pytest
import yaml
from botocore.credentials import Credentials
from moto import mock_aws
from moto.events.models import EventPattern
from moto.events.utils import EventMessageType

from mlops_platform import contract, events, iam_policy, naming, topology
from mlops_platform.components.promotion_pipeline import DEPLOY_BUILDSPEC, STAGING_TEST_BUILDSPEC
from mlops_platform.functions import start_promotion
from mlops_platform.functions.environment import ConfigurationError
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.preview import Preview, StackPreview
from mlops_platform.promotion import PULUMI_CLI_VERSION, record, staging_test

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"


def stack_of(preview: Preview, name: str) -> StackPreview:
    return next(stack for stack in preview.stacks if stack.name == name)


def of_type(stack: StackPreview, type_token: str) -> list[CapturedResource]:
    return [r for r in stack.captured.resources if r.type == type_token]


def every(preview: Preview, type_token: str) -> list[CapturedResource]:
    return [r for stack in preview.stacks for r in of_type(stack, type_token)]


def sample(name: str, group: str = "churn") -> EventMessageType:
    event: EventMessageType = json.loads((EVENTS / f"{name}.json").read_text())
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
    (pipeline,) = [p for p in of_type(cicd, PIPELINE) if p.inputs["name"] != contract.MONITORING_IMAGE_PIPELINE]
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
    (pipeline,) = [p for p in every(preview, PIPELINE) if p.inputs["name"] == contract.promotion_pipeline_name("churn")]
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
    assert [f for f in every(shipped_preview("small"), "aws:lambda/function:Function")
            if f.inputs.get("name") == "churn-prod-deploy-on-approval"]
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
    with pytest.raises(ConfigurationError, match="PIPELINE_NAME"):
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
    (statement,) = iam_policy.parse(staging_test.invoke_only_policy(url, "eu-west-1", "777777777777"))
    assert statement.allows and statement.actions == ("execute-api:Invoke",)
    assert statement.resources == ("arn:aws:execute-api:eu-west-1:777777777777:a1b2c3/*/POST/invocations",)


# --- config ------------------------------------------------------------------------------------------------

from mlops_platform.config import ConfigError, parse_config  # noqa: E402
from tests.test_config import valid_raw  # noqa: E402


def config_error(raw: dict[str, Any], stack: str = "dev") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(raw, stack, "organization")
    return info.value


def test_the_promotion_repository_defaults_to_ci_and_may_be_its_own() -> None:
    ci = {"github": {"repository": "acme/platform"}}
    assert parse_config(valid_raw("medium", ci=ci), "dev", "o").promotion.repository == "acme/platform"
    own = parse_config(valid_raw("medium", ci=ci, promotion={"repository": "acme/mlops", "branch": "release"}),
                       "dev", "o").promotion
    assert (own.repository, own.branch, own.image_scan_fail_severity) == ("acme/mlops", "release", "HIGH")
    assert parse_config(valid_raw("medium"), "dev", "o").state_backend.kind == "s3"


@pytest.mark.parametrize("raw, key, fragment", [
    (valid_raw("medium", promotion={"repository": "acme/*"}), "promotion.repository", "owner/repo"),
    (valid_raw("medium", promotion={"branch": "../main"}), "promotion.branch", "git branch name"),
    (valid_raw("medium", promotion={"imageScanFailSeverity": "SEVERE"}), "promotion.imageScanFailSeverity",
     "one of: CRITICAL, HIGH, MEDIUM, LOW"),
    (valid_raw("medium", promotion={"repo": "acme/x"}), "promotion.repo", "unknown field"),
    (valid_raw("medium", stateBackend={"kind": "local"}), "stateBackend.kind", "one of: s3, pulumi-cloud"),
    (valid_raw("medium", useCases=["churn"], promotion={"repository": "acme/x"},
               codeRepository={"provider": "CodeCommit"}), "codeRepository.provider", "CodeConnections connection"),
], ids=["wildcard", "bad-branch", "bad-severity", "unknown-field", "bad-backend", "codecommit"])
def test_bad_promotion_config_is_one_clear_error(raw: dict[str, Any], key: str, fragment: str) -> None:
    error = config_error(raw)
    assert error.key == key and fragment in str(error)


def test_without_a_repository_there_is_no_promotion_repository() -> None:
    assert parse_config(valid_raw("small", useCases=["churn"]), "dev", "o").promotion.repository is None
    assert parse_config(valid_raw("medium", useCases=["churn"]), "dev", "o").promotion.repository is None


# --- the state backend -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_state_bucket_is_versioned_encrypted_private_logged_protected_and_admits_the_pipeline_role(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    cicd = stack_of(preview, topology.stack_hosting(topology.Size(size), "cicd").name)
    bucket = next(b for b in of_type(cicd, "aws:s3/bucket:Bucket") if b.name == "cicd-state")
    assert bucket.protect
    key = next(k for k in of_type(cicd, "aws:kms/key:Key") if k.name == "cicd-state-key")
    assert key.protect and key.inputs["enableKeyRotation"] is True
    alias = next(a for a in of_type(cicd, "aws:kms/alias:Alias") if a.name == "cicd-state-key")
    assert alias.inputs["name"] == f"alias/{contract.STATE_SECRETS_KEY_ALIAS}"
    for type_token in ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketLogging:BucketLogging",
                       "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"):
        assert [r for r in of_type(cicd, type_token) if r.name == "cicd-state"], type_token
    encryption = next(r for r in of_type(cicd, "aws:s3/bucketServerSideEncryptionConfiguration:"
                                               "BucketServerSideEncryptionConfiguration") if r.name == "cicd-state")
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key.outputs["arn"]
    policy = next(p for p in of_type(cicd, "aws:s3/bucketPolicy:BucketPolicy") if p.name == "cicd-state")
    grants = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    role = contract.deploy_pipeline_role_arn("aws", cicd.config.account_of_tier("cicd"))
    assert grants["PipelineKeepsState"]["Principal"] == {"AWS": role}
    assert set(grants["PipelineKeepsState"]["Action"]) == {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}
    assert cicd.captured.outputs[contract.export_key("cicd", "stateBackendUrl")].startswith(
        f"s3://{bucket.outputs['bucket']}?region=")


def medium_with(tmp_path: Path, body: str) -> Preview:
    from mlops_platform.offline.preview import run_preview
    from mlops_platform.offline.stack_config import load_project_config

    override = tmp_path / "Pulumi.override.yaml"
    override.write_text("config:\n" + body)
    return run_preview(load_project_config(ROOT, "medium", override), only_stack="dev", evaluate_policies=False)


def test_with_pulumi_cloud_the_builds_read_the_token_from_secrets_manager(tmp_path: Path) -> None:
    dev = stack_of(medium_with(tmp_path, "  mlops-platform:stateBackend: {kind: pulumi-cloud}\n"), "dev")
    assert not [b for b in of_type(dev, "aws:s3/bucket:Bucket") if b.name == "cicd-state"]
    (secret,) = of_type(dev, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == contract.PULUMI_ACCESS_TOKEN_SECRET and secret.inputs["kmsKeyId"]
    (policy,) = of_type(dev, "aws:secretsmanager/secretPolicy:SecretPolicy")
    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Principal"]["AWS"].endswith(f":role/{contract.DEPLOY_PIPELINE_ROLE_NAME}")
    for project in of_type(dev, PROJECT):
        if project.inputs["name"] == contract.monitoring_image_build_project_name():
            continue
        variables = {v["name"]: v for v in project.inputs["environment"]["environmentVariables"]}
        assert variables["PULUMI_ACCESS_TOKEN"] == {"name": "PULUMI_ACCESS_TOKEN", "value": secret.outputs["arn"],
                                                    "type": "SECRETS_MANAGER"}
        assert variables["PULUMI_BACKEND_URL"]["value"] == "https://api.pulumi.com"


# --- the monitoring image build ----------------------------------------------------------------------------

@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_image_build_is_the_one_privileged_project_and_pushes_only_the_monitoring_image(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview(size)
    privileged = [p for p in every(preview, PROJECT) if p.inputs["environment"]["privilegedMode"]]
    assert [p.inputs["name"] for p in privileged] == [contract.monitoring_image_build_project_name()]
    (build,) = privileged
    assert build.inputs["source"] == {"type": "CODEPIPELINE", "buildspec": "buildspecs/image.yml"}
    assert build.inputs["serviceRole"].endswith(f":role/{contract.monitoring_image_build_role_name()}")
    policy = next(p for p in every(preview, "aws:iam/rolePolicy:RolePolicy")
                  if p.name == "cicd-monitoring-image-build")
    push = next(s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "PushItsImageOnly")
    artifact = stack_of(preview, "staging").config.account_of_tier("artifact")
    assert push["Resource"] == [naming.ecr_repository_arn("eu-west-1", artifact, contract.MONITORING_IMAGE_REPOSITORY)]
    pipeline = next(p for p in every(preview, PIPELINE) if p.inputs["name"] == contract.MONITORING_IMAGE_PIPELINE)
    assert pipeline.inputs["executionMode"] == "SUPERSEDED" and pipeline.inputs["pipelineType"] == "V2"
    (trigger,) = pipeline.inputs["triggers"]
    (push_filter,) = trigger["gitConfiguration"]["pushes"]
    assert push_filter["filePaths"]["includes"] == [contract.MONITORING_IMAGE_SOURCE_PATH]
    assert push_filter["branches"]["includes"] == ["main"]


def test_the_image_buildspec_tags_skips_existing_tags_and_gates_on_the_scan() -> None:
    run = commands("buildspecs/image.yml")
    tag = next(c for c in run if "TAG_SOURCE" in c)
    assert 'content) TAG="$(python3 -m uv run --locked python -m mlops_platform.monitoring_image tag)"' in tag
    build = next(c for c in run if "docker build" in c)
    assert "aws ecr describe-images" in build and build.index("describe-images") < build.index("docker push")
    assert 'docker build --pull -f "$DOCKERFILE" -t "$REGISTRY/$REPOSITORY_NAME:$TAG" "$CONTEXT"' in build
    gate = run.index('python3 -m uv run --locked python -m mlops_platform.promotion.scan_gate "$TAG"')
    assert gate == len(run) - 2 and "image_record" in run[-1]


from mlops_platform.promotion import scan_gate  # noqa: E402


@pytest.mark.parametrize("counts, severity, blocked", [
    ({"HIGH": 2, "LOW": 5}, "HIGH", {"HIGH": 2}),
    ({"MEDIUM": 1, "LOW": 5}, "HIGH", {}),
    ({"CRITICAL": 1}, "CRITICAL", {"CRITICAL": 1}),
    ({"LOW": 1, "INFORMATIONAL": 3}, "LOW", {"LOW": 1}),
    ({}, "LOW", {}),
])
def test_findings_at_or_above_the_severity_block_the_image(counts: dict[str, int], severity: str,
                                                           blocked: dict[str, int]) -> None:
    assert scan_gate.blocking(counts, severity) == blocked


def test_the_scan_gate_judges_the_scan_ecr_reports_against_moto(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    with mock_aws():
        ecr = boto3.client("ecr", region_name="eu-west-1")
        registry = ecr.create_repository(repositoryName=contract.MONITORING_IMAGE_REPOSITORY,
                                         imageScanningConfiguration={"scanOnPush": True})["repository"]["registryId"]
        ecr.put_image(repositoryName=contract.MONITORING_IMAGE_REPOSITORY, imageTag="sha256-abc",
                      imageManifest=json.dumps({"schemaVersion": 2, "layers": [], "mediaType":
                                                "application/vnd.docker.distribution.manifest.v2+json"}))
        ecr.start_image_scan(repositoryName=contract.MONITORING_IMAGE_REPOSITORY, imageId={"imageTag": "sha256-abc"})
        monkeypatch.setenv("REGISTRY_ACCOUNT", registry)
        monkeypatch.setenv("REPOSITORY_NAME", contract.MONITORING_IMAGE_REPOSITORY)
        monkeypatch.setenv("FAIL_SEVERITY", "CRITICAL")
        counts = scan_gate.finding_counts(ecr, registry, contract.MONITORING_IMAGE_REPOSITORY, "sha256-abc")
        critical = scan_gate.main(["sha256-abc"], ecr)
        monkeypatch.setenv("FAIL_SEVERITY", "LOW")
        low = scan_gate.main(["sha256-abc"], ecr)
    output = capsys.readouterr()
    assert critical == (1 if counts.get("CRITICAL") else 0)
    assert low == (1 if scan_gate.blocking(counts, "LOW") else 0)
    assert ("blocked by scan findings" in output.err) == bool(scan_gate.blocking(counts, "LOW"))


def test_the_event_id_is_the_request_token_so_a_duplicate_delivery_is_one_start() -> None:
    event = sample("model-package-approved")
    assert start_promotion.request_token(event) == event["id"]
    assert start_promotion.request_token({**event, "id": "a/b:c"}) == "a-b-c"
