"""The organization's service control policies (SCPs), as pure data.

Every policy is a deny list: the default `FullAWSAccess` SCP stays attached and these carve out of it.
- `deny_leaving_organization`: no member account leaves the organization (and its guardrails).
- `region_guard`: nothing outside the allowed regions, global services excepted.
- `protect_security_services`: CloudTrail, GuardDuty and AWS Config cannot be stopped, deleted or blinded,
  except by the bootstrap role (and, under Control Tower, by Control Tower's own roles).
- `sagemaker_guardrails` (ML OUs): jobs, notebooks, Studio and endpoint configs run encrypted, in a VPC,
  without internet and (notebooks) without root.
- `production_separation` (staging/prod OU): data scientists may do nothing; endpoints, models, APIs and
  functions change only through the deploy role (and the bootstrap role).

SCPs never apply to the management account, nor to service-linked roles (so autoscaling, which calls
`sagemaker:UpdateEndpointWeightsAndCapacities` through one, is unaffected).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_platform import iam_policy, naming
from mlops_platform.contract import DATA_SCIENTIST_PERMISSION_SET
from mlops_platform.iam_policy import Statement

__all__ = [
    "DATA_SCIENTIST_PERMISSION_SET",
    "GLOBAL_SERVICE_ACTIONS",
    "MAX_SCP_CHARACTERS",
    "ServiceControlPolicy",
    "all_policies",
    "data_scientist_role_pattern",
    "deny_leaving_organization",
    "production_separation",
    "protect_security_services",
    "region_guard",
    "sagemaker_guardrails",
]

MAX_SCP_CHARACTERS = 5120
"""Organizations' limit on an SCP's content, counted on the stored (here: compact) JSON."""
MAX_NAME_CHARACTERS = 128
MAX_DESCRIPTION_CHARACTERS = 512
POLICY_VERSION = iam_policy.VERSION

Conditions = Mapping[str, Mapping[str, str | list[str]]]



def data_scientist_role_pattern(partition: str) -> str:
    """Every role Identity Center creates for the data-scientist permission set. The `*` after the path also
    covers the `<region>/` segment that instances outside us-east-1 put there (IAM Identity Center guide,
    "Referencing permission sets in resource policies")."""
    return naming.roles_arn(partition, naming.ANY,
                            f"aws-reserved/sso.amazonaws.com/*AWSReservedSSO_{DATA_SCIENTIST_PERMISSION_SET}_*")

_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")
_ROLE_NAME_PATTERN = re.compile(r"[\w+=,.@-]{1,63}\*?")

CONTROL_TOWER_ROLES: tuple[str, ...] = ("AWSControlTowerExecution", "aws-controltower-*", "stacksets-exec-*")
"""The roles Control Tower deploys and governs member accounts through: `AWSControlTowerExecution` (its access
role), its `aws-controltower-*` roles (Config recorder, notification forwarder, ...) and the `stacksets-exec-*`
roles that service-managed CloudFormation StackSets create in each target account. Control Tower's own
mandatory controls forbid anyone else to create or change roles of these names."""
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")

# AWS's documented exemption list for a region-deny SCP (Organizations user guide, "General examples: Deny
# access to AWS based on the requested AWS Region", orgs_manage_policies_scps_examples_general.html), plus
# `account`, `billing` and `sso` from Control Tower's region-deny control. Left out on purpose: `kms:*` and
# `acm:*`, which AWS lists only for use with CloudFront; both are regional and the platform uses no CloudFront,
# so keys and certificates stay inside the allowed regions.
GLOBAL_SERVICE_ACTIONS: tuple[str, ...] = (
    "a4b:*",
    "account:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "billing:*",
    "budgets:*",
    "ce:*",
    "chime:*",
    "cloudfront:*",
    "config:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "fms:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "mobileanalytics:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublic*",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:PutAccountPublic*",
    "shield:*",
    "sso:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
    "wellarchitected:*",
)

CLOUDTRAIL_TAMPERING: tuple[str, ...] = (
    "cloudtrail:DeleteEventDataStore",
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:PutInsightSelectors",
    "cloudtrail:StopEventDataStoreIngestion",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateEventDataStore",
    "cloudtrail:UpdateTrail",
)
GUARDDUTY_TAMPERING: tuple[str, ...] = (
    "guardduty:ArchiveFindings",
    "guardduty:CreateFilter",  # filters can auto-archive (suppress) findings
    "guardduty:CreateIPSet",  # trusted IP lists silence findings from those addresses
    "guardduty:DeleteDetector",
    "guardduty:DeleteMembers",
    "guardduty:DeletePublishingDestination",
    "guardduty:DisassociateFromAdministratorAccount",
    "guardduty:DisassociateFromMasterAccount",
    "guardduty:DisassociateMembers",
    "guardduty:StopMonitoringMembers",
    "guardduty:UpdateDetector",
    "guardduty:UpdateFilter",
    "guardduty:UpdateIPSet",
    "guardduty:UpdateMemberDetectors",
    "guardduty:UpdatePublishingDestination",
)
CONFIG_TAMPERING: tuple[str, ...] = (
    "config:DeleteAggregationAuthorization",
    "config:DeleteConfigRule",
    "config:DeleteConfigurationAggregator",
    "config:DeleteConfigurationRecorder",
    "config:DeleteDeliveryChannel",
    "config:DeleteEvaluationResults",
    "config:DeleteRetentionConfiguration",
    "config:PutConfigurationRecorder",  # can narrow what is recorded to nothing
    "config:PutDeliveryChannel",
    "config:StopConfigurationRecorder",
)

# Each list holds only actions whose Service Authorization Reference entry documents the key. The volume key is
# `sagemaker:VolumeKmsKeyArn`: `sagemaker:VolumeKmsKey` is deprecated and no longer listed on these actions, so a
# Null deny on it would refuse every job. IAM data: the request must name the volume key by its ARN.
# Not here on purpose: UpdateNotebookInstance (no VolumeKmsKeyArn key: a Null deny would refuse every update),
# CreateLabelingJob (its volume key exists only for automated labeling), CreateMonitoringSchedule (a schedule
# naming a separate job definition carries no key; the job definitions are covered instead).
# CreateEndpointConfig must name a key, so endpoints cannot use instance types with local NVMe storage, for
# which SageMaker rejects a KmsKeyId (SageMaker API reference, CreateEndpointConfig: KmsKeyId).
VOLUME_KMS_KEY_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateDataQualityJobDefinition",
    "sagemaker:CreateDomain",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModelBiasJobDefinition",
    "sagemaker:CreateModelExplainabilityJobDefinition",
    "sagemaker:CreateModelQualityJobDefinition",
    "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateTransformJob",
)
# CreateTransformJob has no VpcSubnets key (a transform job runs in its model's VPC); CreateModel is left to
# the serving tier, whose models run without a VPC.
VPC_SUBNETS_ACTIONS: tuple[str, ...] = (
    "sagemaker:CreateAutoMLJob",
    "sagemaker:CreateAutoMLJobV2",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateNotebookInstance",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateTrainingJob",
)

# UpdateEndpointWeightsAndCapacities stays allowed: endpoint autoscaling calls it.
SERVING_CHANGES: tuple[str, ...] = (
    "apigateway:DELETE",
    "apigateway:PATCH",
    "apigateway:POST",
    "apigateway:PUT",
    "apigateway:UpdateRestApiPolicy",
    "lambda:AddPermission",
    "lambda:CreateAlias",
    "lambda:CreateFunction",
    "lambda:CreateFunctionUrlConfig",
    "lambda:DeleteAlias",
    "lambda:DeleteFunction",
    "lambda:PublishVersion",
    "lambda:RemovePermission",
    "lambda:UpdateAlias",
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:UpdateFunctionUrlConfig",
    "sagemaker:CreateEndpoint",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:CreateModel",
    "sagemaker:DeleteEndpoint",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModel",
    "sagemaker:UpdateEndpoint",
)


@dataclass(frozen=True)
class ServiceControlPolicy:
    name: str
    description: str
    document: dict[str, Any]

    def __post_init__(self) -> None:
        if not 1 <= len(self.name) <= MAX_NAME_CHARACTERS:
            raise ValueError(f"SCP name {self.name!r} must be 1-{MAX_NAME_CHARACTERS} characters")
        if len(self.description) > MAX_DESCRIPTION_CHARACTERS:
            raise ValueError(f"SCP {self.name!r}: description longer than {MAX_DESCRIPTION_CHARACTERS} characters")
        size = len(self.content())
        if size > MAX_SCP_CHARACTERS:
            raise ValueError(f"SCP {self.name!r} is {size} characters; an SCP holds at most {MAX_SCP_CHARACTERS}")

    def content(self) -> str:
        """The document as AWS stores it: compact JSON, the form its size limit counts."""
        return json.dumps(self.document, separators=(",", ":"))


def _deny(sid: str, actions: str | Sequence[str], conditions: Conditions | None = None, *,
          exempt: bool = False) -> Statement:
    """A Deny statement on all resources; `exempt=True` makes `actions` the NotAction list."""
    listed = tuple([actions] if isinstance(actions, str) else actions)
    single = frozenset({"NotAction" if exempt else "Action", "Resource"}) if isinstance(actions, str) else \
        frozenset({"Resource"})
    single |= frozenset(f"Condition.{operator}.{key}" for operator, keys in (conditions or {}).items()
                        for key, value in keys.items() if isinstance(value, str))
    return Statement(effect=iam_policy.DENY, actions=() if exempt else listed, not_actions=listed if exempt else None,
                     resources=("*",), sid=sid, single_values=single,
                     conditions={operator: {key: tuple([value] if isinstance(value, str) else value)
                                            for key, value in keys.items()}
                                 for operator, keys in (conditions or {}).items()})


def _document(*statements: Statement) -> dict[str, Any]:
    return iam_policy.document(statements)


def _role_arn_pattern(partition: str, role_name: str) -> str:
    """The role of that name (or, ending in `*`, name prefix) in any member account (SCPs are written once for
    many accounts)."""
    if not (_ROLE_NAME.fullmatch(role_name) or _ROLE_NAME_PATTERN.fullmatch(role_name)):
        raise ValueError(f"{role_name!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-)")
    return naming.roles_arn(partition, naming.ANY, role_name)


def _except_roles(partition: str, *role_names: str) -> Conditions:
    return {"ArnNotLike": {"aws:PrincipalArn": [_role_arn_pattern(partition, name) for name in role_names]}}


def _exempt(bootstrap_role_name: str, control_tower: bool) -> tuple[str, ...]:
    return (bootstrap_role_name, *(CONTROL_TOWER_ROLES if control_tower else ()))


def _regions(allowed_regions: Sequence[str]) -> list[str]:
    if isinstance(allowed_regions, str):
        raise TypeError("allowed_regions is a sequence of region names, not one string")
    regions = list(dict.fromkeys(allowed_regions))
    if not regions:
        raise ValueError("allowed_regions is empty: the region guard would deny every regional service")
    invalid = [region for region in regions if not _REGION.fullmatch(region)]
    if invalid:
        raise ValueError(f"not AWS region names: {', '.join(map(repr, invalid))}")
    return regions


def _partition(allowed_regions: Sequence[str]) -> str:
    """The organization's partition: that of its allowed regions (config keeps them in one partition)."""
    partitions = {naming.partition_of(region) for region in _regions(allowed_regions)}
    if len(partitions) != 1:
        raise ValueError(f"allowed regions span partitions: {', '.join(sorted(partitions))}")
    return partitions.pop()


def deny_leaving_organization() -> ServiceControlPolicy:
    return ServiceControlPolicy(
        name="mlops-deny-leave-organization",
        description="Member accounts cannot leave the organization, and so cannot shed its guardrails.",
        document=_document(_deny("DenyLeaveOrganization", ["organizations:LeaveOrganization"])),
    )


def region_guard(allowed_regions: Sequence[str], control_tower: bool = False) -> ServiceControlPolicy:
    """Under Control Tower its roles are exempt, as in Control Tower's own region-deny control: it deploys its
    baseline into every region it governs, which may be more than the platform's."""
    regions = _regions(allowed_regions)
    conditions: dict[str, Mapping[str, str | list[str]]] = {"StringNotEquals": {"aws:RequestedRegion": regions}}
    if control_tower:
        conditions.update(_except_roles(_partition(regions), *CONTROL_TOWER_ROLES))
    return ServiceControlPolicy(
        name="mlops-region-guard",
        description=f"Deny every action outside the {len(regions)} allowed region(s) named in the policy; "
                    "global services are exempt.",
        document=_document(_deny("DenyOutsideAllowedRegions", GLOBAL_SERVICE_ACTIONS, conditions, exempt=True)),
    )


def protect_security_services(partition: str, bootstrap_role_name: str,
                              control_tower: bool = False) -> ServiceControlPolicy:
    bootstrap_only = _except_roles(partition, *_exempt(bootstrap_role_name, control_tower))
    return ServiceControlPolicy(
        name="mlops-protect-security-services",
        description="CloudTrail, GuardDuty and AWS Config cannot be stopped, deleted or blinded, except by the "
                    "platform's bootstrap role (and Control Tower's roles, where it governs the organization).",
        document=_document(
            _deny("ProtectCloudTrail", CLOUDTRAIL_TAMPERING, bootstrap_only),
            _deny("ProtectGuardDuty", GUARDDUTY_TAMPERING, bootstrap_only),
            _deny("ProtectConfig", CONFIG_TAMPERING, bootstrap_only),
        ),
    )


def sagemaker_guardrails() -> ServiceControlPolicy:
    """One statement per rule: conditions inside a statement are ANDed, and these rules are independent.

    Notebook and Studio defaults are the unsafe values (root access and direct internet Enabled, Studio
    PublicInternetOnly), and a parameter left out of a request puts no key in the request context. So the
    create rules deny "anything but the safe value" (StringNotEquals also matches an absent key, IAM User
    Guide, "Condition operators"), while update rules deny only an explicit unsafe value: an update that does
    not mention the setting does not change it.
    """
    return ServiceControlPolicy(
        name="mlops-sagemaker-guardrails",
        description="SageMaker jobs, notebooks, Studio domains and endpoint configs: KMS-encrypted volumes, VPC "
                    "subnets, no direct internet, no notebook root access, Studio VpcOnly.",
        document=_document(
            _deny("RequireVolumeKmsKey", VOLUME_KMS_KEY_ACTIONS, {"Null": {"sagemaker:VolumeKmsKeyArn": "true"}}),
            _deny("RequireVpcSubnets", VPC_SUBNETS_ACTIONS, {"Null": {"sagemaker:VpcSubnets": "true"}}),
            _deny("DenyNotebookDirectInternet", ["sagemaker:CreateNotebookInstance"],
                  {"StringNotEquals": {"sagemaker:DirectInternetAccess": "Disabled"}}),
            _deny("DenyNotebookRootAccess", ["sagemaker:CreateNotebookInstance"],
                  {"StringNotEquals": {"sagemaker:RootAccess": "Disabled"}}),
            _deny("DenyNotebookRootAccessUpdate", ["sagemaker:UpdateNotebookInstance"],
                  {"StringEquals": {"sagemaker:RootAccess": "Enabled"}}),
            _deny("DenyPublicStudioDomain", ["sagemaker:CreateDomain"],
                  {"StringNotEquals": {"sagemaker:AppNetworkAccessType": "VpcOnly"}}),
            _deny("DenyPublicStudioDomainUpdate", ["sagemaker:UpdateDomain"],
                  {"StringEquals": {"sagemaker:AppNetworkAccessType": "PublicInternetOnly"}}),
        ),
    )


def production_separation(partition: str, deploy_role_name: str, bootstrap_role_name: str) -> ServiceControlPolicy:
    return ServiceControlPolicy(
        name="mlops-production-separation",
        description="Staging and prod: data scientists can do nothing; endpoints, models, APIs and functions "
                    "change only through the deploy role or the bootstrap role.",
        document=_document(
            _deny("DenyDataScientists", "*",
                  {"ArnLike": {"aws:PrincipalArn": data_scientist_role_pattern(partition)}}),
            _deny("ServingChangesOnlyByDeployPath", SERVING_CHANGES,
                  _except_roles(partition, deploy_role_name, bootstrap_role_name)),
        ),
    )


MAX_POLICIES_PER_TARGET = 5
"""AWS attaches at most five SCPs to a root, OU or account, and AWS's own FullAWSAccess is one of them."""


def building_blocks(allowed_regions: Sequence[str], deploy_role_name: str, bootstrap_role_name: str,
                    control_tower: bool = False) -> list[ServiceControlPolicy]:
    """Every guardrail as its own document (each tested on its own)."""
    partition = _partition(allowed_regions)
    return [
        deny_leaving_organization(),
        region_guard(allowed_regions, control_tower),
        protect_security_services(partition, bootstrap_role_name, control_tower),
        sagemaker_guardrails(),
        production_separation(partition, deploy_role_name, bootstrap_role_name),
    ]


def baseline_protections(partition: str, bootstrap_role_name: str,
                         control_tower: bool = False) -> ServiceControlPolicy:
    """Leaving the organization and blinding the security services, in one policy: production accounts carry
    four platform SCPs beside FullAWSAccess, and AWS allows five per target."""
    statements = [*deny_leaving_organization().document["Statement"],
                  *protect_security_services(partition, bootstrap_role_name, control_tower).document["Statement"]]
    return ServiceControlPolicy(
        name="mlops-baseline-protections",
        description="Member accounts cannot leave the organization; CloudTrail, GuardDuty and AWS Config cannot be "
                    "stopped, deleted or blinded, except by the platform's bootstrap role.",
        document={"Version": POLICY_VERSION, "Statement": statements},
    )


def all_policies(allowed_regions: Sequence[str], deploy_role_name: str, bootstrap_role_name: str,
                 control_tower: bool = False) -> list[ServiceControlPolicy]:
    """The policies the org stack creates and attaches; `control_tower` exempts Control Tower's roles."""
    partition = _partition(allowed_regions)
    return [
        baseline_protections(partition, bootstrap_role_name, control_tower),
        region_guard(allowed_regions, control_tower),
        sagemaker_guardrails(),
        production_separation(partition, deploy_role_name, bootstrap_role_name),
    ]
