"""Tests for `mlops_platform.config.parse_config`: every bad value raises one ConfigError naming the key."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_platform import topology
from mlops_platform.config import (
    DEFAULT_DEPLOY_ROLE,
    DEFAULT_INSTANCE_TYPE,
    DEFAULT_OWNER,
    ConfigError,
    FeatureGroup,
    Features,
    Monitoring,
    PlatformConfig,
    UseCase,
    parse_config,
)
from mlops_platform.topology import Size

ORG = "acme"
ACCOUNT_KEYS: dict[str, tuple[str, ...]] = {
    "small": ("workload",),
    "medium": ("management", "dev", "staging", "prod"),
    "large": ("management", "data", "artifact", "cicd", "ops", "dev", "staging", "prod"),
}


def account_ids(size: str) -> dict[str, str]:
    """A distinct 12-digit id per account of the size: 111111111111, 222222222222, ..."""
    return {name: str(index) * 12 for index, name in enumerate(ACCOUNT_KEYS[size], start=1)}


def valid_raw(size: str = "small", **overrides: Any) -> dict[str, Any]:
    """A minimal valid raw config for `size`; keyword arguments replace (or add) top-level keys."""
    raw: dict[str, Any] = {"size": size, "region": "eu-west-1", "accounts": account_ids(size)}
    raw.update(overrides)
    return raw


def parse(raw: dict[str, Any], stack: str = "dev") -> PlatformConfig:
    return parse_config(raw, stack, ORG)


def config_error(raw: dict[str, Any], stack: str = "dev") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(raw, stack)
    return info.value


def assert_error(err: ConfigError, key: str, fragment: str) -> None:
    assert err.key == key
    assert fragment in err.allowed
    assert str(err).startswith(f"invalid config mlops-platform:{key} = ")
    assert fragment in str(err)


# --- the helper itself matches topology -------------------------------------------------------------------


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_helper_account_keys_match_topology(size: str) -> None:
    assert ACCOUNT_KEYS[size] == topology.accounts(Size(size))


# --- valid configs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "stack", "account", "tiers"),
    [
        ("small", "dev", "workload", ("data", "artifact", "cicd", "ops", "dev")),
        ("small", "prod", "workload", ("prod",)),
        ("medium", "org", "management", ("org",)),
        ("medium", "dev", "dev", ("data", "artifact", "cicd", "ops", "dev")),
        ("medium", "staging", "staging", ("staging",)),
        ("medium", "prod", "prod", ("prod",)),
        ("large", "org", "management", ("org",)),
        ("large", "data", "data", ("data",)),
        ("large", "artifact", "artifact", ("artifact",)),
        ("large", "cicd", "cicd", ("cicd",)),
        ("large", "ops", "ops", ("ops",)),
        ("large", "dev", "dev", ("dev",)),
        ("large", "staging", "staging", ("staging",)),
        ("large", "prod", "prod", ("prod",)),
    ],
)
def test_valid_config_per_size_and_stack(size: str, stack: str, account: str, tiers: tuple[str, ...]) -> None:
    ids = account_ids(size)
    cfg = parse(valid_raw(size, useCases=["churn"]), stack)

    assert cfg.size is Size(size)
    assert cfg.stack == topology.StackSpec(stack, tiers, account)
    assert cfg.account_id == ids[account]
    assert dict(cfg.accounts) == ids
    assert cfg.region == "eu-west-1"
    assert cfg.deploy_role_name == DEFAULT_DEPLOY_ROLE
    assert cfg.stack_organization == ORG
    assert cfg.owner == DEFAULT_OWNER
    assert cfg.use_cases == (
        UseCase(name="churn", instance_type=DEFAULT_INSTANCE_TYPE, min_instances=2, max_instances=2),
    )
    assert cfg.data_scientists == ()


def test_defaults_without_optional_keys() -> None:
    cfg = parse(valid_raw("medium"), "staging")
    assert cfg.use_cases == ()
    assert cfg.data_scientists == ()
    assert cfg.features == Features(feature_store=False, clarify=False, model_monitor=True)


def test_size_defaults_to_large() -> None:
    raw = valid_raw("large")
    del raw["size"]
    cfg = parse(raw, "artifact")
    assert cfg.size is Size.LARGE
    assert cfg.account_id == account_ids("large")["artifact"]


def test_explicit_values_are_kept() -> None:
    raw = valid_raw(
        "medium",
        region="us-east-1",
        deployRoleName="my-deploy+role",
        stackOrganization="other-org",
        owner="ml-team",
        dataScientists=["alice", "bob-2"],
        useCases=[
            "fraud",
            {"name": "churn", "instanceType": "ml.c5.xlarge", "minInstances": 2, "maxInstances": 4},
            {"name": "big", "minInstances": 3},
            {"name": "pinned", "minInstances": 1, "maxInstances": 1, "serve": False},
        ],
    )
    cfg = parse(raw, "prod")
    assert cfg.region == "us-east-1"
    assert cfg.deploy_role_name == "my-deploy+role"
    assert cfg.stack_organization == "other-org"
    assert cfg.owner == "ml-team"
    assert cfg.data_scientists == ("alice", "bob-2")
    assert cfg.use_cases == (
        UseCase("fraud", DEFAULT_INSTANCE_TYPE, 2, 2),
        UseCase("churn", "ml.c5.xlarge", 2, 4),
        UseCase("big", DEFAULT_INSTANCE_TYPE, 3, 3),  # maxInstances defaults to at least minInstances
        UseCase("pinned", DEFAULT_INSTANCE_TYPE, 1, 1, serve=False),
    )


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_served_use_case_with_one_instance_is_refused_where_it_is_served(stack: str) -> None:
    raw = valid_raw("medium", useCases=[{"name": "churn", "minInstances": 1, "maxInstances": 2}])
    err = config_error(raw, stack)
    assert_error(err, "useCases[0].minInstances", "keeps at least 2 instances")
    assert "sagemaker-endpoint-instance-count" in str(err)
    assert parse(raw, "dev").use_cases[0].min_instances == 1, "the dev stack serves nothing"


def test_account_of_tier() -> None:
    ids = account_ids("medium")
    cfg = parse(valid_raw("medium"), "prod")
    assert cfg.account_of_tier("artifact") == ids["dev"]
    assert cfg.account_of_tier("org") == ids["management"]
    assert cfg.account_of_tier("staging") == ids["staging"]


def test_use_case_name_at_max_length_is_accepted() -> None:
    name = "a" * 32
    assert parse(valid_raw(useCases=[name])).use_cases[0].name == name


# --- size and stack ---------------------------------------------------------------------------------------


def test_unknown_size() -> None:
    raw = valid_raw("small")
    raw["size"] = "huge"
    err = config_error(raw)
    assert_error(err, "size", "allowed sizes are: small, medium, large")
    assert err.value == "huge"
    assert "'huge'" in str(err)


def test_unknown_tier() -> None:
    err = config_error(valid_raw("large"), stack="qa")
    assert_error(err, "stack", "unknown tier")
    assert err.value == "qa"
    assert ", ".join(topology.TIERS) in str(err)


@pytest.mark.parametrize(
    ("size", "stack"),
    [("small", "ops"), ("small", "org"), ("small", "staging"), ("medium", "data"), ("medium", "cicd")],
)
def test_tier_the_size_does_not_have(size: str, stack: str) -> None:
    err = config_error(valid_raw(size), stack=stack)
    assert_error(err, "stack", f"size {size!r} has no stack {stack!r}")
    assert ", ".join(topology.stack_names(Size(size))) in err.allowed


# --- accounts ---------------------------------------------------------------------------------------------


def test_missing_accounts_map() -> None:
    raw = valid_raw("medium")
    del raw["accounts"]
    err = config_error(raw)
    assert_error(err, "accounts", "a map of account name to 12-digit account id")
    assert "management, dev, staging, prod" in err.allowed
    assert "= null" in str(err)


def test_accounts_not_a_map() -> None:
    err = config_error(valid_raw(accounts="123456789012"))
    assert_error(err, "accounts", "a map of account name")


@pytest.mark.parametrize(("size", "missing"), [("small", "workload"), ("medium", "staging"), ("large", "cicd")])
def test_missing_account_id(size: str, missing: str) -> None:
    accounts = account_ids(size)
    del accounts[missing]
    err = config_error(valid_raw(size, accounts=accounts))
    assert_error(err, f"accounts.{missing}", "missing: a 12-digit AWS account id")
    assert err.value is None


@pytest.mark.parametrize(
    "bad_id",
    [
        pytest.param("12345678901", id="11-digits"),
        pytest.param("1234567890123", id="13-digits"),
        pytest.param("12345678901a", id="letters"),
        pytest.param("abcdefghijkl", id="all-letters"),
        pytest.param(123456789012, id="int-not-quoted"),
    ],
)
def test_malformed_account_id(bad_id: Any) -> None:
    accounts = account_ids("medium")
    accounts["prod"] = bad_id
    err = config_error(valid_raw("medium", accounts=accounts))
    assert_error(err, "accounts.prod", "exactly 12 digits, written as a quoted string")
    assert err.value == bad_id


@pytest.mark.parametrize(("size", "extra"), [("small", "dev"), ("medium", "data"), ("large", "workload")])
def test_account_key_the_size_does_not_have(size: str, extra: str) -> None:
    accounts = {**account_ids(size), extra: "999999999999"}
    err = config_error(valid_raw(size, accounts=accounts))
    assert_error(err, f"accounts.{extra}", f"size {size!r} has no account {extra!r}")
    assert ", ".join(ACCOUNT_KEYS[size]) in err.allowed


@pytest.mark.parametrize(
    ("size", "first", "second"),
    [("medium", "dev", "prod"), ("medium", "management", "staging"), ("large", "data", "ops")],
)
def test_two_accounts_sharing_an_id(size: str, first: str, second: str) -> None:
    accounts = account_ids(size)
    accounts[second] = accounts[first]
    err = config_error(valid_raw(size, accounts=accounts))
    assert_error(err, f"accounts.{second}", f"already used by accounts.{first}")
    assert f"size {size!r} needs a separate account for each" in err.allowed
    assert err.value == accounts[first]


def test_small_single_account_serves_both_stacks() -> None:
    dev = parse(valid_raw("small"), "dev")
    prod = parse(valid_raw("small"), "prod")
    assert dev.account_id == prod.account_id == "111111111111"
    assert dev.stack.account == prod.stack.account == "workload"
    assert dev.account_of_tier("prod") == prod.account_of_tier("artifact") == "111111111111"


# --- region -----------------------------------------------------------------------------------------------


def test_region_missing() -> None:
    raw = valid_raw()
    del raw["region"]
    err = config_error(raw)
    assert_error(err, "region", "required: the AWS region")
    assert err.value is None


@pytest.mark.parametrize("region", ["eu-west-9", "EU-WEST-1", "", 42])
def test_region_not_a_region(region: Any) -> None:
    err = config_error(valid_raw(region=region))
    assert_error(err, "region", "not an AWS region name")
    assert err.value == region


# --- use cases --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_case", ["", {"name": ""}, {"instanceType": "ml.m5.large"}])
def test_empty_use_case_name(use_case: Any) -> None:
    err = config_error(valid_raw(useCases=[use_case]))
    assert_error(err, "useCases[0].name", "required: a non-empty use-case name")


def test_duplicated_use_case_name() -> None:
    err = config_error(valid_raw(useCases=["churn", "fraud", {"name": "churn", "minInstances": 2}]))
    assert_error(err, "useCases[2].name", "duplicated: use-case names must be unique")
    assert err.value == "churn"


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("churn_model", id="underscore"),
        pytest.param("-churn", id="leading-hyphen"),
        pytest.param("churn-", id="trailing-hyphen"),
        pytest.param("churn model", id="space"),
        pytest.param("a" * 33, id="33-chars"),
        pytest.param("Churn", id="upper-case"),
    ],
)
def test_use_case_name_not_a_sagemaker_name(name: str) -> None:
    err = config_error(valid_raw(useCases=[{"name": name}]))
    assert_error(err, "useCases[0].name", "a SageMaker resource name")
    assert "at most 32 characters" in err.allowed
    assert err.value == name


def test_use_cases_not_a_list() -> None:
    err = config_error(valid_raw(useCases="churn"))
    assert_error(err, "useCases", "a list of use cases")


def test_use_case_neither_name_nor_map() -> None:
    err = config_error(valid_raw(useCases=["churn", 7]))
    assert_error(err, "useCases[1]", "a use case is a name or a map")


def test_unknown_use_case_field() -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", "instanceCount": 3}]))
    assert_error(err, "useCases[0].instanceCount", "unknown field; fields are: name, instanceType, minInstances")
    assert err.value == 3


@pytest.mark.parametrize("instance_type", ["m5.large", "ml.m5.huge", "t3.micro", "ML.M5.LARGE"])
def test_instance_type_not_an_endpoint_instance_type(instance_type: str) -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", "instanceType": instance_type}]))
    assert_error(err, "useCases[0].instanceType", "not a SageMaker endpoint instance type")
    assert err.value == instance_type


def test_min_instances_above_max_instances() -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", "minInstances": 3, "maxInstances": 2}]))
    assert_error(err, "useCases[0].minInstances", "must not exceed maxInstances (2)")
    assert err.value == 3


@pytest.mark.parametrize("field", ["minInstances", "maxInstances"])
@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(True, id="bool"),
        pytest.param("2", id="string"),
        pytest.param(1.5, id="float"),
    ],
)
def test_instance_count_not_a_positive_int(field: str, value: Any) -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", field: value}]))
    assert_error(err, f"useCases[0].{field}", "a whole number of at least 1")
    assert err.value is value


# --- features ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "stack", "expected"),
    [
        ("small", "dev", Features(feature_store=False, clarify=False, model_monitor=False)),
        ("medium", "dev", Features(feature_store=False, clarify=False, model_monitor=True)),
        ("large", "ops", Features(feature_store=False, clarify=False, model_monitor=True)),
    ],
)
def test_feature_defaults_per_size(size: str, stack: str, expected: Features) -> None:
    assert parse(valid_raw(size), stack).features == expected


def test_feature_override() -> None:
    small = parse(valid_raw("small", features={"modelMonitor": True, "clarify": False}))
    assert small.features == Features(feature_store=False, clarify=False, model_monitor=True)
    large = parse(valid_raw("large", features={"featureStore": False, "modelMonitor": False}), "ops")
    assert large.features == Features(feature_store=False, clarify=False, model_monitor=False)


def test_unknown_feature_flag() -> None:
    err = config_error(valid_raw(features={"clarify": True, "driftDetection": True}))
    assert_error(err, "features.driftDetection", "unknown feature flag")
    assert "featureStore, clarify, modelMonitor" in err.allowed


@pytest.mark.parametrize("value", ["true", 1, None])
def test_non_bool_feature_value(value: Any) -> None:
    err = config_error(valid_raw(features={"modelMonitor": value}))
    assert_error(err, "features.modelMonitor", "true or false")
    assert err.value is value


def test_features_not_a_map() -> None:
    err = config_error(valid_raw(features=["clarify"]))
    assert_error(err, "features", "a map of feature flag to true/false")


# --- data scientists --------------------------------------------------------------------------------------


def test_data_scientist_duplicated() -> None:
    err = config_error(valid_raw(dataScientists=["alice", "bob", "alice"]))
    assert_error(err, "dataScientists[2]", "duplicated: each data scientist is listed once")
    assert err.value == "alice"


@pytest.mark.parametrize("name", ["alice smith", "alice_smith", "-alice", "", "a" * 64, 7])
def test_data_scientist_invalid_name(name: Any) -> None:
    err = config_error(valid_raw(dataScientists=["bob", name]))
    assert_error(err, "dataScientists[1]", "a Studio user name")
    assert err.value == name


def test_data_scientists_not_a_list() -> None:
    err = config_error(valid_raw(dataScientists="alice"))
    assert_error(err, "dataScientists", "a list of Studio user names")


# --- other top-level keys ---------------------------------------------------------------------------------


def test_unknown_top_level_key() -> None:
    err = config_error(valid_raw(regoin="eu-west-1"))
    assert_error(err, "regoin", "unknown key; known keys are: size, region, accounts")
    assert err.value == "eu-west-1"


def test_unknown_key_is_reported_before_other_errors() -> None:
    raw = valid_raw("small", zzz=1, aaa=2)
    raw["size"] = "huge"
    err = config_error(raw)
    assert err.key == "aaa"


@pytest.mark.parametrize(
    "role",
    [
        pytest.param("", id="empty"),
        pytest.param("deploy role", id="space"),
        pytest.param("deploy/role", id="slash"),
        pytest.param("r" * 65, id="65-chars"),
        pytest.param(5, id="int"),
    ],
)
def test_deploy_role_name_invalid(role: Any) -> None:
    err = config_error(valid_raw(deployRoleName=role))
    assert_error(err, "deployRoleName", "an IAM role name")
    assert err.value == role


def test_deploy_role_name_at_max_length_is_accepted() -> None:
    assert parse(valid_raw(deployRoleName="r" * 64)).deploy_role_name == "r" * 64


@pytest.mark.parametrize("organization", ["", "-acme", "acme org"])
def test_stack_organization_invalid(organization: str) -> None:
    err = config_error(valid_raw(stackOrganization=organization))
    assert_error(err, "stackOrganization", "a Pulumi organization name")


@pytest.mark.parametrize("owner", ["", "   ", None])
def test_owner_empty(owner: Any) -> None:
    err = config_error(valid_raw(owner=owner))
    assert_error(err, "owner", "a non-empty string")


def test_config_error_message_format() -> None:
    err = ConfigError("accounts.prod", 12, "twelve digits")
    assert str(err) == "invalid config mlops-platform:accounts.prod = 12: twelve digits"
    assert (err.key, err.value, err.allowed) == ("accounts.prod", 12, "twelve digits")
    assert str(ConfigError("region", "x", "a region")) == "invalid config mlops-platform:region = 'x': a region"


@pytest.mark.parametrize(("key", "overrides"), [
    ("accounts.prod", {"accounts": {**account_ids("medium"), "prod": "888888888888\n"}}),
    ("accounts.prod", {"accounts": {**account_ids("medium"), "prod": "١٢٣٤٥٦٧٨٩٠١٢"}}),
    ("useCases[0].name", {"useCases": ["churn\n"]}),
    ("dataScientists[0]", {"dataScientists": ["alice\n"]}),
    ("deployRoleName", {"deployRoleName": "deploy\n"}),
    ("deployRoleName", {"deployRoleName": "rôle"}),
    ("stackOrganization", {"stackOrganization": "acme\n"}),
])
def test_names_and_ids_must_match_whole_and_in_ascii(key: str, overrides: dict[str, Any]) -> None:
    assert config_error(valid_raw("medium", **overrides)).key == key


def test_instance_type_of_the_wrong_shape_is_a_config_error() -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", "instanceType": ["ml.m5.large"]}]))
    assert_error(err, "useCases[0].instanceType", "not a SageMaker endpoint instance type")


def test_a_value_json_cannot_show_is_still_reported() -> None:
    err = config_error(valid_raw(accounts={"workload": {1, 2}}))
    assert err.key == "accounts.workload" and "{1, 2}" in str(err)


@pytest.mark.parametrize(("field", "value", "allowed"), [
    ("schedule", "every week", "an EventBridge Scheduler expression"),
    ("schedule", "rate(0 days)", "an EventBridge Scheduler expression"),
    ("metricThreshold", 1.5, "a number from 0 to 1"),
    ("metricThreshold", True, "a number from 0 to 1"),
    ("canaryPercent", 60, "a whole number from 1 to 50"),
    ("canaryWaitSeconds", -1, "a whole number from 0 to 3600"),
    ("serve", "yes", "true or false"),
    ("modelPackageArn", "arn:aws:sagemaker:eu-west-1:111111111111:model-package/churn/1",
     "was removed: no config pins a model any more"),
])
def test_use_case_serving_and_retraining_fields(field: str, value: Any, allowed: str) -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", field: value}]))
    assert_error(err, f"useCases[0].{field}", allowed)


def test_use_case_serving_and_retraining_defaults_and_values() -> None:
    use_case = parse(valid_raw(useCases=[{"name": "churn", "schedule": "cron(0 3 ? * MON *)",
                                          "metricThreshold": 0.8, "serve": False}])).use_cases[0]
    assert (use_case.schedule, use_case.metric_threshold, use_case.serve) == ("cron(0 3 ? * MON *)", 0.8, False)
    default = parse(valid_raw(useCases=["churn"])).use_cases[0]
    assert (default.schedule, default.metric_threshold, default.serve) == ("rate(7 days)", 0.7, True)
    assert (default.canary_percent, default.canary_wait_seconds) == (10, 600)


@pytest.mark.parametrize(("key", "value", "allowed"), [
    ("codeRepository", "github", "a map {provider, name}"),
    ("codeRepository.provider", {"provider": "SVN"}, "one of: GitHub, GitLab"),
    ("codeRepository.name", {"name": "my repo"}, "a repository name"),
    ("codeRepository.url", {"url": "x"}, "unknown field; fields are: provider, name"),
    ("studio.natGateway", {"natGateway": "yes"}, "true or false"),
    ("studio.vpcCidr", {"vpcCidr": "8.8.0.0/16"}, "a private IPv4 CIDR block"),
    ("studio.vpcCidr", {"vpcCidr": "10.0.0.0/24"}, "a private IPv4 CIDR block"),
    ("studio.vpcCidr", {"vpcCidr": "10.0.0.0/33"}, "a private IPv4 CIDR block"),
])
def test_code_repository_and_studio(key: str, value: Any, allowed: str) -> None:
    top = key.split(".")[0]
    err = config_error(valid_raw(**{top: value}))
    assert_error(err, key, allowed)


def test_code_repository_and_studio_defaults() -> None:
    cfg = parse(valid_raw())
    assert (cfg.code_repository.provider, cfg.code_repository.name) == ("GitHub", "ml-models")
    assert (cfg.studio.nat_gateway, cfg.studio.vpc_cidr) == (False, "10.40.0.0/16")
    codecommit = parse(valid_raw(codeRepository={"provider": "CodeCommit"})).code_repository
    assert codecommit.is_codecommit


# --- organization: Identity Center region, the trail, Control Tower, the member access role -----------------

def test_organization_defaults_suit_an_organization_without_control_tower() -> None:
    org = parse(valid_raw("medium"), "org").organization
    assert (org.identity_center_region, org.trail, org.control_tower) == ("eu-west-1", "create", False)
    assert org.member_access_role_name == "OrganizationAccountAccessRole"


def test_organization_under_control_tower() -> None:
    org = parse(valid_raw("medium", organization={
        "controlTower": True, "trail": "existing", "memberAccessRoleName": "AWSControlTowerExecution",
        "identityCenterRegion": "us-east-1"}), "org").organization
    assert (org.control_tower, org.trail, org.member_access_role_name, org.identity_center_region) == (
        True, "existing", "AWSControlTowerExecution", "us-east-1")


@pytest.mark.parametrize(("field", "value", "fragment"), [
    ("identityCenterRegion", "Ireland", "region of the organization's IAM Identity Center instance"),
    ("identityCenterRegion", ["us-east-1"], "region of the organization's IAM Identity Center instance"),
    ("trail", "adopt", "one of: create, existing"),
    ("trail", True, "one of: create, existing"),
    ("controlTower", "yes", "true or false"),
    ("memberAccessRoleName", "role/with/slash", "AWSControlTowerExecution for accounts Control Tower created"),
])
def test_organization_field_invalid(field: str, value: Any, fragment: str) -> None:
    err = config_error(valid_raw("medium", organization={field: value}), "org")
    assert_error(err, f"organization.{field}", fragment)


# --- values AWS would refuse ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", [12345678901.0, 111111111111, 0o12345670123])
def test_an_account_id_yaml_read_as_a_number_says_quote_it(bad_id: Any) -> None:
    err = config_error(valid_raw(accounts={"workload": bad_id}))
    assert_error(err, "accounts.workload", "quote it")


@pytest.mark.parametrize("owner", ["data-team", "Data Team", "ml@example.com", "team:ml/platform=1+2_x.y",
                                   "équipe-données", "o" * 256])
def test_owner_is_any_valid_tag_value(owner: str) -> None:
    assert parse(valid_raw(owner=owner)).owner == owner


@pytest.mark.parametrize(("owner", "fragment"), [
    ("data#team", "not '#'"), ("team!", "not '!'"), ("a,b", "not ','"), ("o" * 257, "at most 256 characters"),
])
def test_owner_aws_would_refuse_as_a_tag_value(owner: str, fragment: str) -> None:
    assert_error(config_error(valid_raw(owner=owner)), "owner", fragment)


def test_studio_user_names_differing_only_in_case_are_one_user() -> None:
    err = config_error(valid_raw(dataScientists=["alice", "bob", "Alice"]))
    assert_error(err, "dataScientists[2]", "SageMaker compares user profile names ignoring case: 'alice'")


@pytest.mark.parametrize("schedule", ["rate(1 day)", "rate(5 days)", "cron(0 3 ? * MON *)", "at(2030-01-31T03:00:00)"])
def test_use_case_schedules_aws_accepts(schedule: str) -> None:
    assert parse(valid_raw(useCases=[{"name": "churn", "schedule": schedule}])).use_cases[0].schedule == schedule


@pytest.mark.parametrize(("schedule", "fragment"), [
    ("rate(1 days)", "'rate(1 day)'"), ("rate(5 day)", "'rate(5 days)'"), ("cron(0 3 * * MON)", "six fields"),
    (7, "an EventBridge Scheduler expression"),
])
def test_use_case_schedules_aws_refuses(schedule: Any, fragment: str) -> None:
    err = config_error(valid_raw(useCases=[{"name": "churn", "schedule": schedule}]))
    assert_error(err, "useCases[0].schedule", fragment)


# --- ci ---------------------------------------------------------------------------------------------------


def test_ci_is_optional_and_names_no_repository_by_default() -> None:
    assert parse(valid_raw()).ci.github_repository is None
    assert parse(valid_raw(ci={})).ci.github_repository is None


@pytest.mark.parametrize("repository", ["example-org/mlops-platform", "a/b", "Octo-Cat/repo.name_1",
                                        "x" * 39 + "/" + "y" * 100])
def test_ci_github_repository_is_kept(repository: str) -> None:
    assert parse(valid_raw(ci={"github": {"repository": repository}})).ci.github_repository == repository


@pytest.mark.parametrize("value, key, fragment", [
    ("owner/repo", "ci", "a map {github"),
    ({"gitlab": {}}, "ci.gitlab", "unknown field"),
    ({"github": "owner/repo"}, "ci.github", "a map {repository"),
    ({"github": {}}, "ci.github.repository", "required"),
    ({"github": {"repository": "owner/repo", "branch": "main"}}, "ci.github.branch", "unknown field"),
    ({"github": {"repository": "owner/*"}}, "ci.github.repository", "no wildcard"),
    ({"github": {"repository": "*/repo"}}, "ci.github.repository", "no wildcard"),
    ({"github": {"repository": "owner"}}, "ci.github.repository", "owner/repo"),
    ({"github": {"repository": "owner/repo/extra"}}, "ci.github.repository", "owner/repo"),
    ({"github": {"repository": "-owner/repo"}}, "ci.github.repository", "single inner hyphens"),
    ({"github": {"repository": "own--er/repo"}}, "ci.github.repository", "single inner hyphens"),
    ({"github": {"repository": "x" * 40 + "/repo"}}, "ci.github.repository", "1-39"),
    ({"github": {"repository": "owner/" + "y" * 101}}, "ci.github.repository", "owner/repo"),
    ({"github": {"repository": "owner/.."}}, "ci.github.repository", "cannot be '.' or '..'"),
    ({"github": {"repository": 42}}, "ci.github.repository", "owner/repo"),
], ids=["not-a-map", "unknown-ci", "github-not-a-map", "no-repository", "unknown-field", "wildcard-repo",
        "wildcard-owner", "no-slash", "two-slashes", "leading-hyphen", "double-hyphen", "owner-too-long",
        "name-too-long", "dot-dot", "not-a-string"])
def test_a_bad_ci_value_is_one_error_naming_the_key(value: Any, key: str, fragment: str) -> None:
    assert_error(config_error(valid_raw(ci=value)), key, fragment)


# --- the drift loop's keys --------------------------------------------------------------------------------


def test_drift_keys_default_to_a_daily_check_and_a_day_of_cooldown() -> None:
    cfg = parse(valid_raw("medium", useCases=["fraud"]), "dev")
    assert cfg.monitoring == Monitoring(engine="open")
    (use_case,) = cfg.use_cases
    assert (use_case.drift_schedule, use_case.drift_threshold, use_case.retraining_cooldown_hours) == (
        "rate(1 day)", 0.3, 24)


def test_drift_keys_are_kept() -> None:
    cfg = parse(valid_raw("medium", monitoring={"engine": "sagemaker"}, useCases=[
        {"name": "fraud", "driftSchedule": "cron(0 6 * * ? *)", "driftThreshold": 0.5,
         "retrainingCooldownHours": 0}]), "dev")
    assert cfg.monitoring.engine == "sagemaker"
    assert cfg.use_cases[0].drift_schedule == "cron(0 6 * * ? *)"
    assert cfg.use_cases[0].drift_threshold == 0.5
    assert cfg.use_cases[0].retraining_cooldown_hours == 0


@pytest.mark.parametrize(("raw", "key", "fragment"), [
    ({"monitoring": {"engine": "evidently"}}, "monitoring.engine", "one of: open, sagemaker"),
    ({"monitoring": "open"}, "monitoring", "a map {engine: open | sagemaker}"),
    ({"monitoring": {"schedule": "daily"}}, "monitoring.schedule", "unknown field"),
    ({"useCases": [{"name": "fraud", "driftThreshold": 2}]}, "useCases[0].driftThreshold", "from 0 to 1"),
    ({"useCases": [{"name": "fraud", "driftSchedule": "daily"}]}, "useCases[0].driftSchedule", "Scheduler"),
    ({"useCases": [{"name": "fraud", "retrainingCooldownHours": 721}]}, "useCases[0].retrainingCooldownHours",
     "from 0 to 720"),
])
def test_bad_drift_keys_name_the_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    assert_error(config_error(valid_raw("medium", **raw)), key, fragment)


# --- Feature Store: featureGroups and features.featureStore ------------------------------------------------

def group(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"name": "churn-customers", "useCase": "churn", "recordIdentifier": "customer_id",
                             "eventTime": "event_time",
                             "features": {"customer_id": "String", "event_time": "String", "tenure": "Integral"}}
    value.update(overrides)
    return value


def with_groups(*groups: Any, size: str = "large", enabled: bool = True) -> dict[str, Any]:
    return valid_raw(size, useCases=["churn", "fraud"], features={"featureStore": enabled}, featureGroups=list(groups))


@pytest.mark.parametrize("size", ["small", "medium", "large"])
def test_every_size_hosts_the_feature_store_in_its_artifact_tier(size: str) -> None:
    stack = topology.stack_hosting(Size(size), "artifact").name
    cfg = parse(with_groups(group(onlineStore=True), size=size), stack)
    assert cfg.features.feature_store
    assert cfg.feature_groups == (FeatureGroup(
        name="churn-customers", use_case="churn", record_identifier="customer_id", event_time="event_time",
        features={"customer_id": "String", "event_time": "String", "tenure": "Integral"}, online_store=True),)
    assert cfg.feature_groups_of("churn") == cfg.feature_groups and cfg.feature_groups_of("fraud") == ()


def test_groups_declared_with_the_flag_off_are_validated_then_dropped() -> None:
    assert parse(with_groups(group(), enabled=False), "ops").feature_groups == ()
    assert_error(config_error(with_groups(group(name="Bad Name"), enabled=False), "ops"), "featureGroups[0].name",
                 "lower case")


def test_the_flag_on_with_no_group_is_refused() -> None:
    assert_error(config_error(with_groups(), "ops"), "features.featureStore", "declare at least one")


@pytest.mark.parametrize(("overrides", "key", "fragment"), [
    ({"name": "Churn-Customers"}, "featureGroups[0].name", "in lower case"),
    ({"name": "churn customers"}, "featureGroups[0].name", "feature group name"),
    ({"name": "x" * 65}, "featureGroups[0].name", "at most 64"),
    ({"useCase": "billing"}, "featureGroups[0].useCase", "churn, fraud"),
    ({"recordIdentifier": "id"}, "featureGroups[0].recordIdentifier", "one of the group's features"),
    ({"eventTime": "tenure"}, "featureGroups[0].eventTime", "SageMaker requires one of: String, Fractional"),
    ({"eventTime": "customer_id"}, "featureGroups[0].eventTime", "other than the record identifier"),
    ({"features": {}}, "featureGroups[0].features", "a map of feature name to type"),
    ({"features": {"customer_id": "String", "event_time": "Timestamp"}}, "featureGroups[0].features.event_time",
     "one of: Integral, Fractional, String"),
    ({"features": {"customer_id": "String", "event_time": "String", "bad name": "String"}},
     "featureGroups[0].features.bad name", "a feature name"),
    ({"features": {"customer_id": "String", "event_time": "String", "write_time": "String"}},
     "featureGroups[0].features.write_time", "reserved"),
    ({"features": {"customer_id": "String", "event_time": "String", "Customer_ID": "String"}},
     "featureGroups[0].features.Customer_ID", "duplicated"),
    ({"onlineStore": "yes"}, "featureGroups[0].onlineStore", "true or false"),
    ({"ttl": 3}, "featureGroups[0].ttl", "unknown field"),
])
def test_a_bad_feature_group_names_its_key(overrides: dict[str, Any], key: str, fragment: str) -> None:
    assert_error(config_error(with_groups(group(**overrides)), "ops"), key, fragment)


def test_an_event_time_in_unix_seconds_is_accepted() -> None:
    features = {"customer_id": "Integral", "event_time": "Fractional"}
    assert parse(with_groups(group(features=features)), "ops").feature_groups[0].features == features


def test_feature_group_names_are_unique() -> None:
    assert_error(config_error(with_groups(group(), group(useCase="fraud")), "ops"), "featureGroups[1].name",
                 "duplicated")


def test_feature_groups_is_a_list() -> None:
    raw = valid_raw("large", useCases=["churn"], features={"featureStore": True}, featureGroups="churn-customers")
    assert_error(config_error(raw, "ops"), "featureGroups", "a list of feature groups")


def test_a_feature_group_names_its_use_case() -> None:
    assert_error(config_error(with_groups({"name": "x"}), "ops"), "featureGroups[0].useCase",
                 "the use case that owns the group")
