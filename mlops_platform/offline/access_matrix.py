"""The access matrix: the flows the design needs and the flows it forbids, evaluated by a real IAM engine over the
captured stacks of a size.

A flow is principal → action → resource, expected allowed or denied. Each is judged with everything AWS would
weigh: the principal's identity policies and permissions boundary, the resource's policy (bucket, key, registry,
repository, or a role's trust policy for `sts:AssumeRole`), and the SCPs over the principal's account. The
documents are read from the captured stacks exactly as the engine would receive them, so a grant that one tier
writes and another tier needs is proven to meet, or shown missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_platform import ci, contract, iam_policy, naming, topology
from mlops_platform.components import feature_store
from mlops_platform.config import PlatformConfig
from mlops_platform.iam_policy import Statement, allow, grant
from mlops_platform.offline import lake_grants
from mlops_platform.offline.capture import CapturedResource, CapturedStack, SizeResources
from mlops_platform.offline.iam_simulate import Decision, Document, Simulation, simulate
from mlops_platform.offline.lake_grants import LakeGrants

ALLOW_EVERYTHING: Document = iam_policy.document([allow(["*"], "*")])
FULL_AWS_ACCESS: Document = ALLOW_EVERYTHING
"""AWS attaches FullAWSAccess to the root, every OU and every account; our SCPs deny on top of it."""


AWS_MANAGED_POLICIES: Mapping[str, Document] = {
    # PowerUserAccess, as AWS's managed policy reference shows it (version v5, read 2026-12-02): everything but
    # IAM, Organizations and Account, plus the few of those a power user needs.
    "PowerUserAccess": iam_policy.document([
        Statement(effect=iam_policy.ALLOW, not_actions=("iam:*", "organizations:*", "account:*"), resources=("*",)),
        allow(["iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
               "organizations:DescribeOrganization", "account:ListRegions", "account:GetAccountInformation"], "*")]),
}
"""Copies of the AWS-managed policies the platform attaches, by name: the stacks hold only their ARNs (one per
partition, `naming.aws_managed_policy_arn`)."""


class MatrixError(Exception):
    """A flow names a principal or resource the captured stacks do not hold."""


@dataclass(frozen=True)
class Flow:
    name: str
    principal: str
    """The principal's ARN."""
    action: str
    resource: str
    """The resource's ARN (for `sts:AssumeRole`, the role's)."""
    allowed: bool
    """True: the design needs this flow; False: the design forbids it."""
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    layer: str | None = None
    """The separation layer the flow proves on its own (`own-rights`, `guardrails`), if any."""
    resource_admits: bool = False
    """Judge the principal's own rights: the resource's policy is taken as admitting the principal."""
    as_if_granted: bool = False
    """A principal taken to hold every permission (allow `*`), so that only the SCPs over its account decide."""
    web_identity: bool = False
    """The principal is an OIDC provider (`sts:AssumeRoleWithWebIdentity`): the role's trust policy alone decides,
    on the token's claims in `context` (no identity policy, boundary or SCP applies to a federated caller)."""
    resource_account: str | None = None
    """The resource's account where no captured stack creates it (a bucket named by config), else None."""


@dataclass(frozen=True)
class FlowResult:
    flow: Flow
    decision: Decision

    @property
    def holds(self) -> bool:
        return self.decision.result is not None and self.decision.allowed == self.flow.allowed


@dataclass
class AccessMatrix:
    results: list[FlowResult] = field(default_factory=list)
    lake_grants: LakeGrants | None = None
    """The data lake's Lake Formation grants against the designed set (where the size builds a data lake)."""

    @property
    def passed(self) -> bool:
        return all(result.holds for result in self.results) and (self.lake_grants is None or self.lake_grants.passed)

    @property
    def broken(self) -> list[FlowResult]:
        return [result for result in self.results if not result.holds]

    def document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"passed": self.passed, "flows": [_flow_document(r) for r in self.results]}
        if self.lake_grants is not None:
            document["lakeGrants"] = self.lake_grants.document()
        return document


def _flow_document(result: FlowResult) -> dict[str, Any]:
    flow = result.flow
    return {"name": flow.name, "principal": flow.principal, "action": flow.action, "resource": flow.resource,
            "expected": "allow" if flow.allowed else "deny", "decision": result.decision.result,
            "holds": result.holds, "errors": list(result.decision.errors)}


def _json(value: Any) -> Document:
    return json.loads(value) if isinstance(value, str) else dict(value or {})


class World(SizeResources):
    """The IAM-relevant documents of every captured stack of a size, indexed the way AWS looks them up."""

    def __init__(self, stacks: Iterable[CapturedStack], accounts: Mapping[str, str] | None = None) -> None:
        """`accounts`: the configured logical account → id, which names the accounts the org stack creates
        (AWS assigns their ids only at creation)."""
        super().__init__(stacks)
        self._created_accounts = {(accounts or {}).get(contract.logical_account_of(str(a.inputs.get("name"))), a.id): a
                                  for a in self.of_type("aws:organizations/account:Account")}
        self.roles = {str(r.outputs["arn"]): r for r in self.of_type("aws:iam/role:Role")}
        self.managed_policies = {str(r.outputs["arn"]): _json(r.inputs.get("policy"))
                                 for r in self.of_type("aws:iam/policy:Policy")}
        self.buckets = {str(r.outputs["bucket"]): r for r in self.of_type("aws:s3/bucket:Bucket")}
        self.bucket_policies = {str(r.inputs["bucket"]): _json(r.inputs.get("policy"))
                                for r in self.of_type("aws:s3/bucketPolicy:BucketPolicy")}
        self.keys = {str(r.outputs["arn"]): r for r in self.of_type("aws:kms/key:Key")}
        self.group_policies = {(self.account_of(r), str(r.inputs["modelPackageGroupName"])):
                               _json(r.inputs.get("resourcePolicy"))
                               for r in self.of_type("aws:sagemaker/modelPackageGroupPolicy:ModelPackageGroupPolicy")}
        self.repository_policies = {(self.account_of(r), str(r.inputs["repository"])): _json(r.inputs.get("policy"))
                                    for r in self.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")}
        self.event_bus_policies = {(self.account_of(r), str(r.inputs.get("eventBusName") or "default")):
                                   _json(r.inputs.get("policy"))
                                   for r in self.of_type("aws:cloudwatch/eventBusPolicy:EventBusPolicy")}
        self.feature_group_shares = shared_feature_groups(self)
        self._role_policies = self._by_role("aws:iam/rolePolicy:RolePolicy")
        self._role_attachments = self._by_role("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        self._scps = {p.id: (str(p.inputs.get("name", p.name)), _json(p.inputs.get("content")))
                      for p in self.of_type("aws:organizations/policy:Policy")}
        self.identity_center_roles = self._identity_center_roles()

    def _identity_center_roles(self) -> dict[str, tuple[str, list[tuple[str, Document]]]]:
        """The role Identity Center creates for each assignment of a permission set with only an inline policy,
        keyed by `identity_center_role_arn`: its account and its policies."""
        names = {str(r.outputs["arn"]): str(r.inputs["name"])
                 for r in self.of_type("aws:ssoadmin/permissionSet:PermissionSet")}
        inline = {str(r.inputs["permissionSetArn"]): _json(r.inputs.get("inlinePolicy"))
                  for r in self.of_type("aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy")}
        managed = {str(r.inputs["permissionSetArn"])
                   for r in self.of_type("aws:ssoadmin/managedPolicyAttachment:ManagedPolicyAttachment")}
        roles: dict[str, tuple[str, list[tuple[str, Document]]]] = {}
        for assignment in self.of_type("aws:ssoadmin/accountAssignment:AccountAssignment"):
            permission_set = str(assignment.inputs["permissionSetArn"])
            if permission_set in inline and permission_set not in managed:
                account = str(assignment.inputs["targetId"])
                name = names[permission_set]
                roles[identity_center_role_arn(naming.partition_in(permission_set), account, name)] = (
                    account, [(name, inline[permission_set])])
        return roles

    def _by_role(self, type_token: str) -> dict[tuple[str, str], list[CapturedResource]]:
        """Resources that belong to a role, keyed by the role's account and name."""
        grouped: dict[tuple[str, str], list[CapturedResource]] = {}
        for resource in self.of_type(type_token):
            grouped.setdefault((self.account_of(resource), str(resource.inputs.get("role"))), []).append(resource)
        return grouped

    def role(self, arn: str) -> CapturedResource:
        if arn not in self.roles:
            raise MatrixError(f"no stack creates the role {arn}")
        return self.roles[arn]

    def identity_policies(self, role: CapturedResource) -> list[tuple[str, Document]]:
        key = (self.account_of(role), str(role.outputs.get("name")))
        inline = [(p.name, _json(p.inputs.get("policy"))) for p in self._role_policies.get(key, [])]
        attached = [(str(a.inputs["policyArn"]), self._managed_policy(str(a.inputs["policyArn"])))
                    for a in self._role_attachments.get(key, [])]
        return inline + attached

    def _managed_policy(self, arn: str) -> Document:
        if arn in self.managed_policies:
            return self.managed_policies[arn]
        name = arn.rsplit("/", 1)[-1]
        if name in AWS_MANAGED_POLICIES and arn == naming.aws_managed_policy_arn(naming.partition_in(arn), name):
            return AWS_MANAGED_POLICIES[name]
        raise MatrixError(f"a role carries the managed policy {arn}, which neither a stack nor the matrix's copies "
                          "of AWS-managed policies hold")

    def boundaries(self, role: CapturedResource) -> list[tuple[str, Document]]:
        arn = role.inputs.get("permissionsBoundary")
        if not arn:
            return []
        if arn not in self.managed_policies:
            raise MatrixError(f"{role.outputs.get('arn')} names the boundary {arn}, which no stack creates")
        return [(str(arn), self.managed_policies[str(arn)])]

    def scps(self, account: str) -> list[tuple[str, list[tuple[str, Document]]]]:
        """SCPs over `account`: the root, the account's OU (created accounts) and the account itself."""
        if not self._scps:
            return []
        created = self._created_accounts.get(account)
        levels = [str(created.inputs["parentId"])] if created is not None and created.inputs.get("parentId") else []
        levels.append(account)
        chain = [("root", [("FullAWSAccess", FULL_AWS_ACCESS)])]
        for level in levels:
            attached = [self._scps[str(a.inputs["policyId"])] for a in
                        self.of_type("aws:organizations/policyAttachment:PolicyAttachment")
                        if a.inputs.get("targetId") == level and str(a.inputs.get("policyId")) in self._scps]
            chain.append((level, [("FullAWSAccess", FULL_AWS_ACCESS), *attached]))
        return chain

    def resource_policy(self, action: str, resource: str) -> Document | None:
        if action.startswith("sts:AssumeRole"):
            return _json(self.role(resource).inputs.get("assumeRolePolicy"))
        if naming.service_in(resource) == "s3":
            return self.bucket_policies.get(naming.bucket_in(resource))
        if resource in self.keys:
            return _json(self.keys[resource].inputs.get("policy"))
        if naming.service_in(resource) == "sagemaker" and ":feature-group/" in resource:
            return feature_group_share_policy(resource, self.feature_group_shares.get(resource, frozenset()))
        if ":model-package-group/" in resource or ":model-package/" in resource:
            account, path = resource.split(":")[4], resource.split(":", 5)[5]
            return self.group_policies.get((account, path.split("/")[1]))
        if naming.service_in(resource) == "events" and ":event-bus/" in resource:
            account, bus = resource.split(":")[4], resource.split(":event-bus/", 1)[1]
            return self.event_bus_policies.get((account, bus))
        if naming.service_in(resource) == "ecr":
            account, repository = resource.split(":")[4], resource.split(":repository/", 1)[1]
            return self.repository_policies.get((account, repository))
        return None

    def resource_account(self, resource: str) -> str:
        if naming.service_in(resource) == "s3":
            bucket = self.buckets.get(naming.bucket_in(resource))
            if bucket is None:
                raise MatrixError(f"no stack creates the bucket of {resource}")
            return self.account_of(bucket)
        return resource.split(":")[4]


# AWS RAM: the engine knows no resource shares. A feature group shared with the read-write managed permission
# behaves as if it had a resource policy allowing the consumer accounts (their roots: their own identity policies
# must still allow the request) the permission's actions on the group; that policy is what the matrix evaluates.
# tests/tiers/test_feature_store.py checks the shares' associations themselves, exactly.

SHARE_PERMISSION_ACTIONS: Mapping[str, tuple[str, ...]] = {
    contract.FEATURE_GROUP_SHARE_PERMISSION: feature_store.SHARED_GROUP_ACTIONS,
}


def shared_feature_groups(world: SizeResources) -> dict[str, frozenset[tuple[str, str]]]:
    """Feature group ARN → (consumer account, RAM managed permission ARN) of every share associating it."""
    shares = {str(share.outputs["arn"]): share for share in world.of_type("aws:ram/resourceShare:ResourceShare")}
    principals: dict[str, set[str]] = {}
    for association in world.of_type("aws:ram/principalAssociation:PrincipalAssociation"):
        principals.setdefault(str(association.inputs["resourceShareArn"]), set()).add(
            str(association.inputs["principal"]))
    shared: dict[str, set[tuple[str, str]]] = {}
    for association in world.of_type("aws:ram/resourceAssociation:ResourceAssociation"):
        share = shares.get(str(association.inputs["resourceShareArn"]))
        if share is None:
            raise MatrixError(f"{association.urn} associates a resource with a share no stack creates")
        for account in principals.get(str(share.outputs["arn"]), set()):
            for permission in share.inputs.get("permissionArns") or []:
                shared.setdefault(str(association.inputs["resourceArn"]), set()).add((account, str(permission)))
    return {arn: frozenset(pairs) for arn, pairs in shared.items()}


def feature_group_share_policy(group_arn: str, shares: frozenset[tuple[str, str]]) -> Document | None:
    statements = []
    for account, permission in sorted(shares):
        actions = SHARE_PERMISSION_ACTIONS.get(permission.rsplit("/", 1)[-1])
        if actions is None:
            raise MatrixError(f"{group_arn} is shared with {permission}, whose actions the matrix does not know")
        statements.append(grant("", {"AWS": naming.account_root_arn(naming.partition_in(group_arn), account)},
                                list(actions), group_arn))
    return iam_policy.document(statements) if statements else None


def identity_center_role_arn(partition: str, account: str, permission_set: str) -> str:
    """A stand-in for the role Identity Center creates per assigned permission set (AWS appends a random suffix)."""
    return naming.role_arn(partition, account,
                           f"aws-reserved/sso.amazonaws.com/AWSReservedSSO_{permission_set}_0000000000000000")


def admitting(flow: Flow) -> Document:
    """A resource policy admitting the flow's request from the principal's account — its root, so that the
    principal's own policies must still allow it (a policy naming the role itself would grant it on its own in the
    same account). A trust policy has no Resource."""
    root = naming.account_root_arn(naming.partition_in(flow.principal), flow.principal.split(':')[4])
    trust = flow.action.startswith("sts:AssumeRole")
    return iam_policy.document([grant("", {"AWS": root}, flow.action, [] if trust else flow.resource)])


def simulation(world: World, flow: Flow, region: str) -> Simulation:
    if flow.web_identity:
        return web_identity_simulation(world, flow)
    if flow.as_if_granted:
        account = flow.principal.split(":")[4]
        identity: list[tuple[str, Document]] = [("as-if-granted-everything", ALLOW_EVERYTHING)]
        boundaries: list[tuple[str, Document]] = []
    elif flow.principal in world.identity_center_roles:
        account, identity = world.identity_center_roles[flow.principal]
        boundaries = []
    else:
        role = world.role(flow.principal)
        account, identity, boundaries = world.account_of(role), world.identity_policies(role), world.boundaries(role)
    context: dict[str, str | list[str]] = {"aws:PrincipalArn": flow.principal, "aws:PrincipalAccount": account,
                                           "aws:SecureTransport": "true", "aws:RequestedRegion": region,
                                           **flow.context}
    return Simulation(principal=flow.principal, action=flow.action, resource=flow.resource,
                      resource_account=account if flow.resource == "*" else (
                          flow.resource_account or world.resource_account(flow.resource)),
                      identity_policies=identity,
                      resource_policy=admitting(flow) if flow.resource_admits else world.resource_policy(
                          flow.action, flow.resource),
                      permission_boundaries=boundaries, service_control_policies=world.scps(account),
                      context=context)


def web_identity_simulation(world: World, flow: Flow) -> Simulation:
    trust = _json(world.role(flow.resource).inputs.get("assumeRolePolicy"))
    return Simulation(principal=flow.principal, action=flow.action, resource=flow.resource,
                      resource_account=world.resource_account(flow.resource),
                      resource_policy=claims_for_the_engine(trust),
                      context=claims_for_the_engine(dict(flow.context)))


ENGINE_CLAIM_PREFIX = "aws:RequestTag/github-"


def claims_for_the_engine(value: Any) -> Any:
    """GitHub's claim keys (`token.actions.githubusercontent.com:sub`, `:aud`) renamed to request tags, in a trust
    policy's conditions and a request's context alike. The engine's IAM data lists no GitHub key for
    AssumeRoleWithWebIdentity and ignores unknown context keys (every condition on them would fail as missing);
    it does accept `aws:RequestTag/*` there, so the operators and values are judged unchanged."""
    if isinstance(value, Mapping):
        return {_engine_key(str(key)): claims_for_the_engine(item) for key, item in value.items()}
    if isinstance(value, list):
        return [claims_for_the_engine(item) for item in value]
    return value


def _engine_key(key: str) -> str:
    claim = key.removeprefix(f"{ci.GITHUB_OIDC_HOST}:")
    return ENGINE_CLAIM_PREFIX + claim if claim != key else key


def evaluate(world: World, flows: Iterable[Flow], region: str) -> AccessMatrix:
    flows = list(flows)
    decisions = simulate([simulation(world, flow, region) for flow in flows])
    return AccessMatrix([FlowResult(flow, decision) for flow, decision in zip(flows, decisions, strict=True)])


def check(cfg: PlatformConfig, stacks: Iterable[CapturedStack]) -> AccessMatrix:
    stacks = list(stacks)
    world = World(stacks, cfg.accounts)
    matrix = evaluate(world, designed_flows(cfg, world), cfg.region)
    if cfg.governed_data_lake is not None:
        matrix.lake_grants = lake_grants.check(cfg, stacks)
    return matrix


# The flows of the design. Each builder yields the flows of one capability, for every use case and size.

FlowBuilder = Callable[[PlatformConfig, World], Iterator[Flow]]


def _role_arn(cfg: PlatformConfig, tier: str, role_name: str) -> str:
    """The ARN of the role `role_name` (from the contract) in the account hosting `tier`."""
    return contract.role_arn(cfg.partition, cfg.account_of_tier(tier), role_name)


def _data_scientists(cfg: PlatformConfig) -> str:
    return _role_arn(cfg, "dev", contract.data_scientist_role_name())


def _bucket_arn(world: World, logical_name: str) -> str:
    bucket = next((b for b in world.buckets.values() if b.name == logical_name), None)
    if bucket is None:
        raise MatrixError(f"no stack creates the bucket {logical_name!r}")
    return str(bucket.outputs["arn"])


def _key_arn(world: World, tier: str) -> str:
    key = next((k for k in world.keys.values() if k.name == f"{tier}-key"), None)
    if key is None:
        raise MatrixError(f"no stack creates the {tier} tier's key")
    return str(key.outputs["arn"])


def retraining_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The ops retraining pipeline reads datasets and writes model artifacts, across accounts where they differ."""
    datasets, models = _bucket_arn(world, "data-datasets"), _bucket_arn(world, "artifact-model-artifacts")
    for use_case in cfg.use_cases:
        pipeline = _role_arn(cfg, "ops", contract.retraining_role_name(use_case.name))
        if cfg.trains_through_data_lake(use_case):
            yield Flow(f"{use_case.name}: retraining reads no dataset around the data lake", pipeline,
                       "s3:GetObject", f"{datasets}/{use_case.name}/train.csv", False)
        else:
            yield Flow(f"{use_case.name}: retraining reads datasets", pipeline, "s3:GetObject",
                       f"{datasets}/{use_case.name}/train.csv", True)
        yield Flow(f"{use_case.name}: retraining decrypts datasets", pipeline, "kms:Decrypt",
                   _key_arn(world, "data"), True)
        yield Flow(f"{use_case.name}: retraining writes model artifacts", pipeline, "s3:PutObject",
                   f"{models}/{use_case.name}/model.tar.gz", True)
        yield Flow(f"{use_case.name}: retraining encrypts model artifacts", pipeline, "kms:GenerateDataKey",
                   _key_arn(world, "artifact"), True)


def step_script_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The ops tier's deploy role uploads each pipeline's step scripts into the artifact tier's bucket."""
    deploy_role = contract.deploy_role_arn(cfg.partition, cfg.account_of_tier("ops"), cfg.deploy_role_name)
    if deploy_role not in world.roles:
        return  # the small size's deploy role is created by hand, outside the stacks
    models = _bucket_arn(world, "artifact-model-artifacts")
    for use_case in cfg.use_cases:
        script = f"{models}/{contract.step_script_prefix(use_case.name)}/preprocess.py"
        yield Flow(f"{use_case.name}: the ops deploy role uploads step scripts", deploy_role, "s3:PutObject",
                   script, True)
        yield Flow(f"{use_case.name}: the ops deploy role encrypts step scripts", deploy_role,
                   "kms:GenerateDataKey", _key_arn(world, "artifact"), True)


def serving_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each served model's role reads its artifacts, decrypts them and pulls its image from the artifact tier."""
    models = _bucket_arn(world, "artifact-model-artifacts")
    artifact_account = cfg.account_of_tier("artifact")
    for tier in topology.serving_tiers(cfg.size):
        for use_case in (u for u in cfg.use_cases if u.serve):
            role = _role_arn(cfg, tier, contract.model_role_name(use_case.name, tier))
            repository = naming.ecr_repository_arn(cfg.region, artifact_account,
                                                   contract.container_repository_name(use_case.name))
            yield Flow(f"{use_case.name}: the {tier} model reads its artifacts", role, "s3:GetObject",
                       f"{models}/{use_case.name}/model.tar.gz", True)
            yield Flow(f"{use_case.name}: the {tier} model decrypts its artifacts", role, "kms:Decrypt",
                       _key_arn(world, "artifact"), True)
            yield Flow(f"{use_case.name}: the {tier} model pulls its image", role, "ecr:BatchGetImage",
                       repository, True)


def monitoring_image_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """With the open drift engine, each retraining pipeline (its baseline step) and each drift check pulls the
    monitoring image from the artifact tier; the image build role alone pushes it; data scientists cannot."""
    if cfg.drift_engine != "open":
        return
    artifact_account = cfg.account_of_tier("artifact")
    repository = naming.ecr_repository_arn(cfg.region, artifact_account, contract.MONITORING_IMAGE_REPOSITORY)
    ops_account = cfg.account_of_tier("ops")
    for use_case in cfg.use_cases:
        retraining = contract.role_arn(cfg.partition, ops_account, contract.retraining_role_name(use_case.name))
        yield Flow(f"{use_case.name}: retraining pulls the monitoring image", retraining, "ecr:BatchGetImage",
                   repository, True)
        drift_check = contract.role_arn(cfg.partition, ops_account, contract.drift_check_role_name(use_case.name))
        if drift_check in world.roles:  # created with the drift check
            yield Flow(f"{use_case.name}: the drift check pulls the monitoring image", drift_check,
                       "ecr:BatchGetImage", repository, True)
    cicd_account = cfg.account_of_tier("cicd")
    build = contract.role_arn(cfg.partition, cicd_account, contract.monitoring_image_build_role_name())
    if build in world.roles:  # created with the image build
        yield Flow("the image build pushes the monitoring image", build, "ecr:PutImage", repository, True)
    for who, principal in _data_scientist_principals(cfg, world):
        yield Flow(f"{who} cannot push the monitoring image", principal, "ecr:PutImage", repository, False)
        yield Flow(f"{who} cannot upload layers of the monitoring image", principal, "ecr:InitiateLayerUpload",
                   repository, False)


def inference_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each inference API's function invokes its endpoint and nothing more: it cannot redeploy it."""
    for tier in topology.serving_tiers(cfg.size):
        for use_case in (u for u in cfg.use_cases if u.serve):
            function = _role_arn(cfg, tier, contract.inference_role_name(use_case.name, tier))
            endpoint = contract.endpoint_arn(cfg.region, cfg.account_of_tier(tier), use_case.name, tier)
            yield Flow(f"{use_case.name}: the {tier} API invokes its endpoint", function, "sagemaker:InvokeEndpoint",
                       endpoint, True)
            yield Flow(f"{use_case.name}: the {tier} API cannot redeploy its endpoint", function,
                       "sagemaker:UpdateEndpoint", endpoint, False)


def deployer_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The approval deployer (small size) reads the registry, rolls its endpoint out as the model's role, records the
    served version in its tier's state, parks failures and announces them; it records nothing for another use case."""
    for tier in topology.serving_tiers(cfg.size):
        account = cfg.account_of_tier(tier)
        for use_case in (u for u in cfg.use_cases if u.serve):
            deployer = _role_arn(cfg, tier, contract.deployer_role_name(use_case.name, tier))
            if deployer not in world.roles:
                continue  # the larger sizes deploy through the CI/CD path
            endpoint_name = contract.endpoint_name(use_case.name, tier)
            group = contract.model_package_group_name(use_case.name)
            registry = naming.sagemaker_scope(cfg.region, cfg.account_of_tier("artifact"))
            yield Flow(f"{use_case.name}: the deployer reads an approved package", deployer,
                       "sagemaker:DescribeModelPackage", f"{registry}:model-package/{group}/3", True)
            yield Flow(f"{use_case.name}: the deployer rolls out its endpoint", deployer, "sagemaker:UpdateEndpoint",
                       contract.endpoint_arn(cfg.region, account, use_case.name, tier), True)
            yield Flow(f"{use_case.name}: the deployer runs models as the model role", deployer, "iam:PassRole",
                       _role_arn(cfg, tier, contract.model_role_name(use_case.name, tier)), True,
                       {"iam:PassedToService": "sagemaker.amazonaws.com"})
            yield Flow(f"{use_case.name}: the deployer records the served version", deployer, "ssm:PutParameter",
                       naming.ssm_parameter_arn(cfg.region, account,
                                                contract.served_model_parameter(tier, use_case.name)), True)
            yield Flow(f"{use_case.name}: the deployer records no other use case's version", deployer,
                       "ssm:PutParameter",
                       naming.ssm_parameter_arn(cfg.region, account, contract.served_model_parameter(tier, "another")),
                       False)
            yield Flow(f"{use_case.name}: the deployer parks permanent failures", deployer, "sqs:SendMessage",
                       naming.queue_arn(cfg.region, account, contract.deploy_dead_letter_queue_name(endpoint_name)),
                       True)
            yield Flow(f"{use_case.name}: the deployer announces on its notices topic", deployer, "sns:Publish",
                       naming.topic_arn(cfg.region, account, contract.deploy_notices_topic_name(endpoint_name)), True)
            yield Flow(f"{use_case.name}: the deployer encrypts its notices", deployer, "kms:GenerateDataKey",
                       _key_arn(world, tier), True)


def deploy_path_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The CI/CD pipeline role and the bootstrap role assume every workload account's deploy role; the serving
    tiers' deploy roles read the served versions their `pulumi up` builds."""
    if not topology.has_organization(cfg.size):
        return
    for tier in topology.serving_tiers(cfg.size):
        account = cfg.account_of_tier(tier)
        path = contract.served_models_path(tier).rstrip("/")
        yield Flow(f"the {tier} deploy role reads the served versions", contract.deploy_role_arn(
            cfg.partition, account, cfg.deploy_role_name), "ssm:GetParametersByPath",
            naming.ssm_parameter_arn(cfg.region, account, path), True)
    callers = [contract.deploy_pipeline_role_arn(cfg.partition, cfg.account_of_tier("cicd")),
               contract.bootstrap_role_arn(cfg.partition, cfg.accounts["management"])]
    for account in sorted({cfg.account_of_tier(tier) for tier in topology.tiers(cfg.size) if tier != "org"}):
        deploy_role = contract.deploy_role_arn(cfg.partition, account, cfg.deploy_role_name)
        for caller in callers:
            yield Flow(f"{caller.rsplit('/', 1)[1]} assumes the deploy role of {account}", caller,
                       "sts:AssumeRole", deploy_role, True)


def experiment_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """What Studio needs of the data scientists' role: list, run jobs in the VPC, read the registry, follow
    pipeline runs."""
    scientist = _data_scientists(cfg)
    dev = naming.sagemaker_scope(cfg.region, cfg.account_of_tier("dev"))
    yield Flow("data scientists list their training jobs", scientist, "sagemaker:ListTrainingJobs", "*", True)
    yield Flow("data scientists list Studio apps", scientist, "sagemaker:ListApps", "*", True)
    yield Flow("data scientists' jobs attach to the VPC", scientist, "ec2:CreateNetworkInterface",
               naming.ec2_arn(cfg.region, cfg.account_of_tier("dev"), "network-interface/*"), True)
    job = f"{dev}:processing-job/explore"
    compliant: dict[str, str | list[str]] = {"sagemaker:VolumeKmsKeyArn": _key_arn(world, "dev"),
                                              "sagemaker:VpcSubnets": ["subnet-0a1b2c3d"]}
    yield Flow("data scientists run processing jobs in the VPC with a volume key", scientist,
               "sagemaker:CreateProcessingJob", job, True, compliant)
    if topology.has_organization(cfg.size):
        yield Flow("the guardrail SCP refuses a job without a volume key", scientist, "sagemaker:CreateProcessingJob",
                   job, False, {"sagemaker:VpcSubnets": ["subnet-0a1b2c3d"]})
    for use_case in cfg.use_cases:
        group = contract.model_package_group_arn(cfg.region, cfg.account_of_tier("artifact"), use_case.name)
        yield Flow(f"data scientists read the {use_case.name} registry", scientist,
                   "sagemaker:DescribeModelPackageGroup", group, True)
        # Pipelines take no resource policy: in another account, data scientists run them as its operator role.
        runner = scientist
        if cfg.account_of_tier("ops") != cfg.account_of_tier("dev"):
            runner = _role_arn(cfg, "ops", contract.pipeline_operator_role_name())
        pipeline = naming.sagemaker_arn(cfg.region, cfg.account_of_tier("ops"),
                                        f"pipeline/{contract.pipeline_name(use_case.name)}")
        who = "data scientists" if runner == scientist else "data scientists (as the ops operator)"
        yield Flow(f"{who} start the {use_case.name} pipeline", runner, "sagemaker:StartPipelineExecution",
                   pipeline, True)
        yield Flow(f"{who} follow a {use_case.name} pipeline run", runner, "sagemaker:DescribePipelineExecution",
                   f"{pipeline}/execution/abc123def456", True)
        if runner != scientist:
            package = naming.sagemaker_arn(cfg.region, cfg.account_of_tier("artifact"),
                                           f"model-package/{contract.model_package_group_name(use_case.name)}/1")
            yield Flow(f"the ops pipeline operator cannot approve {use_case.name} models", runner,
                       "sagemaker:UpdateModelPackage", package, False)
    if cfg.account_of_tier("ops") != cfg.account_of_tier("dev"):
        operator = _role_arn(cfg, "ops", contract.pipeline_operator_role_name())
        yield Flow("data scientists assume the ops pipeline operator", scientist, "sts:AssumeRole", operator, True)


def identity_center_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """A data scientist signed in through Identity Center opens their own Studio profile and nobody else's, and
    reaches no staging or prod deploy role."""
    scientist = identity_center_role_arn(cfg.partition, cfg.account_of_tier("dev"),
                                         contract.DATA_SCIENTIST_PERMISSION_SET)
    if scientist not in world.identity_center_roles:
        return  # no organization, or no group assigned the permission set
    profile = naming.sagemaker_arn(cfg.region, cfg.account_of_tier("dev"), "user-profile/d-studio/alice")
    as_alice = f"aws:PrincipalTag/{contract.STUDIO_USER_TAG}"
    tag = f"sagemaker:ResourceTag/{contract.STUDIO_USER_TAG}"
    yield Flow("a data scientist opens their own Studio profile", scientist, "sagemaker:CreatePresignedDomainUrl",
               profile, True, {as_alice: "alice", tag: "alice"})
    yield Flow("a data scientist cannot open another's Studio profile", scientist,
               "sagemaker:CreatePresignedDomainUrl", profile, False, {as_alice: "bob", tag: "alice"})
    for tier in topology.serving_tiers(cfg.size):
        yield Flow(f"a data scientist's Identity Center role cannot assume the {tier} deploy role", scientist,
                   "sts:AssumeRole",
                   contract.deploy_role_arn(cfg.partition, cfg.account_of_tier(tier), cfg.deploy_role_name), False)


def separation_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Nothing the data scientists' Studio role holds reaches staging, prod, or what prod deploys."""
    scientist = _data_scientists(cfg)
    models = _bucket_arn(world, "artifact-model-artifacts")
    yield Flow("data scientists cannot overwrite model artifacts", scientist, "s3:PutObject",
               f"{models}/churn/model.tar.gz", False)
    for tier in topology.serving_tiers(cfg.size):
        account = cfg.account_of_tier(tier)
        if topology.has_organization(cfg.size):
            yield Flow(f"data scientists cannot assume the {tier} deploy role", scientist, "sts:AssumeRole",
                       contract.deploy_role_arn(cfg.partition, account, cfg.deploy_role_name), False)
        for use_case in cfg.use_cases:
            endpoint_name = contract.endpoint_name(use_case.name, tier)
            endpoint = naming.sagemaker_arn(cfg.region, account, f"endpoint/{endpoint_name}")
            yield Flow(f"data scientists cannot change the {use_case.name} {tier} endpoint", scientist,
                       "sagemaker:UpdateEndpoint", endpoint, False)


def _data_scientist_principals(cfg: PlatformConfig, world: World) -> list[tuple[str, str]]:
    """(who, ARN) of every identity data scientists act as: their Studio role and, with an organization, their
    Identity Center role."""
    principals = [("data scientists' Studio role",
                   _data_scientists(cfg))]
    sso = identity_center_role_arn(cfg.partition, cfg.account_of_tier("dev"), contract.DATA_SCIENTIST_PERMISSION_SET)
    if sso in world.identity_center_roles:
        principals.append(("data scientists' Identity Center role", sso))
    return principals


def own_rights_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Separation layer 4: what the data scientists' own policies allow, whatever the resources' policies say —
    no staging/prod role or deploy role to assume, no endpoint to change, no model to approve, no IAM to write."""
    serving = list(topology.serving_tiers(cfg.size))
    protected_roles = sorted(arn for arn, role in world.roles.items() if contract.tier_from_urn(role.urn) in serving)
    if topology.has_organization(cfg.size):
        protected_roles += [contract.deploy_role_arn(cfg.partition, cfg.account_of_tier(t), cfg.deploy_role_name)
                            for t in serving]
        protected_roles.append(contract.deploy_pipeline_role_arn(cfg.partition, cfg.account_of_tier("cicd")))
    registry = naming.sagemaker_arn(cfg.region, cfg.account_of_tier("artifact"), "model-package")
    for who, principal in _data_scientist_principals(cfg, world):
        def refused(what: str, action: str, resource: str, principal: str = principal, who: str = who) -> Flow:
            return Flow(f"own rights: the {who} may not {what}", principal, action, resource, False,
                        layer="own-rights", resource_admits=True)
        for role in protected_roles:
            yield refused(f"assume {role.rsplit('/', 1)[1]} ({role.split(':')[4]})", "sts:AssumeRole", role)
        for tier in serving:
            for use_case in cfg.use_cases:
                endpoint = contract.endpoint_arn(cfg.region, cfg.account_of_tier(tier), use_case.name, tier)
                yield refused(f"update the {use_case.name} {tier} endpoint", "sagemaker:UpdateEndpoint", endpoint)
                yield refused(f"create the {use_case.name} {tier} endpoint", "sagemaker:CreateEndpoint", endpoint)
        for use_case in cfg.use_cases:
            package = f"{registry}/{contract.model_package_group_name(use_case.name)}/1"
            yield refused(f"approve {use_case.name} models", "sagemaker:UpdateModelPackage", package)
        own_account_role = naming.role_arn(cfg.partition, principal.split(":")[4], "mlops-escalation")
        for action in ("iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"):
            yield refused(f"call {action}", action, own_account_role)


def guardrail_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Separation layer 3: even a DataScientist role holding every permission in a staging or prod account is
    refused by the SCPs over that account."""
    if not topology.has_organization(cfg.size):
        return
    for tier in topology.serving_tiers(cfg.size):
        account = cfg.account_of_tier(tier)
        if account == cfg.account_of_tier("dev"):
            continue
        principal = identity_center_role_arn(cfg.partition, account, contract.DATA_SCIENTIST_PERMISSION_SET)
        yield Flow(f"guardrails: a DataScientist role in the {tier} account ({account}) is refused by the SCPs",
                   principal, "s3:ListAllMyBuckets", "*", False, layer="guardrails", as_if_granted=True)


def ci_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """CI cannot be turned against production: a pull request's token reaches only the preview roles, which write
    nothing and assume no deploy role; only a job in the prod environment reaches the prod deploy role."""
    repository = cfg.ci.github_repository
    if repository is None:
        return
    yield from _token_flows(cfg, world, repository)
    yield from _preview_role_flows(cfg, world)
    yield from _environment_role_flows(cfg, world)


def _token(subject: str, audience: str = ci.GITHUB_OIDC_AUDIENCE) -> dict[str, str | list[str]]:
    return {ci.SUBJECT_KEY: subject, ci.AUDIENCE_KEY: audience}


def _ci_accounts(cfg: PlatformConfig) -> list[str]:
    return sorted(set(cfg.accounts.values()))


def _token_flows(cfg: PlatformConfig, world: World, repository: str) -> Iterator[Flow]:
    cicd = cfg.account_of_tier("cicd")
    pull_request = _token(ci.pull_request_subject(repository))
    for account in _ci_accounts(cfg):
        oidc, preview = ci.oidc_provider_arn(cfg.partition, account), ci.preview_role_arn(cfg.partition, account)
        yield Flow(f"a pull request's token assumes the preview role of {account}", oidc, ci.WEB_IDENTITY_ACTION,
                   preview, True, pull_request, web_identity=True)
        yield Flow(f"a token for another audience cannot assume the preview role of {account}", oidc,
                   ci.WEB_IDENTITY_ACTION, preview, False,
                   _token(ci.pull_request_subject(repository), "https://github.com/attacker"),
                   web_identity=True)
        yield Flow(f"another repository's pull request cannot assume the preview role of {account}", oidc,
                   ci.WEB_IDENTITY_ACTION, preview, False, _token("repo:attacker/fork:pull_request"),
                   web_identity=True)
    oidc = ci.oidc_provider_arn(cfg.partition, cicd)
    for environment in ci.environments(cfg.size):
        role = ci.deploy_role_arn(cfg.partition, cicd, environment)
        yield Flow(f"a job in the {environment} environment assumes its deploy role", oidc, ci.WEB_IDENTITY_ACTION,
                   role, True, _token(ci.environment_subject(repository, environment)), web_identity=True)
        yield Flow(f"a pull request's token cannot assume the {environment} environment's deploy role", oidc,
                   ci.WEB_IDENTITY_ACTION, role, False, pull_request, web_identity=True)
        yield Flow(f"a branch push outside an environment cannot assume the {environment} environment's deploy "
                   "role", oidc, ci.WEB_IDENTITY_ACTION, role, False,
                   _token(f"repo:{repository}:ref:refs/heads/main"), web_identity=True)
        for other in (env for env in ci.environments(cfg.size) if env != environment):
            yield Flow(f"a job in the {other} environment cannot assume the {environment} environment's deploy role",
                       oidc, ci.WEB_IDENTITY_ACTION, role, False,
                       _token(ci.environment_subject(repository, other)), web_identity=True)


def _deploy_roles(cfg: PlatformConfig) -> list[str]:
    return sorted({contract.deploy_role_arn(cfg.partition, cfg.account_of_tier(tier), cfg.deploy_role_name)
                   for tier in topology.tiers(cfg.size) if tier != "org"})


def _preview_role_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Judged on the preview role's own rights whatever the resources say (`resource_admits`), and on the deploy
    roles' real trust where the stacks create them."""
    for account in _ci_accounts(cfg):
        preview = ci.preview_role_arn(cfg.partition, account)
        served = naming.ssm_parameter_arn(cfg.region, account, contract.served_models_path("prod"))
        yield Flow(f"the preview role of {account} reads the served versions", preview, "ssm:GetParametersByPath",
                   served.rstrip("/"), True)
        yield Flow(f"the preview role of {account} reads the availability zones", preview,
                   "ec2:DescribeAvailabilityZones", "*", True)
        writes = {"iam:CreateRole": naming.role_arn(cfg.partition, account, "mlops-escalation"),
                  "iam:UpdateAssumeRolePolicy": contract.role_arn(cfg.partition, account, cfg.deploy_role_name),
                  "ssm:PutParameter": f"{served}churn",
                  "sagemaker:UpdateEndpoint": naming.sagemaker_arn(cfg.region, account, "endpoint/churn-prod"),
                  "lambda:UpdateFunctionCode": naming.function_arn(cfg.region, account, "mlops-any"),
                  "s3:PutObject": f"{_bucket_arn(world, 'artifact-model-artifacts')}/churn/model.tar.gz",
                  "ecr:PutImage": naming.ecr_repository_arn(cfg.region, account, "mlops-platform/churn")}
        for action, resource in writes.items():
            yield Flow(f"PR preview cannot write anywhere: the preview role of {account} may not {action}", preview,
                       action, resource, False, resource_admits=True)
        for deploy_role in [*_deploy_roles(cfg), *(ci.deploy_role_arn(cfg.partition, cfg.account_of_tier("cicd"), env)
                                                   for env in ci.environments(cfg.size))]:
            yield Flow(f"PR preview cannot assume a deploy role: {account}'s preview role may not assume "
                       f"{deploy_role.rsplit('/', 1)[1]} ({deploy_role.split(':')[4]})", preview, "sts:AssumeRole",
                       deploy_role, False, resource_admits=True)
            if deploy_role in world.roles:
                yield Flow(f"{deploy_role.rsplit('/', 1)[1]} ({deploy_role.split(':')[4]}) does not trust the "
                           f"preview role of {account}", preview, "sts:AssumeRole", deploy_role, False)
    management = cfg.accounts.get("management")
    if management is not None:
        for member in (a for a in _ci_accounts(cfg) if a != management):
            yield Flow(f"the org stack's preview reads {member} through its preview role", ci.preview_role_arn(
                cfg.partition, management), "sts:AssumeRole", ci.preview_role_arn(cfg.partition, member), True)


def _environment_role_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each environment's deploy role reaches its own accounts' deploy roles and no other: only the prod
    environment reaches the prod deploy role."""
    cicd = cfg.account_of_tier("cicd")
    reached = ci.environment_accounts(cfg.size, cfg.accounts)
    for environment, accounts in reached.items():
        role = ci.deploy_role_arn(cfg.partition, cicd, environment)
        for deploy_role in _deploy_roles(cfg):
            allowed = deploy_role.split(":")[4] in accounts
            if allowed or deploy_role in world.roles:  # the small size's deploy role (by hand) is the same one
                verb = "reaches" if allowed else "cannot reach"
                yield Flow(f"the {environment} environment {verb} the deploy role of {deploy_role.split(':')[4]}",
                           role, "sts:AssumeRole", deploy_role, allowed, resource_admits=deploy_role not in world.roles)


def _via_s3(cfg: PlatformConfig, bucket_arn: str) -> dict[str, str | list[str]]:
    """What S3 sends KMS when it encrypts or decrypts for a bucket with an S3 Bucket Key."""
    return {"kms:ViaService": naming.regional_hostname("s3", cfg.region),
            "kms:EncryptionContext:aws:s3:arn": bucket_arn}


def _served_use_cases(cfg: PlatformConfig) -> list[str]:
    return [use_case.name for use_case in cfg.use_cases if use_case.serve]


def capture_replication_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each serving tier's replication role reads its captured versions, replicates them into its own prefixes of the
    ops capture bucket, hands them over and encrypts them with the ops key (across accounts in medium and large); it
    cannot write another tier's prefix nor read back with the ops key."""
    serving = list(topology.serving_tiers(cfg.size))
    replicators = {tier: contract.role_arn(cfg.partition, cfg.account_of_tier(tier),
                                           contract.capture_replication_role_name(tier)) for tier in serving}
    replicators = {tier: role for tier, role in replicators.items() if role in world.roles}
    if not replicators:
        return
    capture, ops_key = _bucket_arn(world, "ops-data-capture"), _key_arn(world, "ops")
    cross_account = {tier: cfg.account_of_tier(tier) != cfg.account_of_tier("ops") for tier in replicators}
    for tier, role in replicators.items():
        source = _bucket_arn(world, f"{tier}-data-capture")
        for use_case in _served_use_cases(cfg):
            prefix = contract.replicated_capture_prefix(use_case, tier)
            captured = f"{prefix}{contract.endpoint_name(use_case, tier)}/AllTraffic/2026/12/03/10/capture.jsonl"
            yield Flow(f"{use_case}: the {tier} replication reads its captured versions", role,
                       "s3:GetObjectVersionForReplication", f"{source}/{captured}", True)
            yield Flow(f"{use_case}: the {tier} replication decrypts its captured objects", role, "kms:Decrypt",
                       _key_arn(world, tier), True, _via_s3(cfg, source))
            yield Flow(f"{use_case}: the {tier} replication replicates into its prefix", role, "s3:ReplicateObject",
                       f"{capture}/{captured}", True)
            if cross_account[tier]:
                yield Flow(f"{use_case}: the {tier} replication hands its replicas to the ops account", role,
                           "s3:ObjectOwnerOverrideToBucketOwner", f"{capture}/{captured}", True)
            for other in (t for t in serving if t != tier):
                yield Flow(f"{use_case}: the {tier} replication cannot write the {other} prefix", role,
                           "s3:ReplicateObject", f"{capture}/{contract.replicated_capture_prefix(use_case, other)}x",
                           False)
        yield Flow(f"the {tier} replication encrypts replicas with the ops key", role, "kms:GenerateDataKey", ops_key,
                   True, _via_s3(cfg, capture))
        yield Flow(f"the {tier} replication cannot decrypt with the ops key", role, "kms:Decrypt", ops_key, False,
                   _via_s3(cfg, capture))


def _others_writing_captures(cfg: PlatformConfig, world: World, use_case: str) -> list[tuple[str, str]]:
    """(who, ARN) of every identity that must not write `use_case`'s captured traffic: the data scientists, the ops
    tier's deploy role, and the retraining and drift check roles of the use case itself and of the one configured
    after it. Every use case's roles are built by the same code, so its own traffic and one neighbour's stand for
    all others: checking every pair would grow with the square of the use cases (about 23,000 flows at 50)."""
    ops = cfg.account_of_tier("ops")
    others = list(_data_scientist_principals(cfg, world))
    deploy_role = contract.deploy_role_arn(cfg.partition, ops, cfg.deploy_role_name)
    if deploy_role in world.roles:
        others.append(("ops deploy role", deploy_role))
    names = [u.name for u in cfg.use_cases]
    position = names.index(use_case)
    for writer in dict.fromkeys((use_case, names[(position + 1) % len(names)])):
        others.append((f"{writer} retraining role",
                       contract.role_arn(cfg.partition, ops, contract.retraining_role_name(writer))))
        others.append((f"{writer} drift check role",
                       contract.role_arn(cfg.partition, ops, contract.drift_check_role_name(writer))))
    return others


def drift_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The drift check reads the replicated traffic and the serving version's baseline, finds that version in the
    registry and the retraining in flight, writes its report, puts its metrics (in its namespace only) and its event;
    the rule's role starts the retraining pipeline and nothing else; nobody but the replication roles writes or
    deletes captured traffic."""
    ops = cfg.account_of_tier("ops")
    checks = {u.name: contract.role_arn(cfg.partition, ops, contract.drift_check_role_name(u.name))
              for u in cfg.use_cases}
    checks = {use_case: role for use_case, role in checks.items() if role in world.roles}
    if not checks:
        return
    capture, models = _bucket_arn(world, "ops-data-capture"), _bucket_arn(world, "artifact-model-artifacts")
    registry = naming.sagemaker_scope(cfg.region, cfg.account_of_tier("artifact"))
    for use_case, check in checks.items():
        group = contract.model_package_group_name(use_case)
        retraining = naming.sagemaker_arn(cfg.region, ops, f"pipeline/{contract.pipeline_name(use_case)}")
        drift = naming.sagemaker_arn(cfg.region, ops, f"pipeline/{contract.drift_pipeline_name(use_case)}")
        captured = f"{capture}/{contract.replicated_capture_prefix(use_case, 'prod')}capture.jsonl"
        yield Flow(f"{use_case}: the drift check reads the replicated traffic", check, "s3:GetObject", captured, True)
        yield Flow(f"{use_case}: the drift check decrypts the replicated traffic", check, "kms:Decrypt",
                   _key_arn(world, "ops"), True)
        yield Flow(f"{use_case}: the drift check writes its report", check, "s3:PutObject",
                   f"{capture}/{contract.drift_reports_prefix(use_case)}run/drift-report.json", True)
        yield Flow(f"{use_case}: the drift check reads the serving version's baseline", check, "s3:GetObject",
                   f"{models}/{use_case}/retraining/run/baseline/baseline.json", True)
        yield Flow(f"{use_case}: the drift check decrypts the baseline", check, "kms:Decrypt",
                   _key_arn(world, "artifact"), True)
        yield Flow(f"{use_case}: the drift check lists the registered versions", check, "sagemaker:ListModelPackages",
                   "*", True)
        yield Flow(f"{use_case}: the drift check describes the serving version", check,
                   "sagemaker:DescribeModelPackage", f"{registry}:model-package/{group}/3", True)
        yield Flow(f"{use_case}: the drift check sees the retraining in flight", check,
                   "sagemaker:ListPipelineExecutions", retraining, True)
        yield Flow(f"{use_case}: the drift check puts its metrics", check, "cloudwatch:PutMetricData", "*", True,
                   {"cloudwatch:namespace": contract.DRIFT_METRIC_NAMESPACE})
        yield Flow(f"{use_case}: the drift check puts no metrics in another namespace", check,
                   "cloudwatch:PutMetricData", "*", False, {"cloudwatch:namespace": "AWS/SageMaker"})
        yield Flow(f"{use_case}: the drift check puts its drift event", check, "events:PutEvents",
                   naming.event_bus_arn(cfg.region, ops), True, {"events:source": [contract.DRIFT_EVENT_SOURCE]})
        yield Flow(f"{use_case}: the drift check puts no event in another source's name", check, "events:PutEvents",
                   naming.event_bus_arn(cfg.region, ops), False, {"events:source": ["aws.sagemaker"]})
        yield Flow(f"{use_case}: the drift check cannot start the retraining itself", check,
                   "sagemaker:StartPipelineExecution", retraining, False)
        schedule = contract.role_arn(cfg.partition, ops, contract.role_name("ops", f"{use_case}-drift-schedule"))
        yield Flow(f"{use_case}: the drift schedule starts the drift check", schedule,
                   "sagemaker:StartPipelineExecution", drift, True)
        rule = contract.role_arn(cfg.partition, ops, contract.role_name("ops", f"{use_case}-retrain-on-drift"))
        if rule not in world.roles:  # the rule invokes the use case's retraining starter (its own image)
            rule = contract.role_arn(cfg.partition, ops, contract.retraining_starter_role_name(use_case))
        yield Flow(f"{use_case}: the drift rule starts the retraining pipeline", rule,
                   "sagemaker:StartPipelineExecution", retraining, True)
        yield Flow(f"{use_case}: the drift rule cannot start the drift check", rule,
                   "sagemaker:StartPipelineExecution", drift, False)
        yield Flow(f"{use_case}: the drift rule cannot stop a retraining run", rule,
                   "sagemaker:StopPipelineExecution", f"{retraining}/execution/abc123def456", False)
        writers = _others_writing_captures(cfg, world, use_case)
        for tier in (t for t in topology.SERVING_TIERS if t in topology.tiers(cfg.size)):
            captured = f"{capture}/{contract.replicated_capture_prefix(use_case, tier)}capture.jsonl"
            for who, principal in writers:
                for action in ("s3:PutObject", "s3:DeleteObjectVersion"):
                    yield Flow(f"{use_case}: the {who} cannot {action} {tier}'s captured traffic", principal,
                               action, captured, False)


def promotion_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Promotion (medium, large): the starter starts exactly its pipeline; approvals reach the cicd bus from the
    registry's account; the pipeline role keeps the stacks' state and reads its artifacts; the deploy roles record
    served versions. Data scientists can neither record a served version nor start or approve a promotion, and the
    staging deploy role cannot reach prod's."""
    served = [u for u in cfg.use_cases if u.serve]
    cicd = cfg.account_of_tier("cicd")
    pipeline_role = contract.deploy_pipeline_role_arn(cfg.partition, cicd)
    if not topology.has_organization(cfg.size) or not served or pipeline_role not in world.roles:
        return
    for use_case in served:
        starter = contract.role_arn(cfg.partition, cicd, contract.promotion_starter_role_name(use_case.name))
        pipeline = naming.codepipeline_arn(cfg.region, cicd, contract.promotion_pipeline_name(use_case.name))
        yield Flow(f"{use_case.name}: the starter starts its promotion pipeline", starter,
                   "codepipeline:StartPipelineExecution", pipeline, True)
        yield Flow(f"{use_case.name}: the starter starts no other pipeline", starter,
                   "codepipeline:StartPipelineExecution",
                   naming.codepipeline_arn(cfg.region, cicd, contract.pipeline_name(use_case.name)), False)
        for who, scientist in _data_scientist_principals(cfg, world):
            yield Flow(f"{use_case.name}: {who} cannot start the promotion pipeline", scientist,
                       "codepipeline:StartPipelineExecution", pipeline, False)
            yield Flow(f"{use_case.name}: {who} cannot approve the promotion's prod gate", scientist,
                       "codepipeline:PutApprovalResult", f"{pipeline}/Approve/PromoteToProd", False)
            for tier in topology.SERVING_TIERS:
                parameter = naming.ssm_parameter_arn(cfg.region, cfg.account_of_tier(tier),
                                                     contract.served_model_parameter(tier, use_case.name))
                yield Flow(f"{use_case.name}: {who} cannot record the {tier} served version", scientist,
                           "ssm:PutParameter", parameter, False)
        for tier in topology.SERVING_TIERS:
            account = cfg.account_of_tier(tier)
            yield Flow(f"{use_case.name}: the {tier} deploy role records the promoted version",
                       contract.deploy_role_arn(cfg.partition, account, cfg.deploy_role_name), "ssm:PutParameter",
                       naming.ssm_parameter_arn(cfg.region, account,
                                                contract.served_model_parameter(tier, use_case.name)), True)
    yield from _pipeline_role_flows(cfg, world, pipeline_role)
    staging, prod = (contract.deploy_role_arn(cfg.partition, cfg.account_of_tier(t), cfg.deploy_role_name)
                     for t in topology.SERVING_TIERS)
    yield Flow("the staging deploy role cannot assume the prod deploy role", staging, "sts:AssumeRole", prod, False)
    registry = cfg.account_of_tier("artifact")
    if registry != cicd:
        forwarder = contract.role_arn(cfg.partition, registry, contract.approval_forwarder_role_name())
        bus = naming.event_bus_arn(cfg.region, cicd)
        yield Flow("the artifact account forwards approvals to the cicd bus", forwarder, "events:PutEvents", bus,
                   True)
        yield Flow("another role of the artifact account cannot put events on the cicd bus",
                   contract.role_arn(cfg.partition, registry, contract.model_approver_role_name("artifact")),
                   "events:PutEvents", bus, False)


def _pipeline_role_flows(cfg: PlatformConfig, world: World, pipeline_role: str) -> Iterator[Flow]:
    """The builds (as the deploy path's pipeline role) read their artifacts and keep the state and its secrets."""
    artifacts = _bucket_arn(world, "cicd-pipeline-artifacts")
    yield Flow("the pipeline role reads the source artifact", pipeline_role, "s3:GetObject",
               f"{artifacts}/churn-promotion/source/abc.zip", True)
    yield Flow("the pipeline role decrypts the artifacts", pipeline_role, "kms:Decrypt", _key_arn(world, "cicd"),
               True)
    yield Flow("the pipeline role writes its build logs", pipeline_role, "logs:PutLogEvents", naming.log_group_arn(
        cfg.region, cfg.account_of_tier("cicd"), f"/aws/codebuild/{contract.PROMOTION_DEPLOY_PROJECT}")
        + ":log-stream:x", True)
    if not cfg.state_backend.is_s3:
        return
    state = _bucket_arn(world, "cicd-state")
    state_key = next(str(k.outputs["arn"]) for k in world.keys.values() if k.name == "cicd-state-key")
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        yield Flow(f"the pipeline role keeps stack state ({action})", pipeline_role, action,
                   f"{state}/.pulumi/stacks/mlops-platform/staging.json", True)
    yield Flow("the pipeline role lists stack state", pipeline_role, "s3:ListBucket", state, True)
    for action in ("kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"):
        yield Flow(f"the pipeline role uses the secrets key ({action})", pipeline_role, action, state_key, True)
    yield Flow("data scientists cannot read stack state", _data_scientists(cfg), "s3:GetObject",
               f"{state}/.pulumi/stacks/mlops-platform/prod.json", False)


def container_build_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each use case with its own image: its image build role alone pushes to its repository (not data
    scientists, its retraining role, another use case's build or the monitoring image's); the ops retraining role
    pulls it (the served models' pulls are `serving_flows`'); the build alone assumes the recorder role, which
    alone writes the use case's image record; the retraining starter reads it and starts the pipeline."""
    imaged = [u for u in cfg.use_cases if u.image is not None]
    builds = {u.name: _role_arn(cfg, "cicd", contract.image_build_role_name(u.name)) for u in imaged}
    monitoring_build = _role_arn(cfg, "cicd", contract.monitoring_image_build_role_name())
    for use_case in imaged:
        name = use_case.name
        repository = naming.ecr_repository_arn(cfg.region, cfg.account_of_tier("artifact"),
                                               contract.container_repository_name(name))
        build, retraining = builds[name], _role_arn(cfg, "ops", contract.retraining_role_name(name))
        recorder = _role_arn(cfg, "ops", contract.image_recorder_role_name(name))
        starter = _role_arn(cfg, "ops", contract.retraining_starter_role_name(name))
        record = naming.ssm_parameter_arn(cfg.region, cfg.account_of_tier("ops"), contract.image_record_parameter(name))
        for action in ("ecr:InitiateLayerUpload", "ecr:PutImage"):
            yield Flow(f"{name}: its image build pushes its image ({action})", build, action, repository, True)
        yield Flow(f"{name}: retraining pulls its image", retraining, "ecr:BatchGetImage", repository, True)
        others = [(f"the {other} image build", arn) for other, arn in builds.items() if other != name]
        if monitoring_build in world.roles:
            others.append(("the monitoring image build", monitoring_build))
        pushers = [*_data_scientist_principals(cfg, world), (f"the {name} retraining role", retraining), *others]
        deploy_role = contract.deploy_role_arn(cfg.partition, cfg.account_of_tier("artifact"), cfg.deploy_role_name)
        if deploy_role in world.roles:  # it creates the repository, yet never pushes to it
            pushers.append(("the artifact tier's deploy role", deploy_role))
        for who, principal in pushers:
            yield Flow(f"{who} cannot push the {name} image", principal, "ecr:PutImage", repository, False)
        yield Flow(f"{name}: its image build assumes the recorder role", build, "sts:AssumeRole", recorder, True)
        yield Flow(f"{name}: the recorder role writes the image record", recorder, "ssm:PutParameter", record, True)
        for who, principal in [*_data_scientist_principals(cfg, world), (f"the {name} retraining role", retraining),
                               *others]:
            yield Flow(f"{who} cannot assume the {name} recorder role", principal, "sts:AssumeRole", recorder,
                       False)
        for who, principal in [(f"the {name} retraining role", retraining), (f"the {name} starter", starter),
                               *_data_scientist_principals(cfg, world)]:
            yield Flow(f"{who} cannot write the {name} image record", principal, "ssm:PutParameter", record, False)
        for other in (u.name for u in imaged if u.name != name):
            other_record = naming.ssm_parameter_arn(cfg.region, cfg.account_of_tier("ops"),
                                                    contract.image_record_parameter(other))
            yield Flow(f"the {name} recorder role cannot write the {other} image record", recorder,
                       "ssm:PutParameter", other_record, False)
        pipeline = naming.sagemaker_arn(cfg.region, cfg.account_of_tier("ops"),
                                        f"pipeline/{contract.pipeline_name(name)}")
        yield Flow(f"{name}: the retraining starter reads the image record", starter, "ssm:GetParameter", record,
                   True)
        yield Flow(f"{name}: the retraining starter starts the pipeline", starter, "sagemaker:StartPipelineExecution",
                   pipeline, True)


def bias_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """`features.clarify`: the retraining pipeline's bias step reads the trained model and writes the bias and
    explainability reports beside it; the drift check reads the registered post-training report and the ground truth
    under its use case's prefix, nothing else of that bucket; nobody else rewrites a registered report. The
    ground-truth bucket is the data lake's (its policy admits the check there): those flows judge the check's own
    rights."""
    models = _bucket_arn(world, "artifact-model-artifacts")
    ops = cfg.account_of_tier("ops")
    for use_case in (u for u in cfg.use_cases if u.fairness is not None):
        name = use_case.name
        retraining = _role_arn(cfg, "ops", contract.retraining_role_name(name))
        reports = f"{models}/{name}/retraining/run/bias-explainability/bias"
        yield Flow(f"{name}: the bias step reads the trained model", retraining, "s3:GetObject",
                   f"{models}/{name}/retraining/run/train/model/job/output/model.tar.gz", True)
        for report in ("post-training-bias.json", "explainability.json"):
            yield Flow(f"{name}: the bias step writes {report}", retraining, "s3:PutObject", f"{reports}/{report}",
                       True)
        for who, principal in _data_scientist_principals(cfg, world):
            yield Flow(f"{name}: the {who} cannot rewrite the registered bias report", principal, "s3:PutObject",
                       f"{reports}/post-training-bias.json", False)
        check = contract.role_arn(cfg.partition, ops, contract.drift_check_role_name(name))
        if check not in world.roles:
            continue
        yield Flow(f"{name}: the drift check reads the registered bias report", check, "s3:GetObject",
                   f"{reports}/post-training-bias.json", True)
        yield Flow(f"{name}: the drift check cannot rewrite the registered bias report", check, "s3:PutObject",
                   f"{reports}/post-training-bias.json", False)
        yield from _ground_truth_flows(cfg, world, name, check)


def _ground_truth_flows(cfg: PlatformConfig, world: World, use_case: str, check: str) -> Iterator[Flow]:
    fairness = next(u.fairness for u in cfg.use_cases if u.name == use_case)
    if fairness is None or fairness.ground_truth is None:
        return
    bucket, _, prefix = fairness.ground_truth.removeprefix("s3://").rstrip("/").partition("/")
    lake = cfg.account_of_tier("data")  # where the data lake keeps ground truth
    labels = naming.objects_arn(cfg.partition, f"{bucket}/{prefix}").removesuffix("*")
    yield Flow(f"{use_case}: the drift check reads ground truth", check, "s3:GetObject",
               f"{labels}2026/12/01/labels.jsonl", True, resource_admits=True, resource_account=lake)
    yield Flow(f"{use_case}: the drift check lists ground truth", check, "s3:ListBucket",
               naming.bucket_arn(cfg.partition, bucket), True, {"s3:prefix": f"{prefix}/"}, resource_admits=True,
               resource_account=lake)
    yield Flow(f"{use_case}: the drift check reads nothing else of the ground truth's bucket", check, "s3:GetObject",
               naming.objects_arn(cfg.partition, f"{bucket}/curated").removesuffix("*") + "customers.parquet", False,
               resource_admits=True, resource_account=lake)
    yield Flow(f"{use_case}: the drift check lists nothing else of the ground truth's bucket", check,
               "s3:ListBucket", naming.bucket_arn(cfg.partition, bucket), False, {"s3:prefix": "curated/"},
               resource_admits=True, resource_account=lake)
    yield Flow(f"{use_case}: the drift check decrypts ground truth under the data tier's key", check, "kms:Decrypt",
               _key_arn(world, "data"), True, resource_admits=True)


def _feature_store_key(world: World) -> str:
    key = next((k for k in world.keys.values() if k.name == "artifact-feature-store-key"), None)
    if key is None:
        raise MatrixError("no stack creates the artifact tier's feature store key")
    return str(key.outputs["arn"])


def _offline_record(cfg: PlatformConfig, bucket: str, use_case: str, group: str) -> str:
    """An object Feature Store writes into a group's offline store."""
    return (f"{bucket}/{contract.feature_group_offline_prefix(use_case, group)}/{cfg.account_of_tier('artifact')}/"
            f"sagemaker/{cfg.region}/offline-store/{group}-1733220000/data/year=2026/month=12/day=03/hour=10/"
            "records.parquet")


def _outside_feature_readers(cfg: PlatformConfig, world: World, use_case: str) -> list[tuple[str, str]]:
    """(who, ARN) of roles that must not use `use_case`'s groups: other use cases' retraining roles, the use case's
    own drift check, every served model's role."""
    ops = cfg.account_of_tier("ops")
    outside = [(f"the {other.name} retraining role", _role_arn(cfg, "ops", contract.retraining_role_name(other.name)))
               for other in cfg.use_cases if other.name != use_case]
    drift = contract.role_arn(cfg.partition, ops, contract.drift_check_role_name(use_case))
    if drift in world.roles:
        outside.append((f"the {use_case} drift check", drift))
    for tier in topology.serving_tiers(cfg.size):
        for served in (u for u in cfg.use_cases if u.serve):
            outside.append((f"the {tier} {served.name} model",
                            _role_arn(cfg, tier, contract.model_role_name(served.name, tier))))
    return outside


def feature_store_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """Each use case's retraining role and the data scientists get and put records of its groups, read their offline
    stores and decrypt them, across accounts through the RAM share; other use cases' roles, drift checks and served
    models cannot; nobody but the feature store role writes an offline store."""
    groups = [g for g in cfg.feature_groups if cfg.features.feature_store]
    if not groups:
        return
    bucket, key = _bucket_arn(world, "artifact-feature-store"), _feature_store_key(world)
    writer = _role_arn(cfg, "artifact", contract.feature_store_role_name())
    scientists = _data_scientists(cfg)
    for group in groups:
        arn = naming.feature_group_arn(cfg.region, cfg.account_of_tier("artifact"), group.name)
        record = _offline_record(cfg, bucket, group.use_case, group.name)
        readers = [(f"the {group.use_case} retraining role",
                    _role_arn(cfg, "ops", contract.retraining_role_name(group.use_case))),
                   ("the data scientists", scientists)]
        for who, reader in readers:
            for action in ("sagemaker:GetRecord", "sagemaker:PutRecord", "sagemaker:BatchGetRecord",
                           "sagemaker:DescribeFeatureGroup"):
                yield Flow(f"{group.name}: {who} {action}", reader, action, arn, True)
            yield Flow(f"{group.name}: {who} cannot delete records", reader, "sagemaker:DeleteRecord", arn, False)
            yield Flow(f"{group.name}: {who} reads the offline store", reader, "s3:GetObject", record, True)
            yield Flow(f"{group.name}: {who} lists the offline store", reader, "s3:ListBucket", bucket, True,
                       {"s3:prefix": f"{contract.feature_group_offline_prefix(group.use_case, group.name)}/"})
            yield Flow(f"{group.name}: {who} cannot write the offline store", reader, "s3:PutObject", record, False)
        yield Flow(f"{group.name}: the retraining role decrypts features",
                   _role_arn(cfg, "ops", contract.retraining_role_name(group.use_case)), "kms:Decrypt", key, True)
        yield Flow(f"{group.name}: the data scientists decrypt features", scientists, "kms:Decrypt", key, True)
        for who, outsider in _outside_feature_readers(cfg, world, group.use_case):
            yield Flow(f"{group.name}: {who} cannot get records", outsider, "sagemaker:GetRecord", arn, False)
            yield Flow(f"{group.name}: {who} cannot put records", outsider, "sagemaker:PutRecord", arn, False)
            yield Flow(f"{group.name}: {who} cannot read the offline store", outsider, "s3:GetObject", record, False)
            yield Flow(f"{group.name}: {who} cannot list the offline store", outsider, "s3:ListBucket", bucket, False,
                       {"s3:prefix": f"{contract.feature_group_offline_prefix(group.use_case, group.name)}/"})
        deploy_role = contract.deploy_role_arn(cfg.partition, cfg.account_of_tier("artifact"), cfg.deploy_role_name)
        if deploy_role in world.roles:  # the small size's deploy role is created by hand, outside the stacks
            for action in ("s3:PutObject", "s3:DeleteObjectVersion"):
                yield Flow(f"{group.name}: the artifact deploy role cannot {action} the offline store", deploy_role,
                           action, record, False)
        yield Flow(f"{group.name}: the feature store role writes the offline store", writer, "s3:PutObject", record,
                   True)
        yield Flow(f"{group.name}: the feature store role encrypts the offline store", writer, "kms:GenerateDataKey",
                   key, True)


def data_lake_flows(cfg: PlatformConfig, world: World) -> Iterator[Flow]:
    """The data lake's IAM side (large): each retraining role queries in the ops workgroup and keeps its results;
    data scientists query in theirs, not in ops'; nobody reads raw or curated objects around Lake Formation but the
    roles the design names (its Lake Formation grants are judged exactly by `lake_grants`)."""
    lake = cfg.governed_data_lake
    if lake is None:
        return
    data, ops, dev = (cfg.account_of_tier(tier) for tier in ("data", "ops", "dev"))
    raw, curated = _bucket_arn(world, "data-lake-raw"), _bucket_arn(world, "data-lake-curated")
    location = _role_arn(cfg, "data", contract.data_lake_location_role_name())
    ingest = _role_arn(cfg, "data", contract.data_lake_ingest_role_name())
    curated_object = f"{curated}/{contract.data_lake_table_prefix(lake.tables[0].domain, lake.tables[0].name)}x.parquet"
    raw_object = f"{raw}/{lake.tables[0].domain}/export.csv"
    yield Flow("Lake Formation's location role reads curated objects", location, "s3:GetObject", curated_object,
               True)
    yield Flow("the ingest role writes curated objects", ingest, "s3:PutObject", curated_object, True)
    yield Flow("the ingest role reads raw objects", ingest, "s3:GetObject", raw_object, True)
    yield Flow("the ingest role cannot read curated objects around Lake Formation", ingest, "s3:GetObject",
               curated_object, False)
    yield Flow("the location role cannot read raw objects", location, "s3:GetObject", raw_object, False)
    deploy = contract.deploy_role_arn(cfg.partition, data, cfg.deploy_role_name)
    if deploy in world.roles:  # created by the org stack
        yield Flow("the data tier's deploy role registers curated with the location role", deploy, "iam:PassRole",
                   location, True, context={"iam:PassedToService": "lakeformation.amazonaws.com"})
    for who, principal in (("the data tier's deploy role", deploy), ("the ingest role", ingest)):
        yield Flow(f"even holding every IAM permission, {who} cannot read curated objects", principal,
                   "s3:GetObject", curated_object, False, as_if_granted=True)
    yield Flow("even holding every IAM permission, the location role cannot read raw objects", location,
               "s3:GetObject", raw_object, False, as_if_granted=True)
    yield Flow("even holding every IAM permission, the location role cannot write curated objects", location,
               "s3:PutObject", curated_object, False, as_if_granted=True)
    readers = [(who, principal) for who, principal in _data_scientist_principals(cfg, world)]
    readers += [(f"the {u.name} retraining role", _role_arn(cfg, "ops", contract.retraining_role_name(u.name)))
                for u in cfg.use_cases]
    for who, principal in readers:
        yield Flow(f"{who} cannot read curated objects around Lake Formation", principal, "s3:GetObject",
                   curated_object, False)
        yield Flow(f"{who} cannot read raw objects", principal, "s3:GetObject", raw_object, False)
    yield from _lake_query_flows(cfg, world, ops, dev)


def _lake_query_flows(cfg: PlatformConfig, world: World, ops: str, dev: str) -> Iterator[Flow]:
    ops_workgroup = naming.athena_workgroup_arn(cfg.region, ops, contract.athena_workgroup_name("ops"))
    dev_workgroup = naming.athena_workgroup_arn(cfg.region, dev, contract.athena_workgroup_name("dev"))
    scientists = _data_scientists(cfg)
    yield Flow("data scientists query the data lake in their workgroup", scientists, "athena:StartQueryExecution",
               dev_workgroup, True)
    yield Flow("data scientists ask Lake Formation for data access", scientists, "lakeformation:GetDataAccess", "*",
               True)
    trained = [u for u in cfg.use_cases if u.training_tables]
    if not trained:
        return
    yield Flow("data scientists cannot query in the retraining workgroup", scientists, "athena:StartQueryExecution",
               ops_workgroup, False)
    results = _bucket_arn(world, "ops-data-lake-results")
    results_key = next(arn for arn, key in world.keys.items() if key.name == "ops-data-lake-key")
    for use_case in trained:
        role = _role_arn(cfg, "ops", contract.retraining_role_name(use_case.name))
        link = contract.data_lake_link_name(use_case.training_tables[0].split(".")[0])
        yield Flow(f"{use_case.name}: retraining queries in the ops workgroup", role, "athena:StartQueryExecution",
                   ops_workgroup, True)
        yield Flow(f"{use_case.name}: retraining reads its table through the resource link", role, "glue:GetTable",
                   naming.glue_arn(cfg.region, ops, f"table/{link}/{use_case.training_tables[0].split('.')[1]}"),
                   True)
        yield Flow(f"{use_case.name}: retraining asks Lake Formation for data access", role,
                   "lakeformation:GetDataAccess", "*", True)
        yield Flow(f"{use_case.name}: retraining writes its query results", role, "s3:PutObject",
                   f"{results}/training-data/{use_case.name}/{use_case.training_tables[0]}/0.json.gz", True)
        yield Flow(f"{use_case.name}: retraining encrypts its query results", role, "kms:GenerateDataKey",
                   results_key, True)
        yield Flow(f"{use_case.name}: retraining reads its query results", role, "s3:GetObject",
                   f"{results}/training-data/{use_case.name}/{use_case.training_tables[0]}/0.json.gz", True)
    yield Flow("data scientists cannot read the retraining query results", scientists, "s3:GetObject",
               f"{results}/training-data/{trained[0].name}/{trained[0].training_tables[0]}/0.json.gz", False)


FLOW_BUILDERS: tuple[FlowBuilder, ...] = (retraining_flows, step_script_flows, serving_flows, inference_flows,
                                          monitoring_image_flows, deployer_flows, deploy_path_flows,
                                          capture_replication_flows, drift_flows, experiment_flows,
                                          identity_center_flows, separation_flows, own_rights_flows,
                                          guardrail_flows, ci_flows, promotion_flows, container_build_flows,
                                          bias_flows, feature_store_flows, data_lake_flows)


def designed_flows(cfg: PlatformConfig, world: World) -> list[Flow]:
    return [flow for builder in FLOW_BUILDERS for flow in builder(cfg, world)]
