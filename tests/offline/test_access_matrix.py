"""The access matrix: designed flows judged by the IAM engine over the captured stacks, and each broken on purpose."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlops_platform import contract
from mlops_platform.offline import access_matrix, iam_simulate
from mlops_platform.offline.access_matrix import AccessMatrix, Flow, World
from mlops_platform.offline.capture import CapturedResource, CapturedStack
from mlops_platform.offline.preview import Preview

Edit = Callable[[CapturedResource], CapturedResource | None]


def _stacks(preview: Preview, edit: Edit | None = None) -> list[CapturedStack]:
    """The preview's captured stacks, with `edit` applied to every resource (None drops it)."""
    stacks = []
    for stack in preview.stacks:
        resources = [r if edit is None else edit(r) for r in stack.captured.resources]
        stacks.append(dataclasses.replace(stack.captured, resources=[r for r in resources if r is not None]))
    return stacks


def _matrix(preview: Preview, edit: Edit | None = None) -> AccessMatrix:
    return access_matrix.check(preview.stacks[0].config, _stacks(preview, edit))


def _flow(matrix: AccessMatrix, name: str) -> access_matrix.FlowResult:
    return next(result for result in matrix.results if result.flow.name == name)


def _without_statement(resource: CapturedResource, key: str, sid: str) -> CapturedResource:
    document = json.loads(resource.inputs[key])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    return dataclasses.replace(resource, inputs={**resource.inputs, key: json.dumps(document)})


ARTIFACT_BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy", "artifact-model-artifacts")
ARTIFACT_KEY = ("aws:kms/key:Key", "artifact-key")


def dropping(*grants: tuple[tuple[str, str], str]) -> Edit:
    """An edit that removes statement `sid` from the policy of the resource (type, logical name) it names;
    a name of "" matches every resource of the type."""
    def edit(resource: CapturedResource) -> CapturedResource:
        for (type_token, name), sid in grants:
            if resource.type == type_token and name in ("", resource.name):
                resource = _without_statement(resource, "policy", sid)
        return resource
    return edit


@pytest.mark.parametrize(("size", "builders"), [
    ("small", {"retraining", "separation"}),
    ("medium", {"retraining", "deploy path", "separation"}),
    ("large", {"retraining", "deploy path", "separation"}),
])
def test_every_designed_flow_holds_in_the_shipped_stacks(
        size: str, builders: set[str], shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview(size))
    assert matrix.passed, [r.flow.name for r in matrix.broken]
    names = " ".join(result.flow.name for result in matrix.results)
    assert ("retraining" in names) == ("retraining" in builders)
    assert ("assumes the deploy role" in names) == ("deploy path" in builders)
    assert "data scientists cannot" in names
    assert any(not result.flow.allowed for result in matrix.results), "forbidden flows are part of the matrix"
    assert all(result.decision.result in {"Allowed", "ExplicitlyDenied", "ImplicitlyDenied"}
               for result in matrix.results), "the engine judged every request"


def test_a_missing_cross_account_bucket_grant_breaks_retraining(shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("large"), dropping((ARTIFACT_BUCKET_POLICY, "OtherAccountsWrite")))
    broken = _flow(matrix, "churn: retraining writes model artifacts")
    assert not broken.holds and broken.decision.result == "ImplicitlyDenied"
    assert _flow(matrix, "churn: retraining decrypts datasets").holds, "only the flow whose grant went is broken"


def test_a_missing_key_grant_breaks_retraining(shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("large"), dropping((ARTIFACT_KEY, "OtherAccountsEncrypt")))
    assert not _flow(matrix, "churn: retraining encrypts model artifacts").holds


def test_a_deploy_role_that_no_longer_trusts_the_pipeline_breaks_the_deploy_path(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("medium")
    prod_account = next(s.config.account_id for s in preview.stacks if s.name == "prod")
    deploy_role = contract.deploy_role_arn("aws", prod_account, preview.stacks[0].config.deploy_role_name)

    def trust_bootstrap_only(resource: CapturedResource) -> CapturedResource:
        if resource.type == "aws:iam/role:Role" and resource.outputs.get("arn") == deploy_role:
            document = json.loads(resource.inputs["assumeRolePolicy"])
            for statement in document["Statement"]:
                statement["Principal"]["AWS"] = [p for p in statement["Principal"]["AWS"] if "bootstrap" in p]
            return dataclasses.replace(resource, inputs={**resource.inputs, "assumeRolePolicy": json.dumps(document)})
        return resource

    matrix = _matrix(preview, trust_bootstrap_only)
    assert not _flow(matrix, f"mlops-cicd-deploy-pipeline assumes the deploy role of {prod_account}").holds
    assert _flow(matrix, f"mlops-org-bootstrap assumes the deploy role of {prod_account}").holds


def test_a_data_scientist_role_without_its_denies_breaks_the_separation(
        shipped_preview: Callable[..., Preview]) -> None:
    def allow_everything_on_sagemaker(resource: CapturedResource) -> CapturedResource:
        if resource.type == "aws:iam/rolePolicy:RolePolicy" and resource.name.endswith("data-scientist"):
            document = {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["sagemaker:UpdateEndpoint", "s3:PutObject"], "Resource": "*"}]}
            return dataclasses.replace(resource, inputs={**resource.inputs, "policy": json.dumps(document)})
        return resource

    matrix = _matrix(shipped_preview("small"), allow_everything_on_sagemaker)
    assert not _flow(matrix, "data scientists cannot change the churn prod endpoint").holds
    assert not _flow(matrix, "data scientists cannot overwrite model artifacts").holds


def test_scps_are_weighed_a_request_outside_the_allowed_regions_is_denied(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    world = World(_stacks(preview))
    cfg = preview.stacks[0].config
    flow = next(f for f in access_matrix.designed_flows(cfg, world)
                if f.name == "churn: retraining writes model artifacts")
    (decision,) = iam_simulate.simulate([access_matrix.simulation(world, flow, "ap-southeast-2")])
    assert decision.result == "ExplicitlyDenied", "the region guard SCP over the ops account denies it"


def test_a_flow_naming_a_role_nobody_creates_is_a_clear_error(shipped_preview: Callable[..., Preview]) -> None:
    world = World(_stacks(shipped_preview("small")))
    ghost = Flow("ghost", "arn:aws:iam::111111111111:role/nobody", "s3:GetObject", "arn:aws:s3:::x/y", True)
    with pytest.raises(access_matrix.MatrixError, match="no stack creates the role"):
        access_matrix.evaluate(world, [ghost], "eu-west-1")


def test_an_engine_that_is_not_installed_says_how_to_install_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(iam_simulate, "ENGINE_DIR", tmp_path)
    request = iam_simulate.Simulation("arn:aws:iam::111111111111:role/r", "s3:GetObject", "arn:aws:s3:::b/k",
                                      "111111111111")
    with pytest.raises(iam_simulate.EngineUnavailable, match="npm ci --prefix"):
        iam_simulate.simulate([request])


def test_the_engine_rejects_an_unknown_action_instead_of_guessing() -> None:
    policy: dict[str, Any] = {"Version": "2012-10-17",
                              "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    request = iam_simulate.Simulation("arn:aws:iam::111111111111:role/r", "s3:GetObjekt", "arn:aws:s3:::b/k",
                                      "111111111111", identity_policies=[("p", policy)])
    (decision,) = iam_simulate.simulate([request])
    assert decision.result is None and decision.errors


@pytest.mark.parametrize("size", ["medium", "large"])
def test_the_ops_deploy_role_may_upload_step_scripts_into_the_artifact_bucket(
        size: str, shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview(size))
    assert _flow(matrix, "churn: the ops deploy role uploads step scripts").holds
    assert _flow(matrix, "churn: the ops deploy role encrypts step scripts").holds


def test_without_the_step_script_grant_the_large_ops_stack_cannot_upload(
        shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("large"), dropping((ARTIFACT_BUCKET_POLICY, "OtherAccountsUploadStepScripts"),
                                                        (ARTIFACT_KEY, "OtherAccountsEncryptStepScripts")))
    assert not _flow(matrix, "churn: the ops deploy role uploads step scripts").holds
    assert not _flow(matrix, "churn: the ops deploy role encrypts step scripts").holds


def test_served_models_read_and_pull_across_accounts_only_through_the_artifact_grants(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    assert _flow(_matrix(preview), "churn: the prod model pulls its image").holds

    matrix = _matrix(preview, dropping((("aws:ecr/repositoryPolicy:RepositoryPolicy", ""), "OtherAccountsPull")))
    assert not _flow(matrix, "churn: the prod model pulls its image").holds
    assert _flow(matrix, "churn: the prod model reads its artifacts").holds


DEPLOYER_POLICY = ("aws:iam/rolePolicy:RolePolicy", "prod-churn-deployer")
DEPLOYER_FLOWS = ("reads an approved package", "rolls out its endpoint", "runs models as the model role",
                  "records the served version", "parks permanent failures", "announces on its notices topic",
                  "encrypts its notices")


@pytest.mark.parametrize(("sid", "flow"), [
    ("ReadPackages", "reads an approved package"),
    ("DeployToOneEndpoint", "rolls out its endpoint"),
    ("PassModelRole", "runs models as the model role"),
    ("RecordServedVersion", "records the served version"),
    ("ParkPermanentFailures", "parks permanent failures"),
    ("PublishNotices", "announces on its notices topic"),
    ("EncryptNotices", "encrypts its notices"),
])
def test_each_deployer_grant_carries_exactly_its_flow(sid: str, flow: str,
                                                      shipped_preview: Callable[..., Preview]) -> None:
    shipped = _matrix(shipped_preview("small"))
    assert all(_flow(shipped, f"churn: the deployer {name}").holds for name in DEPLOYER_FLOWS)
    assert _flow(shipped, "churn: the deployer records no other use case's version").holds

    matrix = _matrix(shipped_preview("small"), dropping((DEPLOYER_POLICY, sid)))
    broken = {result.flow.name for result in matrix.broken}
    assert broken == {f"churn: the deployer {flow}"}


def test_the_inference_api_invokes_its_endpoint_and_cannot_redeploy_it(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    shipped = _matrix(preview)
    for tier in ("staging", "prod"):
        assert _flow(shipped, f"churn: the {tier} API invokes its endpoint").holds
        assert _flow(shipped, f"churn: the {tier} API cannot redeploy its endpoint").holds
    matrix = _matrix(preview, dropping((("aws:iam/rolePolicy:RolePolicy", "prod-churn-api"), "InvokeOneEndpoint")))
    assert {result.flow.name for result in matrix.broken} == {"churn: the prod API invokes its endpoint"}


def test_a_data_scientist_opens_only_their_own_studio_profile(shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("medium")
    shipped = _matrix(preview)
    assert _flow(shipped, "a data scientist opens their own Studio profile").holds
    assert _flow(shipped, "a data scientist cannot open another's Studio profile").holds

    def unconditional(resource: CapturedResource) -> CapturedResource:
        if resource.type != "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy":
            return resource
        document = json.loads(resource.inputs["inlinePolicy"])
        for statement in document["Statement"]:
            statement.pop("Condition", None)
        return dataclasses.replace(resource, inputs={**resource.inputs, "inlinePolicy": json.dumps(document)})

    broken = {result.flow.name for result in _matrix(preview, unconditional).broken}
    assert broken == {"a data scientist cannot open another's Studio profile"}


def test_in_large_data_scientists_run_the_ops_pipelines_only_through_the_operator_role(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    shipped = _matrix(preview)
    for name in ("data scientists assume the ops pipeline operator",
                 "data scientists (as the ops operator) start the churn pipeline",
                 "data scientists (as the ops operator) follow a churn pipeline run",
                 "the ops pipeline operator cannot approve churn models"):
        assert _flow(shipped, name).holds, name

    def untrusting(resource: CapturedResource) -> CapturedResource:
        if resource.type == "aws:iam/role:Role" and resource.inputs.get("name") == "mlops-ops-pipeline-operator":
            document = json.loads(resource.inputs["assumeRolePolicy"])
            document["Statement"][0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] = "arn:aws:iam::1:role/other"
            return dataclasses.replace(resource, inputs={**resource.inputs, "assumeRolePolicy": json.dumps(document)})
        return resource

    broken = {result.flow.name for result in _matrix(preview, untrusting).broken}
    assert broken == {"data scientists assume the ops pipeline operator"}


def test_the_serving_deploy_roles_read_the_served_versions_through_the_boundary(
        shipped_preview: Callable[..., Preview]) -> None:
    preview = shipped_preview("large")
    names = {f"the {tier} deploy role reads the served versions" for tier in ("staging", "prod")}
    assert all(_flow(_matrix(preview), name).holds for name in names)

    broken = {r.flow.name for r in _matrix(preview, dropping((("aws:iam/policy:Policy", ""),
                                                               "ReadServedVersions"))).broken}
    assert names <= broken, "without the boundary's SSM read, pulumi up of staging and prod could not read them"


OPS_CAPTURE_POLICY = ("aws:s3/bucketPolicy:BucketPolicy", "ops-data-capture")
OPS_KEY = ("aws:kms/key:Key", "ops-key")
DRIFT_ROLE_POLICY = ("aws:iam/rolePolicy:RolePolicy", "ops-churn-drift-execution")


def test_the_drift_loop_flows_hold_in_medium_and_large(shipped_preview: Callable[..., Preview]) -> None:
    for size in ("medium", "large"):
        matrix = _matrix(shipped_preview(size, serving=True))
        names = {result.flow.name for result in matrix.results}
        assert {"churn: the prod replication replicates into its prefix",
                "churn: the prod replication hands its replicas to the ops account",
                "the staging replication encrypts replicas with the ops key",
                "churn: the drift check reads the serving version's baseline",
                "churn: the drift rule starts the retraining pipeline",
                "churn: the data scientists' Studio role cannot s3:PutObject prod's captured traffic"} <= names
        assert matrix.passed, [r.flow.name for r in matrix.broken]


@pytest.mark.parametrize(("grant", "broken", "still_holds"), [
    ((OPS_CAPTURE_POLICY, "ProdReplicatesItsCapturedTraffic"),
     {"churn: the prod replication replicates into its prefix",
      "churn: the prod replication hands its replicas to the ops account"},
     "churn: the staging replication replicates into its prefix"),
    ((OPS_CAPTURE_POLICY, "OnlyProdReplicationWritesItsCapturedTraffic"),
     {"churn: the ops deploy role cannot s3:PutObject prod's captured traffic",
      "churn: the ops deploy role cannot s3:DeleteObjectVersion prod's captured traffic"},
     "churn: the ops deploy role cannot s3:PutObject staging's captured traffic"),
    ((OPS_KEY, "OtherAccountsEncryptReplicas"), {"the prod replication encrypts replicas with the ops key",
                                                 "the staging replication encrypts replicas with the ops key"},
     "churn: the prod replication replicates into its prefix"),
    ((DRIFT_ROLE_POLICY, "AnnounceDrift"), {"churn: the drift check puts its drift event"},
     "churn: the drift check puts its metrics"),
    ((DRIFT_ROLE_POLICY, "ReadBaselines"), {"churn: the drift check reads the serving version's baseline"},
     "churn: the drift check reads the replicated traffic"),
])
def test_each_drift_loop_grant_carries_exactly_its_flows(grant: tuple[tuple[str, str], str], broken: set[str],
                                                         still_holds: str,
                                                         shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("medium", serving=True), dropping(grant))
    assert {r.flow.name for r in matrix.broken} == broken
    assert _flow(matrix, still_holds).holds


def test_in_large_the_drift_check_finds_the_serving_version_only_through_the_group_policy(
        shipped_preview: Callable[..., Preview]) -> None:
    group_policy = ("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy", "")

    def edit(resource: CapturedResource) -> CapturedResource:
        if resource.type == group_policy[0]:
            return _without_statement(resource, "resourcePolicy", "DriftChecksFindTheServedVersion")
        return resource
    matrix = _matrix(shipped_preview("large", serving=True), edit)
    assert {r.flow.name for r in matrix.broken} == {"churn: the drift check describes the serving version"}


def test_the_replication_role_is_confined_to_its_own_tiers_prefix(shipped_preview: Callable[..., Preview]) -> None:
    matrix = _matrix(shipped_preview("medium", serving=True))
    for tier, other in (("prod", "staging"), ("staging", "prod")):
        result = _flow(matrix, f"churn: the {tier} replication cannot write the {other} prefix")
        assert result.holds and result.decision.result in {"ExplicitlyDenied", "ImplicitlyDenied"}


def test_captured_traffic_is_refused_to_its_own_use_cases_roles_and_the_next_ones(
        shipped_preview: Callable[..., Preview]) -> None:
    """Linear in the use cases: each use case's roles are refused its own traffic and one neighbour's, the shared
    identities every use case's."""
    preview = shipped_preview("large")
    cfg = preview.stacks[0].config
    names = ("churn", "fraud", "risk")
    cfg = dataclasses.replace(cfg, use_cases=tuple(dataclasses.replace(cfg.use_cases[0], name=n) for n in names))
    world = World(_stacks(preview), cfg.accounts)
    writers = {name: {who for who, _ in access_matrix._others_writing_captures(cfg, world, name)} for name in names}
    shared = {"data scientists' Studio role", "data scientists' Identity Center role", "ops deploy role"}
    for name, after in zip(names, names[1:] + names[:1], strict=True):
        assert writers[name] == shared | {f"{u} {role}" for u in (name, after)
                                          for role in ("retraining role", "drift check role")}
