"""Functions, APIs and builds: Lambda (no public invoke, supported runtime, failed async events kept), API
Gateway (every route authorized, access logs), CodeBuild (no plaintext secrets, privileged mode only for
container builds)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.policies.policy_harness import At, judge

ROLE = "arn:aws:iam::888888888888:role/mlops-prod-churn-deployer"
DLQ = "arn:aws:sqs:eu-west-1:888888888888:churn-prod-deploy-dlq"


def function(at: At, name: str = "deployer", runtime: Any = "python3.12", **extra: Any) -> aws.lambda_.Function:
    return aws.lambda_.Function(name, name=f"churn-prod-{name}", role=ROLE, handler="handler.handler",
                                runtime=runtime, code=pulumi.AssetArchive({}), opts=at("prod"), **extra)


# --- public invoke ---------------------------------------------------------------------------------------


def permission(**settings: Any) -> Any:
    def program(at: At) -> None:
        handler = function(at)
        aws.lambda_.Permission("invoke", function=handler.name, opts=at("prod"),
                               **{"action": "lambda:InvokeFunction", **settings})
    return program


@pytest.mark.parametrize("settings", [
    {"principal": "apigateway.amazonaws.com", "source_arn": "arn:aws:execute-api:eu-west-1:888888888888:a1/*/*/x"},
    {"principal": "events.amazonaws.com", "source_arn": "arn:aws:events:eu-west-1:888888888888:rule/r"},
    {"principal": "s3.amazonaws.com", "source_account": "888888888888"},
    {"principal": "777777777777"},
    {"principal": "*", "principal_org_id": "o-abcdef1234"},
], ids=["api", "events", "s3-own-account", "account", "organization"])
def test_scoped_invoke_permissions_pass(settings: dict[str, Any]) -> None:
    verdicts = judge(permission(**settings))
    assert "lambda-no-public-invoke" not in verdicts.mandatory


@pytest.mark.parametrize("settings", [
    {"principal": "*"},
    {"principal": "apigateway.amazonaws.com"},
    {"principal": "*", "action": "lambda:InvokeFunctionUrl", "function_url_auth_type": "NONE"},
], ids=["anyone", "any-api", "public-url"])
def test_public_invoke_permissions_are_blocked(settings: dict[str, Any]) -> None:
    assert "lambda-no-public-invoke" in judge(permission(**settings)).mandatory


@pytest.mark.parametrize("auth, violates", [("AWS_IAM", False), ("NONE", True)])
def test_function_urls_require_iam(auth: str, violates: bool) -> None:
    def program(at: At) -> None:
        handler = function(at)
        aws.lambda_.FunctionUrl("url", function_name=handler.name, authorization_type=auth, opts=at("prod"))
    assert ("lambda-no-public-invoke" in judge(program).mandatory) == violates


# --- runtimes --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("runtime, violates", [
    ("python3.12", False), ("nodejs22.x", False), ("python3.8", True), ("nodejs16.x", True), ("go1.x", True),
    (None, True),
])
def test_functions_run_on_supported_runtimes(runtime: str | None, violates: bool) -> None:
    def program(at: At) -> None:
        function(at, runtime=runtime)
    assert ("lambda-supported-runtime" in judge(program).mandatory) == violates


def test_container_image_functions_have_no_runtime_to_judge() -> None:
    def program(at: At) -> None:
        aws.lambda_.Function("image", role=ROLE, package_type="Image", image_uri="888888888888.dkr.ecr/x:1",
                             opts=at("prod"))
    assert "lambda-supported-runtime" not in judge(program).mandatory


# --- asynchronous invocation -----------------------------------------------------------------------------


def approval_deployer(keep_failures: str = "destination", invoker: str = "event-target") -> Any:
    """The approval deployer's wiring: an EventBridge rule invokes the function; failures go to a queue."""
    def program(at: At) -> None:
        extra: dict[str, Any] = {"dead_letter_config": {"target_arn": DLQ}} if keep_failures == "dead-letter" else {}
        handler = function(at, **extra)
        if keep_failures in ("destination", "config-without-destination"):
            destination: aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgsDict | None = (
                {"on_failure": {"destination": DLQ}} if keep_failures == "destination" else None)
            aws.lambda_.FunctionEventInvokeConfig("deployer", function_name=handler.name, maximum_retry_attempts=2,
                                                  destination_config=destination, opts=at("prod"))
        rule = aws.cloudwatch.EventRule("approved", event_pattern='{"source": ["aws.sagemaker"]}', opts=at("prod"))
        if invoker == "event-target":
            aws.cloudwatch.EventTarget("approved", rule=rule.name, arn=handler.arn, opts=at("prod"))
            aws.lambda_.Permission("approved", function=handler.name, action="lambda:InvokeFunction",
                                   principal="events.amazonaws.com", source_arn=rule.arn, opts=at("prod"))
        elif invoker == "schedule":
            aws.scheduler.Schedule("nightly", schedule_expression="rate(1 day)",
                                   flexible_time_window={"mode": "OFF"},
                                   target={"arn": handler.arn, "role_arn": ROLE}, opts=at("prod"))
        elif invoker == "sns":
            aws.sns.TopicSubscription("alerts", topic="arn:aws:sns:eu-west-1:888888888888:alerts", protocol="lambda",
                                      endpoint=handler.arn, opts=at("prod"))
        elif invoker == "api":
            aws.lambda_.Permission("api", function=handler.name, action="lambda:InvokeFunction",
                                   principal="apigateway.amazonaws.com", source_arn="arn:aws:execute-api:x",
                                   opts=at("prod"))
    return program


@pytest.mark.parametrize("keep_failures, invoker", [
    ("destination", "event-target"), ("dead-letter", "event-target"), ("none", "api"),
])
def test_async_functions_that_keep_failures_pass(keep_failures: str, invoker: str) -> None:
    assert "lambda-async-dead-letter" not in judge(approval_deployer(keep_failures, invoker)).mandatory


@pytest.mark.parametrize("keep_failures, invoker", [
    ("none", "event-target"), ("config-without-destination", "event-target"), ("none", "schedule"),
    ("none", "sns"),
])
def test_async_functions_that_drop_failures_are_blocked(keep_failures: str, invoker: str) -> None:
    verdicts = judge(approval_deployer(keep_failures, invoker))
    assert "lambda-async-dead-letter" in verdicts.mandatory
    assert any(urn.endswith("::deployer") for urn in verdicts.urns("lambda-async-dead-letter"))


# --- API Gateway -----------------------------------------------------------------------------------------

ACCESS_LOGS = {"destination_arn": "arn:aws:logs:eu-west-1:888888888888:log-group:/aws/apigateway/churn",
               "format": '{"requestId": "$context.requestId"}'}


def http_api(auth: Any = "AWS_IAM", logs: Any = ACCESS_LOGS, protocol: str = "HTTP", route_key: str = "POST /x",
             target: str | None = None) -> Any:
    def program(at: At) -> None:
        api = aws.apigatewayv2.Api("api", protocol_type=protocol, target=target, opts=at("prod"),
                                   route_selection_expression="$request.body.action" if protocol == "WEBSOCKET"
                                   else None)
        aws.apigatewayv2.Route("route", api_id=api.id, route_key=route_key, authorization_type=auth,
                               opts=at("prod"))
        aws.apigatewayv2.Stage("stage", api_id=api.id, name="$default", access_log_settings=logs, opts=at("prod"))
    return program


def test_an_iam_authorized_logged_api_passes() -> None:
    verdicts = judge(http_api())
    assert not {"apigateway-routes-authorized", "apigateway-access-logging"} & verdicts.mandatory


def test_a_websocket_authorizes_its_connection_not_each_message_route() -> None:
    verdicts = judge(http_api(auth="NONE", protocol="WEBSOCKET", route_key="sendmessage"))
    assert "apigateway-routes-authorized" not in verdicts.mandatory
    assert "apigateway-routes-authorized" in judge(http_api(auth="NONE", protocol="WEBSOCKET",
                                                            route_key="$connect")).mandatory


@pytest.mark.parametrize("program, rule", [
    (http_api(auth="NONE"), "apigateway-routes-authorized"),
    (http_api(auth=None), "apigateway-routes-authorized"),
    (http_api(target="arn:aws:lambda:eu-west-1:888888888888:function:f"), "apigateway-routes-authorized"),
    (http_api(logs=None), "apigateway-access-logging"),
    (http_api(logs={**ACCESS_LOGS, "format": ""}), "apigateway-access-logging"),
    (http_api(target="arn:aws:lambda:eu-west-1:888888888888:function:f"), "apigateway-access-logging"),
], ids=["auth-none", "auth-unset", "quick-create-route", "no-access-logs", "no-log-format", "quick-create-stage"])
def test_api_weaknesses_are_blocked(program: Any, rule: str) -> None:
    assert rule in judge(program).mandatory


def rest_api(authorization: str, method: str = "POST", logs: Any = ACCESS_LOGS) -> Any:
    def program(at: At) -> None:
        api = aws.apigateway.RestApi("rest", opts=at("prod"))
        aws.apigateway.Method("method", rest_api=api.id, resource_id=api.root_resource_id, http_method=method,
                              authorization=authorization, opts=at("prod"))
        aws.apigateway.Stage("stage", rest_api=api.id, deployment="d-1", stage_name="prod", access_log_settings=logs,
                             opts=at("prod"))
    return program


@pytest.mark.parametrize("program, rule, violates", [
    (rest_api("AWS_IAM"), "apigateway-routes-authorized", False),
    (rest_api("NONE", method="OPTIONS"), "apigateway-routes-authorized", False),
    (rest_api("NONE"), "apigateway-routes-authorized", True),
    (rest_api("AWS_IAM", logs=None), "apigateway-access-logging", True),
], ids=["iam", "cors-preflight", "open-method", "rest-stage-without-logs"])
def test_rest_apis_are_judged_too(program: Any, rule: str, violates: bool) -> None:
    assert (rule in judge(program).mandatory) == violates


# --- CodeBuild -------------------------------------------------------------------------------------------

DOCKER_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t $IMAGE .\n"
TEST_BUILDSPEC = "version: 0.2\nphases:\n  build:\n    commands:\n      - pytest\n"


def project(variables: list[aws.codebuild.ProjectEnvironmentEnvironmentVariableArgsDict] | None = None,
            privileged: bool = False, buildspec: str = TEST_BUILDSPEC, location: str | None = None) -> Any:
    def program(at: At) -> None:
        aws.codebuild.Project("build", service_role="arn:aws:iam::444444444444:role/build", opts=at("cicd"),
                              artifacts={"type": "NO_ARTIFACTS"},
                              environment={"compute_type": "BUILD_GENERAL1_SMALL", "type": "LINUX_CONTAINER",
                                           "image": "aws/codebuild/standard:7.0", "privileged_mode": privileged,
                                           "environment_variables": variables or []},
                              source={"type": "GITHUB" if location else "NO_SOURCE", "buildspec": buildspec,
                                      "location": location})
    return program


@pytest.mark.parametrize("program", [
    project([{"name": "IMAGE", "value": "churn"}, {"name": "GITHUB_TOKEN", "value": "github/token",
                                                   "type": "SECRETS_MANAGER"}]),
    project(privileged=True, buildspec=DOCKER_BUILDSPEC),
], ids=["secret-reference", "container-build"])
def test_builds_without_plaintext_secrets_or_needless_privilege_pass(program: Any) -> None:
    verdicts = judge(program, stack="cicd")
    assert not {"codebuild-no-plaintext-secrets", "codebuild-privileged-mode"} & (verdicts.mandatory |
                                                                                   verdicts.undecided)


@pytest.mark.parametrize("program, rule", [
    (project([{"name": "DB_PASSWORD", "value": "hunter2"}]), "codebuild-no-plaintext-secrets"),
    (project([{"name": "AWS_SECRET_ACCESS_KEY", "value": "abc", "type": "PLAINTEXT"}]),
     "codebuild-no-plaintext-secrets"),
    (project([{"name": "KEY_ID", "value": "AKIAABCDEFGHIJKLMNOP"}]), "codebuild-no-plaintext-secrets"),
    (project(location="https://user:password@bitbucket.org/team/repo.git"), "codebuild-no-plaintext-secrets"),
    (project(privileged=True), "codebuild-privileged-mode"),
], ids=["password", "aws-secret", "access-key-value", "credentials-in-url", "privileged-test-build"])
def test_build_weaknesses_are_blocked(program: Any, rule: str) -> None:
    assert rule in judge(program, stack="cicd").mandatory


def test_privileged_mode_with_a_buildspec_in_the_repository_is_undecided() -> None:
    verdicts = judge(project(privileged=True, buildspec="buildspec.yml"), stack="cicd")
    assert "codebuild-privileged-mode" in verdicts.undecided


def test_a_star_principal_is_public_even_with_a_source_arn() -> None:
    verdicts = judge(permission(principal="*", source_arn="arn:aws:s3:::uploads"))
    assert "lambda-no-public-invoke" in verdicts.mandatory


# --- the named image build, encrypted builds, pipelines and topics ---------------------------------------

IMAGE_BUILD = "mlops-monitoring-image-build"


def image_build(name: str = IMAGE_BUILD, source_type: str = "CODEPIPELINE", pull: str = "CODEBUILD",
                encryption_key: str | None = "arn:aws:kms:eu-west-1:444444444444:key/k") -> Any:
    def program(at: At) -> None:
        aws.codebuild.Project("image", name=name, service_role="arn:aws:iam::444444444444:role/mlops-cicd-image-build",
                              opts=at("cicd"), artifacts={"type": "CODEPIPELINE"}, encryption_key=encryption_key,
                              environment={"compute_type": "BUILD_GENERAL1_MEDIUM", "type": "LINUX_CONTAINER",
                                           "image": "aws/codebuild/standard:7.0", "privileged_mode": True,
                                           "image_pull_credentials_type": pull},
                              source={"type": source_type, "buildspec": "buildspecs/monitoring-image.yml",
                                      "location": "https://github.com/o/r" if source_type == "GITHUB" else None})
    return program


def test_the_named_image_build_may_run_privileged_with_its_buildspec_in_the_repository() -> None:
    verdicts = judge(image_build(), stack="cicd")
    assert not {"codebuild-privileged-mode", "codebuild-kms-encryption"} & (verdicts.mandatory | verdicts.undecided)


@pytest.mark.parametrize("program", [
    image_build(source_type="GITHUB"), image_build(pull="SERVICE_ROLE"), image_build(name="another-image-build"),
], ids=["webhook-source", "foreign-build-image", "another-name"])
def test_privilege_outside_the_named_plain_image_build_is_not_excepted(program: Any) -> None:
    verdicts = judge(program, stack="cicd")
    assert "codebuild-privileged-mode" in verdicts.mandatory | verdicts.undecided


def test_builds_without_a_customer_managed_key_are_blocked() -> None:
    assert "codebuild-kms-encryption" in judge(image_build(encryption_key=None), stack="cicd").mandatory


def pipeline(encryption_key: aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgsDict | None) -> Any:
    def program(at: At) -> None:
        store: aws.codepipeline.PipelineArtifactStoreArgsDict = {"location": "artifacts", "type": "S3"}
        if encryption_key is not None:
            store["encryption_key"] = encryption_key
        aws.codepipeline.Pipeline("promotion", name="churn-promotion", pipeline_type="V2",
                                  role_arn="arn:aws:iam::444444444444:role/mlops-cicd-churn-promotion",
                                  artifact_stores=[store], opts=at("cicd"), stages=[
                                      {"name": "Source", "actions": [{
                                          "name": "S", "category": "Source", "owner": "AWS", "provider": "S3",
                                          "version": "1", "output_artifacts": ["source"],
                                          "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}}]}])
    return program


@pytest.mark.parametrize("key, violates", [
    ({"id": "arn:aws:kms:eu-west-1:444444444444:key/k", "type": "KMS"}, False), (None, True),
], ids=["kms", "aws-managed"])
def test_pipeline_artifact_stores_are_encrypted_with_a_customer_key(
        key: aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgsDict | None, violates: bool) -> None:
    assert ("codepipeline-artifacts-encrypted" in judge(pipeline(key), stack="cicd").mandatory) == violates


@pytest.mark.parametrize("key, violates", [
    ("arn:aws:kms:eu-west-1:444444444444:key/k", False), (None, True), ("alias/aws/sns", True),
], ids=["customer-key", "unencrypted", "aws-managed"])
def test_topics_are_encrypted_with_a_customer_key(key: str | None, violates: bool) -> None:
    def program(at: At) -> None:
        aws.sns.Topic("approvals", name="churn-promotion-approvals", kms_master_key_id=key, opts=at("cicd"))
    assert ("sns-topic-kms-encryption" in judge(program, stack="cicd").mandatory) == violates
