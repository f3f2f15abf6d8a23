"""The architecture of a size as its captured stacks hold it: boxes (accounts, or stacks in the small size),
the platform's main components inside them, and the designed flows between them.

Components are recognised from resource type tokens (`COMPONENTS`), never from a fixed picture: when a later
change adds, say, a CodePipeline promotion or a feature group, it appears with no change here. A flow's arrow
is drawn only when both its ends (and what it `requires`) are in the capture.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mlops_platform import topology
from mlops_platform.offline.capture import CapturedResource
from mlops_platform.offline.size_capture import CapturedSize


@dataclass(frozen=True)
class ComponentKind:
    key: str
    label: str
    types: tuple[str, ...]
    """Type tokens (AWS resources or the platform's own components) that make up this component."""
    tier: str | None = None
    """Only resources of this tier count (where a type token alone is ambiguous)."""
    name_suffix: str | None = None
    """Only resources whose logical name ends so count (idem)."""

    def recognises(self, resource: CapturedResource) -> bool:
        return (resource.type in self.types
                and (self.tier is None or tier_of(resource.urn) == self.tier)
                and (self.name_suffix is None or resource.name.endswith(self.name_suffix)))


COMPONENTS: tuple[ComponentKind, ...] = (
    ComponentKind("organization", "Organizations + SCPs",
                  ("aws:organizations/organization:Organization", "aws:organizations/policy:Policy")),
    ComponentKind("identity", "IAM Identity Center", ("aws:ssoadmin/permissionSet:PermissionSet",)),
    ComponentKind("trail", "Organization trail", ("aws:cloudtrail/trail:Trail",)),
    ComponentKind("datasets", "Datasets bucket", ("aws:s3/bucket:Bucket",), tier="data", name_suffix="-datasets"),
    ComponentKind("datalake", "Data lake (Lake Formation)",
                  ("aws:lakeformation/resource:Resource", "aws:lakeformation/permissions:Permissions",
                   "aws:glue/catalogDatabase:CatalogDatabase"), tier="data"),
    ComponentKind("code", "Code repository",
                  ("aws:codeconnections/connection:Connection", "aws:codecommit/repository:Repository")),
    ComponentKind("build", "Container build (CodeBuild)", ("aws:codebuild/project:Project",)),
    ComponentKind("ecr", "Image repository (ECR)", ("aws:ecr/repository:Repository",)),
    ComponentKind("registry", "Model registry", ("aws:sagemaker/modelPackageGroup:ModelPackageGroup",)),
    ComponentKind("featurestore", "Feature Store", ("aws:sagemaker/featureGroup:FeatureGroup",)),
    ComponentKind("studio", "SageMaker Studio", ("aws:sagemaker/domain:Domain",)),
    ComponentKind("pipeline", "Retraining pipeline", ("aws:sagemaker/pipeline:Pipeline",)),
    ComponentKind("monitoring", "Model monitoring",
                  ("aws:sagemaker/monitoringSchedule:MonitoringSchedule",
                   "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition",
                   "aws:sagemaker/modelBiasJobDefinition:ModelBiasJobDefinition",
                   "aws:sagemaker/modelExplainabilityJobDefinition:ModelExplainabilityJobDefinition")),
    ComponentKind("promotion", "Promotion pipeline (CodePipeline)", ("aws:codepipeline/pipeline:Pipeline",)),
    ComponentKind("deployer", "Approval deployer", ("mlops:serving:ApprovalDeployer",)),
    ComponentKind("api", "Inference API", ("aws:apigatewayv2/api:Api", "aws:apigateway/restApi:RestApi")),
    ComponentKind("endpoint", "SageMaker endpoint", ("aws:sagemaker/endpoint:Endpoint",)),
    ComponentKind("replication", "Capture replication", ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)),
)


@dataclass(frozen=True)
class FlowSpec:
    flow: str
    """The designed flow this arrow belongs to."""
    source: str
    target: str
    label: str
    same_box: bool = False
    """Only between components of one box (a deployer deploys its own account's endpoint)."""
    target_tier: str | None = None
    requires: tuple[str, ...] = ()
    """Component kinds that must exist somewhere for the arrow to mean anything."""


APPROVE_DEPLOY = "approve → deploy (canary)"
STAGING_GATE_PROD = "staging → gate → prod"
CAPTURE_RETRAIN = "capture → replicate → monitor → retrain"
DATA_LAKE_PIPELINE = "data lake → pipeline"
IMAGE_BUILD_ECR = "image build → ECR"
RETRAIN_REGISTER = "retrain → register"
SERVE = "invoke → endpoint"

FLOWS: tuple[FlowSpec, ...] = (
    FlowSpec(RETRAIN_REGISTER, "studio", "pipeline", "start retraining"),
    FlowSpec(RETRAIN_REGISTER, "datasets", "pipeline", "datasets"),
    FlowSpec(RETRAIN_REGISTER, "pipeline", "registry", "register (pending approval)"),
    FlowSpec(DATA_LAKE_PIPELINE, "datalake", "pipeline", "training data"),
    FlowSpec(DATA_LAKE_PIPELINE, "featurestore", "pipeline", "features"),
    FlowSpec(IMAGE_BUILD_ECR, "code", "build", "source"),
    FlowSpec(IMAGE_BUILD_ECR, "build", "ecr", "push image"),
    FlowSpec(APPROVE_DEPLOY, "registry", "deployer", "approve → deploy (canary)"),
    FlowSpec(APPROVE_DEPLOY, "deployer", "endpoint", "canary, rollback on alarm", same_box=True),
    FlowSpec(APPROVE_DEPLOY, "registry", "promotion", "approve → deploy"),
    FlowSpec(STAGING_GATE_PROD, "promotion", "endpoint", "deploy to staging", target_tier="staging"),
    FlowSpec(STAGING_GATE_PROD, "promotion", "endpoint", "gate → prod (canary)", target_tier="prod"),
    FlowSpec(SERVE, "api", "endpoint", "invoke", same_box=True),
    FlowSpec(CAPTURE_RETRAIN, "endpoint", "replication", "capture", same_box=True),
    FlowSpec(CAPTURE_RETRAIN, "replication", "monitoring", "replicate"),
    FlowSpec(CAPTURE_RETRAIN, "monitoring", "pipeline", "drift → retrain"),
)

_NAME_INPUTS = ("pipelineName", "modelPackageGroupName", "featureGroupName", "domainName", "name",
                "monitoringScheduleName")
_TIER_IN_URN = re.compile(r"mlops:tier:(\w+)")


def tier_of(urn: str) -> str | None:
    """The tier component a resource is built under (`mlops:tier:<Tier>` in its URN)."""
    match = _TIER_IN_URN.search(urn)
    return match.group(1).lower() if match else None


@dataclass(frozen=True)
class Box:
    key: str
    label: str


@dataclass
class Component:
    box: Box
    kind: ComponentKind
    names: list[str] = field(default_factory=list)
    tiers: set[str] = field(default_factory=set)

    @property
    def key(self) -> str:
        return f"{self.box.key}__{self.kind.key}"


@dataclass(frozen=True)
class Arrow:
    flow: str
    source: Component
    target: Component
    label: str


@dataclass(frozen=True)
class Architecture:
    size: topology.Size
    boxes: tuple[Box, ...]
    components: tuple[Component, ...]
    arrows: tuple[Arrow, ...]

    def in_box(self, box: Box) -> list[Component]:
        return [component for component in self.components if component.box == box]

    def kinds(self) -> set[str]:
        return {component.kind.key for component in self.components}

    def flows(self) -> set[str]:
        return {arrow.flow for arrow in self.arrows}


def architecture(size: CapturedSize) -> Architecture:
    boxes, box_of_stack, box_of_account = _boxes(size)
    resources = size.resources()
    found: dict[tuple[str, str], Component] = {}
    for stack in size.stacks:
        for resource in stack.resources:
            kind = next((k for k in COMPONENTS if k.recognises(resource)), None)
            if kind is None:
                continue
            box = box_of_account.get(resources.account_of(resource), box_of_stack[stack.name])
            component = found.setdefault((box.key, kind.key), Component(box, kind))
            component.names.append(display_name(resource))
            component.tiers.add(tier_of(resource.urn) or stack.name)
    components = _in_drawing_order(found.values(), boxes)
    return Architecture(size.size, boxes, components, tuple(_arrows(components)))


def display_name(resource: CapturedResource) -> str:
    return next((str(resource.inputs[key]) for key in _NAME_INPUTS if resource.inputs.get(key)), resource.name)


def _boxes(size: CapturedSize) -> tuple[tuple[Box, ...], Mapping[str, Box], Mapping[str, Box]]:
    """Accounts as boxes; in a size whose stacks share one account (small), the stacks."""
    first = size.configs[0]
    if len(topology.accounts(size.size)) == 1:
        boxes = {config.stack.name: Box(f"stack_{config.stack.name}",
                                        f"{config.stack.name} stack · account {config.account_id}")
                 for config in size.configs}
        return tuple(boxes.values()), boxes, {}
    by_account: dict[str, Box] = {}
    for account in topology.accounts(size.size):
        stacks = [spec.name for spec in topology.stacks(size.size) if spec.account == account]
        by_account[account] = Box(f"account_{account}", f"{account} account · {first.accounts[account]} · "
                                                        f"stack{'s' if len(stacks) > 1 else ''} {', '.join(stacks)}")
    box_of_stack = {spec.name: by_account[spec.account] for spec in topology.stacks(size.size)}
    box_of_id = {first.accounts[account]: box for account, box in by_account.items()}
    return tuple(by_account.values()), box_of_stack, box_of_id


def _in_drawing_order(components: Iterable[Component], boxes: tuple[Box, ...]) -> tuple[Component, ...]:
    kind_order = [kind.key for kind in COMPONENTS]
    return tuple(sorted(components, key=lambda c: (boxes.index(c.box), kind_order.index(c.kind.key))))


def _arrows(components: tuple[Component, ...]) -> Iterable[Arrow]:
    present = {component.kind.key for component in components}
    for spec in FLOWS:
        if not set(spec.requires) <= present:
            continue
        for source in (c for c in components if c.kind.key == spec.source):
            for target in (c for c in components if c.kind.key == spec.target):
                if spec.same_box and source.box != target.box:
                    continue
                if spec.target_tier is not None and spec.target_tier not in target.tiers:
                    continue
                yield Arrow(spec.flow, source, target, spec.label)
