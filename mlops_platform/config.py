"""Typed, validated platform configuration.

`parse_config` is pure: it turns the raw `mlops-platform:*` values into one immutable `PlatformConfig`
or raises one `ConfigError` that names the key, the value and what is allowed. `load_config` feeds it
from `pulumi.Config`. Nothing is declared before the whole config has been validated.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from mlops_monitoring import interface as bias_interface
from mlops_platform import contract, naming, schedules, topology
from mlops_platform.contract import CONFIG_NAMESPACE
from mlops_platform.topology import Size

FEATURES: tuple[str, ...] = ("featureStore", "clarify", "modelMonitor")
FEATURE_DEFAULTS: Mapping[Size, Mapping[str, bool]] = {
    Size.SMALL: {"featureStore": False, "clarify": False, "modelMonitor": False},
    Size.MEDIUM: {"featureStore": False, "clarify": False, "modelMonitor": True},
    Size.LARGE: {"featureStore": False, "clarify": False, "modelMonitor": True},
}
"""`modelMonitor` means drift monitoring on (a drift baseline at every retraining, a drift check of the served
traffic), with the engine `monitoring.engine` names; the default open engine needs no Model Monitor."""

DEFAULT_SIZE = Size.LARGE
DEFAULT_DEPLOY_ROLE = "mlops-platform-deploy"
DEFAULT_OWNER = "platform-team"
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_SCHEDULE = "rate(7 days)"
DEFAULT_METRIC_THRESHOLD = 0.7
DEFAULT_DRIFT_SCHEDULE = "rate(1 day)"
DEFAULT_DRIFT_THRESHOLD = 0.3
DEFAULT_RETRAINING_COOLDOWN_HOURS = 24
MAX_RETRAINING_COOLDOWN_HOURS = 30 * 24
MONITORING_ENGINES: tuple[str, ...] = ("open", "sagemaker")
"""`open`: the platform's own drift checks (SageMaker Processing in the platform's image), open to every AWS
customer; `sagemaker`: SageMaker Model Monitor, for accounts that still have it (closed to new customers)."""
DEFAULT_VPC_CIDR = "10.40.0.0/16"
CODE_REPOSITORY_PROVIDERS: tuple[str, ...] = ("GitHub", "GitLab", "Bitbucket", "CodeCommit")
USE_CASE_NAME_MAX = 32
"""Use-case names prefix SageMaker resource names (63 characters at most), so they stay short."""

KNOWN_KEYS: tuple[str, ...] = (
    "size",
    "region",
    "accounts",
    "deployRoleName",
    "stackOrganization",
    "owner",
    "useCases",
    "dataScientists",
    "features",
    "codeRepository",
    "studio",
    "organization",
    "ci",
    "monitoring",
    "promotion",
    "stateBackend",
    "featureGroups",
    "dataLake",
)
OBJECT_KEYS = frozenset({"accounts", "useCases", "dataScientists", "features", "codeRepository", "studio",
                         "organization", "ci", "monitoring", "promotion", "stateBackend", "featureGroups", "dataLake"})
PERMISSION_SETS: tuple[str, ...] = tuple(topology.PERMISSION_SET_TIERS)

_ACCOUNT_ID = re.compile(r"[0-9]{12}")
_SAGEMAKER_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_USE_CASE_NAME = re.compile(r"[a-z0-9](-*[a-z0-9]){0,31}")
"""Lower case: SageMaker writes names into ARNs in lower case, and IAM policies match ARNs exactly."""
_IAM_ROLE_NAME = re.compile(r"[a-zA-Z0-9_+=,.@-]{1,64}")
_REPOSITORY_NAME = re.compile(r"[a-zA-Z0-9._-]{1,100}")
_STACK_ORG = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}")
_GITHUB_REPOSITORY = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/[A-Za-z0-9._-]{1,100}")
"""`owner/repo`: a GitHub owner is 1-39 letters, digits and single inner hyphens; a repository name is letters,
digits, '.', '_' and '-' (GitHub's rules). No wildcard can pass, so the OIDC trust built from it is exact."""


class ConfigError(pulumi.RunError):
    """One invalid configuration value. Its message names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        shown = repr(value) if isinstance(value, str) else json.dumps(value, default=repr)
        super().__init__(f"invalid config {CONFIG_NAMESPACE}:{key} = {shown}: {allowed}")


@dataclass(frozen=True)
class UseCaseImage:
    """A use case's own training/inference image, built from this platform's repository (`promotion.repository`)
    by its image pipeline in the cicd tier (medium, large)."""

    context: str
    """The build context: a directory of the repository; pushes touching it rebuild the image."""
    dockerfile: str
    """The Dockerfile, a path in the repository (default: `<context>/Dockerfile`)."""

    @property
    def trigger_paths(self) -> tuple[str, ...]:
        """The file paths whose change (on the promotion branch) starts the image pipeline."""
        inside = self.dockerfile.startswith(f"{self.context}/")
        return (f"{self.context}/**",) if inside else (f"{self.context}/**", self.dockerfile)


@dataclass(frozen=True)
class UseCase:
    name: str
    instance_type: str = DEFAULT_INSTANCE_TYPE
    min_instances: int = 2
    max_instances: int = 2
    schedule: str = DEFAULT_SCHEDULE
    metric_threshold: float = DEFAULT_METRIC_THRESHOLD
    serve: bool = True
    """Served in staging and prod (an API from the start, an endpoint once a version is approved)."""
    canary_percent: int = 10
    canary_wait_seconds: int = 600
    drift_schedule: str = DEFAULT_DRIFT_SCHEDULE
    """When the drift check runs over the served traffic captured since the last check."""
    drift_threshold: float = DEFAULT_DRIFT_THRESHOLD
    """The share of features that drifted at or above which the check starts retraining."""
    retraining_cooldown_hours: int = DEFAULT_RETRAINING_COOLDOWN_HOURS
    """After a retraining starts, drift starts no other one for this long."""
    image: UseCaseImage | None = None
    """Its own image (`useCases[].image`); None: the built-in XGBoost image trains and serves it."""
    fairness: Fairness | None = None
    """What bias means for this use case where `features.clarify` is on; None (also where the flag is off: the block is
    validated, then dropped): no bias step, no bias check."""
    training_tables: tuple[str, ...] = ()
    """The data lake tables (`domain.table`) the retraining reads, through Lake Formation, by an Athena query each
    (large size); empty: the preprocess step reads CSV files from the datasets bucket."""


@dataclass(frozen=True)
class Fairness:
    """A use case's bias definition: the facet (a column of its training data), the limits registration and the
    live check hold the metrics to, and where ground-truth labels of live traffic land (optional)."""

    facet: str
    """The raw column (before preprocessing) whose groups are compared: a numeric column keeps its values as
    groups, a categorical one its one-hot columns `<facet>_<value>`."""
    limits: tuple[tuple[str, float], ...]
    """(metric, largest allowed value), metrics of `FAIRNESS_METRICS`, in config order."""
    ground_truth: str | None = None
    """`s3://bucket/prefix/`: ground-truth records of served requests, joined to the capture by event id."""

    def limit(self, metric: str) -> float | None:
        return dict(self.limits).get(metric)


@dataclass(frozen=True)
class CodeRepository:
    provider: str
    name: str

    @property
    def is_codecommit(self) -> bool:
        return self.provider == "CodeCommit"


@dataclass(frozen=True)
class Studio:
    nat_gateway: bool
    vpc_cidr: str


@dataclass(frozen=True)
class Organization:
    """How the org stack treats AWS Organizations (medium and large sizes)."""

    create_organization: bool
    """False (default): an organization exists (often under Control Tower) and is adopted, never recreated."""
    create_accounts: bool
    """False (default): member accounts exist and are adopted by id; True: they are created from `accountEmails`."""
    account_emails: Mapping[str, str]
    member_access_role_name: str
    allowed_regions: tuple[str, ...]
    identity_groups: Mapping[str, str]
    """Permission set name → Identity Store group id; a set is assigned only where a group is configured."""
    identity_center_region: str
    """Where the organization's IAM Identity Center instance lives (default: `region`)."""
    trail: str
    """`create` (default): the org stack creates the organization trail; `existing`: one exists (Control Tower's)."""
    control_tower: bool
    """True: Control Tower governs the organization; its roles are exempt from the platform's guardrail SCPs."""


@dataclass(frozen=True)
class Ci:
    """The CI system the platform creates identities for (`ci.github.repository`); None: no OIDC resources."""

    github_repository: str | None = None


@dataclass(frozen=True)
class Features:
    feature_store: bool
    clarify: bool
    model_monitor: bool


@dataclass(frozen=True)
class FeatureGroup:
    """A SageMaker Feature Store feature group of one use case (`featureGroups[]`), built in the artifact tier."""

    name: str
    use_case: str
    """The use case whose retraining role (ops) reads and writes it, with the data scientists (dev)."""
    record_identifier: str
    event_time: str
    features: Mapping[str, str]
    """Feature name → SageMaker feature type (`Integral`, `Fractional`, `String`), in declared order."""
    online_store: bool = False
    """Also an online store (KMS-encrypted like the offline one) for low-latency `GetRecord`."""


@dataclass(frozen=True)
class Monitoring:
    engine: str = "open"


SCAN_SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
"""ECR basic scanning's finding severities, most severe first."""
DEFAULT_SCAN_FAIL_SEVERITY = "HIGH"
STATE_BACKENDS: tuple[str, ...] = ("s3", "pulumi-cloud")
"""Where the pipelines' `pulumi up` keeps stack state: `s3` (default) a bucket of the cicd tier with an `awskms://`
secrets key; `pulumi-cloud` Pulumi Cloud, its access token in Secrets Manager."""


@dataclass(frozen=True)
class Promotion:
    """The medium and large sizes' promotion pipelines: approval → staging → test → manual gate → prod."""

    repository: str | None = None
    """This platform's repository (`owner/repo`), checked out through the CodeConnections connection; by default
    `ci.github.repository`. None: no promotion pipelines (the cicd tier warns where use cases are served)."""
    branch: str = "main"
    image_scan_fail_severity: str = DEFAULT_SCAN_FAIL_SEVERITY
    """The monitoring image build fails on a scan finding at or above this severity."""


@dataclass(frozen=True)
class StateBackend:
    kind: str = "s3"

    @property
    def is_s3(self) -> bool:
        return self.kind == "s3"


@dataclass(frozen=True)
class PlatformConfig:
    size: Size
    stack: topology.StackSpec
    region: str
    accounts: Mapping[str, str]
    deploy_role_name: str
    stack_organization: str
    owner: str
    use_cases: tuple[UseCase, ...]
    data_scientists: tuple[str, ...]
    features: Features
    code_repository: CodeRepository
    studio: Studio
    organization: Organization
    ci: Ci = Ci()
    monitoring: Monitoring = Monitoring()
    promotion: Promotion = Promotion()
    state_backend: StateBackend = StateBackend()
    feature_groups: tuple[FeatureGroup, ...] = ()
    """Built where `features.featureStore` is on (and declared only then)."""

    def feature_groups_of(self, use_case: str) -> tuple[FeatureGroup, ...]:
        return tuple(group for group in self.feature_groups if group.use_case == use_case)
    data_lake: DataLake | None = None
    """The `dataLake` map as configured (validated in every size; built where `governed_data_lake` says)."""

    @property
    def governed_data_lake(self) -> DataLake | None:
        """The data lake the data tier builds: only where the data tier has an account of its own (large)."""
        return self.data_lake if topology.hosts_data_lake(self.size) else None

    def trains_through_data_lake(self, use_case: UseCase) -> bool:
        """The use case's retraining reads its tables through Lake Formation, and no dataset around it."""
        return self.governed_data_lake is not None and bool(use_case.training_tables)

    @property
    def partition(self) -> str:
        """The AWS partition of `region` (`aws`, `aws-cn`, `aws-us-gov`): the second field of every ARN."""
        return naming.partition_of(self.region)

    @property
    def account_id(self) -> str:
        """The account this stack deploys into."""
        return self.accounts[self.stack.account]

    @property
    def drift_engine(self) -> str | None:
        """The engine of drift monitoring (`monitoring.engine`) where `features.modelMonitor` turns it on, else
        None: what the retraining pipeline's baseline step and the drift check run."""
        return self.monitoring.engine if self.features.model_monitor else None

    def account_of_tier(self, tier: str) -> str:
        return self.accounts[topology.stack_hosting(self.size, tier).account]


def parse_config(raw: Mapping[str, Any], stack_name: str, default_organization: str) -> PlatformConfig:
    """Validate raw `mlops-platform:*` values (without the namespace) for the stack `stack_name`."""
    unknown = sorted(set(raw) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(unknown[0], raw[unknown[0]], f"unknown key; known keys are: {', '.join(KNOWN_KEYS)}")
    size = parse_size(raw.get("size", DEFAULT_SIZE.value))
    stack = _stack(size, stack_name)
    region = _region(raw.get("region"))
    accounts = parse_accounts(size, raw.get("accounts"))
    use_cases = _use_cases(raw.get("useCases", []))
    features = _features(size, raw.get("features", {}))
    monitoring = _monitoring(raw.get("monitoring", {}))
    _require_clarify_hosts(features, monitoring, use_cases)
    if not features.clarify:
        use_cases = tuple(dataclasses.replace(use_case, fairness=None) for use_case in use_cases)
    data_lake = parse_data_lake(raw.get("dataLake"))
    _require_training_tables(use_cases, data_lake)
    if any(stack.hosts(tier) for tier in topology.SERVING_TIERS):
        _require_redundant_serving(use_cases)
    code_repository = _code_repository(raw.get("codeRepository", {}))
    ci_config = parse_ci(raw.get("ci", {}))
    promotion = _promotion(raw.get("promotion", {}), ci_config)
    if topology.has_organization(size) and any(use_case.serve for use_case in use_cases):
        _require_promotion_source(promotion, code_repository)
    _require_image_builds(size, use_cases, promotion, code_repository)
    features = _features(size, raw.get("features", {}))
    feature_groups = _feature_groups(raw.get("featureGroups", []), use_cases, features.feature_store)
    return PlatformConfig(
        size=size,
        stack=stack,
        region=region,
        accounts=accounts,
        deploy_role_name=parse_deploy_role_name(raw.get("deployRoleName", DEFAULT_DEPLOY_ROLE)),
        stack_organization=_pattern("stackOrganization", raw.get("stackOrganization", default_organization),
                                    _STACK_ORG, "a Pulumi organization name"),
        owner=_tag_value("owner", raw.get("owner", DEFAULT_OWNER)),
        use_cases=use_cases,
        data_scientists=_data_scientists(raw.get("dataScientists", [])),
        features=features,
        code_repository=code_repository,
        studio=_studio(raw.get("studio", {})),
        organization=_organization(size, raw.get("organization", {}), region),
        ci=ci_config,
        monitoring=monitoring,
        promotion=promotion,
        state_backend=_state_backend(raw.get("stateBackend", {})),
        feature_groups=feature_groups,
        data_lake=data_lake,
    )


SERVING_MIN_INSTANCES = 2
"""What the policy pack requires of every staging/prod endpoint (sagemaker-endpoint-instance-count,
sagemaker-prod-endpoint-autoscaling): more than one instance, so that one zone's loss does not stop serving."""


def _require_redundant_serving(use_cases: Sequence[UseCase]) -> None:
    """Refused here rather than by the policy pack at the first `pulumi up` after an approval (a new account has no
    endpoint, so its first preview could not tell)."""
    for index, use_case in enumerate(use_cases):
        if use_case.serve and use_case.min_instances < SERVING_MIN_INSTANCES:
            raise ConfigError(f"useCases[{index}].minInstances", use_case.min_instances,
                              f"a use case served in staging and prod keeps at least {SERVING_MIN_INSTANCES} "
                              "instances (the policy pack's sagemaker-endpoint-instance-count and "
                              "sagemaker-prod-endpoint-autoscaling); raise it, or set serve: false")


def load_config() -> PlatformConfig:
    """Read and validate this stack's config from the Pulumi runtime."""
    return parse_config(raw_from_pulumi(), pulumi.get_stack(), pulumi.get_organization() or "organization")


def raw_from_pulumi() -> dict[str, Any]:
    """Every `mlops-platform:*` value set for this stack, objects decoded from their JSON form."""
    prefix = CONFIG_NAMESPACE + ":"
    values: dict[str, Any] = {}
    for full_key, value in _all_runtime_config().items():
        if not full_key.startswith(prefix):
            continue
        key = full_key[len(prefix) :]
        values[key] = _decode(key, value) if key in OBJECT_KEYS else value
    return values


def _all_runtime_config() -> dict[str, Any]:
    from pulumi.runtime import config as runtime_config

    merged = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise ConfigError(key, value, f"not valid JSON/YAML structure ({err.msg})") from None


def parse_deploy_role_name(value: Any) -> str:
    return _pattern("deployRoleName", value, _IAM_ROLE_NAME, "an IAM role name (1-64 of letters, digits and +=,.@_-)")


def parse_size(value: Any) -> Size:
    try:
        return Size(value)
    except ValueError:
        raise ConfigError("size", value, f"allowed sizes are: {', '.join(s.value for s in Size)}") from None


def _stack(size: Size, stack_name: str) -> topology.StackSpec:
    names = topology.stack_names(size)
    if stack_name not in topology.TIERS:
        raise ConfigError("stack", stack_name,
                          f"unknown tier; a stack is named after its tier, one of: {', '.join(topology.TIERS)}")
    if stack_name not in names:
        raise ConfigError("stack", stack_name,
                          f"size {size.value!r} has no stack {stack_name!r}; its stacks are: {', '.join(names)}")
    return topology.stack(size, stack_name)


@functools.cache
def aws_regions() -> frozenset[str]:
    """Region names from botocore's own endpoint data (every partition)."""
    import botocore.loaders

    endpoints = botocore.loaders.Loader().load_data("endpoints")
    return frozenset(region for partition in endpoints["partitions"] for region in partition["regions"])


def _region(value: Any) -> str:
    if value is None:
        raise ConfigError("region", value, "required: the AWS region the platform runs in, e.g. 'eu-west-1'")
    if not isinstance(value, str) or value not in aws_regions():
        raise ConfigError("region", value, "not an AWS region name, e.g. 'us-east-1', 'eu-west-1'")
    return value


def parse_accounts(size: Size, value: Any) -> Mapping[str, str]:
    required = topology.accounts(size)
    if not isinstance(value, Mapping):
        raise ConfigError("accounts", value,
                          f"a map of account name to 12-digit account id with keys: {', '.join(required)}")
    for name in value:
        if name not in required:
            raise ConfigError(f"accounts.{name}", value[name],
                              f"size {size.value!r} has no account {name!r}; its accounts are: {', '.join(required)}")
    for name in required:
        account_id = value.get(name)
        if account_id is None:
            raise ConfigError(f"accounts.{name}", None, "missing: a 12-digit AWS account id (quoted, as a string)")
        if not isinstance(account_id, str):
            raise ConfigError(f"accounts.{name}", account_id,
                              "an AWS account id is exactly 12 digits, written as a quoted string: quote it "
                              "(unquoted, YAML reads it as a number, and one starting with 0 as octal)")
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise ConfigError(f"accounts.{name}", account_id,
                              "an AWS account id is exactly 12 digits, written as a quoted string")
    seen: dict[str, str] = {}
    for name in required:
        account_id = value[name]
        if account_id in seen:
            raise ConfigError(f"accounts.{name}", account_id,
                              f"already used by accounts.{seen[account_id]}; size {size.value!r} "
                              "needs a separate account for each")
        seen[account_id] = name
    return {name: value[name] for name in required}


def parse_use_cases(value: Any) -> tuple[UseCase, ...]:
    """`useCases` as the program reads it (the policy pack reads it too)."""
    return _use_cases(value)


def _use_cases(value: Any) -> tuple[UseCase, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError("useCases", value, f"a list of use cases, each a map with: {', '.join(_USE_CASE_FIELDS)}")
    use_cases: list[UseCase] = []
    for index, item in enumerate(value):
        use_case = _use_case(f"useCases[{index}]", item)
        if any(existing.name == use_case.name for existing in use_cases):
            raise ConfigError(f"useCases[{index}].name", use_case.name, "duplicated: use-case names must be unique")
        use_cases.append(use_case)
    return tuple(use_cases)


_USE_CASE_FIELDS = ("name", "instanceType", "minInstances", "maxInstances", "schedule", "metricThreshold",
                    "serve", "canaryPercent", "canaryWaitSeconds", "driftSchedule", "driftThreshold",
                    "retrainingCooldownHours", "image", "fairness", "trainingTables")
REMOVED_USE_CASE_FIELDS: Mapping[str, str] = {
    "modelPackageArn": "was removed: no config pins a model any more. The version a tier serves is recorded by "
                       f"the deploy path once a model is approved (SSM parameter "
                       f"{contract.served_model_parameter('<tier>', '<use case>')}) and read by `pulumi up`; delete "
                       "this key (README: from nothing to a served model)",
}


def _use_case(key: str, item: Any) -> UseCase:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, Mapping):
        raise ConfigError(key, item, f"a use case is a name or a map with: {', '.join(_USE_CASE_FIELDS)}")
    for removed, explanation in REMOVED_USE_CASE_FIELDS.items():
        if removed in item:
            raise ConfigError(f"{key}.{removed}", item[removed], explanation)
    _reject_unknown_fields(key, item, _USE_CASE_FIELDS)
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{key}.name", name, "required: a non-empty use-case name")
    if len(name) > USE_CASE_NAME_MAX or not _USE_CASE_NAME.fullmatch(name):
        raise ConfigError(f"{key}.name", name,
                          f"a SageMaker resource name in lower case: letters, digits and hyphens, starting and "
                          f"ending with a letter or digit, at most {USE_CASE_NAME_MAX} characters")
    instance_type = item.get("instanceType", DEFAULT_INSTANCE_TYPE)
    if not isinstance(instance_type, str) or instance_type not in endpoint_instance_types():
        raise ConfigError(f"{key}.instanceType", instance_type,
                          "not a SageMaker endpoint instance type (botocore's ProductionVariantInstanceType), "
                          "e.g. 'ml.m5.large'")
    minimum = _positive_int(f"{key}.minInstances", item.get("minInstances", SERVING_MIN_INSTANCES))
    maximum = _positive_int(f"{key}.maxInstances", item.get("maxInstances", max(2, minimum)))
    if minimum > maximum:
        raise ConfigError(f"{key}.minInstances", minimum, f"must not exceed maxInstances ({maximum})")
    return UseCase(
        name=name, instance_type=instance_type, min_instances=minimum, max_instances=maximum,
        schedule=_schedule(f"{key}.schedule", item.get("schedule", DEFAULT_SCHEDULE)),
        metric_threshold=_fraction(f"{key}.metricThreshold", item.get("metricThreshold", DEFAULT_METRIC_THRESHOLD)),
        serve=_bool(f"{key}.serve", item.get("serve", True)),
        canary_percent=_int_between(f"{key}.canaryPercent", item.get("canaryPercent", 10), 1, 50),
        canary_wait_seconds=_int_between(f"{key}.canaryWaitSeconds", item.get("canaryWaitSeconds", 600), 0, 3600),
        drift_schedule=_schedule(f"{key}.driftSchedule", item.get("driftSchedule", DEFAULT_DRIFT_SCHEDULE)),
        drift_threshold=_fraction(f"{key}.driftThreshold", item.get("driftThreshold", DEFAULT_DRIFT_THRESHOLD)),
        retraining_cooldown_hours=_int_between(
            f"{key}.retrainingCooldownHours",
            item.get("retrainingCooldownHours", DEFAULT_RETRAINING_COOLDOWN_HOURS), 0, MAX_RETRAINING_COOLDOWN_HOURS),
        image=_use_case_image(f"{key}.image", item["image"]) if "image" in item else None,
        fairness=_fairness(f"{key}.fairness", item["fairness"]) if "fairness" in item else None,
        training_tables=_training_table_names(f"{key}.trainingTables", item.get("trainingTables", [])),
    )


_IMAGE_FIELDS = ("context", "dockerfile")
_REPOSITORY_PATH = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")


def _use_case_image(key: str, value: Any) -> UseCaseImage:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, "a map {context: <directory>, dockerfile: <path>} of paths in "
                                      "promotion.repository")
    _reject_unknown_fields(key, value, _IMAGE_FIELDS)
    if "context" not in value:
        raise ConfigError(f"{key}.context", None, "required: the build context, a directory of the repository")
    context = _repository_path(f"{key}.context", value["context"])
    dockerfile = _repository_path(f"{key}.dockerfile", value.get("dockerfile", f"{context}/Dockerfile"))
    return UseCaseImage(context=context, dockerfile=dockerfile)


def _repository_path(key: str, value: Any) -> str:
    """A relative path inside the repository: no leading '/', no '.' or '..' segment, no wildcard."""
    if isinstance(value, str):
        value = value.rstrip("/")
    allowed = ("a path relative to the repository root: letters, digits, '.', '_', '-' and '/', no '.' or '..' "
               "segment, no wildcard")
    path = _pattern(key, value, _REPOSITORY_PATH, allowed)
    if any(segment in (".", "..") for segment in path.split("/")):
        raise ConfigError(key, value, allowed)
    return path


def _require_image_builds(size: Size, use_cases: Sequence[UseCase], promotion: Promotion,
                          code_repository: CodeRepository) -> None:
    """Images are built by a pipeline in the cicd tier from `promotion.repository`: only the sizes with an
    organization have one (the small size's single account has no build pipeline, so an image there would never
    be built and retraining would wait for it forever)."""
    for index, use_case in enumerate(use_cases):
        if use_case.image is None:
            continue
        key = f"useCases[{index}].image"
        if not topology.has_organization(size):
            raise ConfigError(key, {"context": use_case.image.context, "dockerfile": use_case.image.dockerfile},
                              f"size {size.value!r} builds no images (no cicd pipeline): remove it to train with "
                              "the built-in XGBoost image, or use the medium or large size")
        if promotion.repository is None:
            raise ConfigError(key, {"context": use_case.image.context, "dockerfile": use_case.image.dockerfile},
                              "the image pipeline builds from promotion.repository (or ci.github.repository): "
                              "set it to this platform's repository as owner/repo")
        if code_repository.is_codecommit:
            raise ConfigError("codeRepository.provider", code_repository.provider,
                              f"{key} is built from promotion.repository through a CodeConnections connection: one "
                              f"of {', '.join(p for p in CODE_REPOSITORY_PROVIDERS if p != 'CodeCommit')}")


def _schedule(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, value, f"an EventBridge Scheduler expression: {schedules.EXAMPLES}")
    try:
        schedules.check(value)
    except schedules.ScheduleError as problem:
        raise ConfigError(key, value, f"an EventBridge Scheduler expression: {problem}") from None
    return value


def _reject_unknown_fields(key: str, value: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    for field_name in value:
        if field_name not in fields:
            raise ConfigError(f"{key}.{field_name}", value[field_name],
                              f"unknown field; fields are: {', '.join(fields)}")


def _fraction(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(key, value, "a number from 0 to 1")
    return float(value)


def _int_between(key: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(key, value, f"a whole number from {low} to {high}")
    return value


_ORGANIZATION_FIELDS = ("createOrganization", "createAccounts", "accountEmails", "memberAccessRoleName",
                        "allowedRegions", "identityGroups", "identityCenterRegion", "trail", "controlTower")
TRAIL_MODES: tuple[str, ...] = ("create", "existing")
MEMBER_ACCESS_ROLES: Mapping[str, str] = {
    "OrganizationAccountAccessRole": "accounts Organizations created (invited accounts need it created first)",
    "AWSControlTowerExecution": "accounts Control Tower created or enrolled",
}
"""The documented member access roles; any other role name is one you created in every member account, trusting
the management account."""
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_IDENTITY_STORE_ID = re.compile(
    r"([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}")


def _organization(size: Size, value: Any, region: str) -> Organization:
    if not isinstance(value, Mapping):
        raise ConfigError("organization", value, f"a map with: {', '.join(_ORGANIZATION_FIELDS)}")
    _reject_unknown_fields("organization", value, _ORGANIZATION_FIELDS)
    create_organization = _bool("organization.createOrganization", value.get("createOrganization", False))
    create_accounts = _bool("organization.createAccounts", value.get("createAccounts", False))
    emails = value.get("accountEmails", {})
    if not isinstance(emails, Mapping):
        raise ConfigError("organization.accountEmails", emails, "a map of account name to e-mail address")
    members = [name for name in topology.accounts(size) if name != "management"]
    for name, email in emails.items():
        if name not in members:
            raise ConfigError(f"organization.accountEmails.{name}", email,
                              f"not a member account of size {size.value!r}: {', '.join(members)}")
        if not isinstance(email, str) or not _EMAIL.fullmatch(email):
            raise ConfigError(f"organization.accountEmails.{name}", email, "an e-mail address")
    if create_accounts and size != Size.SMALL:
        for name in members:
            if name not in emails:
                raise ConfigError(f"organization.accountEmails.{name}", None,
                                  "required when organization.createAccounts is true: the new account's root e-mail")
    regions = value.get("allowedRegions", [region])
    if not isinstance(regions, Sequence) or isinstance(regions, str) or not regions:
        raise ConfigError("organization.allowedRegions", regions, "a non-empty list of AWS region names")
    for index, allowed in enumerate(regions):
        if allowed not in aws_regions():
            raise ConfigError(f"organization.allowedRegions[{index}]", allowed, "not an AWS region name")
        _require_same_partition(f"organization.allowedRegions[{index}]", allowed, region)
    if region not in regions:
        raise ConfigError("organization.allowedRegions", list(regions),
                          f"must include the platform's region {region}")
    groups = value.get("identityGroups", {})
    if not isinstance(groups, Mapping):
        raise ConfigError("organization.identityGroups", groups, "a map of permission set name to group id")
    for name, group in groups.items():
        if name not in PERMISSION_SETS:
            raise ConfigError(f"organization.identityGroups.{name}", group,
                              f"unknown permission set; permission sets are: {', '.join(PERMISSION_SETS)}")
        if not isinstance(group, str) or not _IDENTITY_STORE_ID.fullmatch(group):
            raise ConfigError(f"organization.identityGroups.{name}", group, "an Identity Store group id")
    return Organization(
        create_organization=create_organization, create_accounts=create_accounts, account_emails=dict(emails),
        member_access_role_name=_pattern("organization.memberAccessRoleName",
                                         value.get("memberAccessRoleName", "OrganizationAccountAccessRole"),
                                         _IAM_ROLE_NAME, "an IAM role name: " + "; ".join(
                                             f"{name} for {use}" for name, use in MEMBER_ACCESS_ROLES.items())),
        allowed_regions=tuple(regions), identity_groups=dict(groups),
        identity_center_region=_identity_center_region(value.get("identityCenterRegion", region), region),
        trail=_choice("organization.trail", value.get("trail", "create"), TRAIL_MODES),
        control_tower=_bool("organization.controlTower", value.get("controlTower", False)))


def parse_ci(value: Any) -> Ci:
    if not isinstance(value, Mapping):
        raise ConfigError("ci", value, "a map {github: {repository: owner/repo}}")
    _reject_unknown_fields("ci", value, ("github",))
    github = value.get("github")
    if github is None:
        return Ci()
    if not isinstance(github, Mapping):
        raise ConfigError("ci.github", github, "a map {repository: owner/repo}")
    _reject_unknown_fields("ci.github", github, ("repository",))
    repository = github.get("repository")
    if repository is None:
        raise ConfigError("ci.github.repository", None, "required: the GitHub repository CI runs in, as owner/repo")
    checked = _pattern("ci.github.repository", repository, _GITHUB_REPOSITORY,
                       "a GitHub repository as owner/repo: the owner 1-39 letters, digits or single inner hyphens, "
                       "the name letters, digits, '.', '_' and '-' (no wildcard)")
    if checked.split("/", 1)[1] in (".", ".."):
        raise ConfigError("ci.github.repository", repository, "a GitHub repository name cannot be '.' or '..'")
    return Ci(github_repository=checked)


def _monitoring(value: Any) -> Monitoring:
    if not isinstance(value, Mapping):
        raise ConfigError("monitoring", value, f"a map {{engine: {' | '.join(MONITORING_ENGINES)}}}")
    _reject_unknown_fields("monitoring", value, ("engine",))
    return Monitoring(engine=_choice("monitoring.engine", value.get("engine", "open"), MONITORING_ENGINES))


_PROMOTION_FIELDS = ("repository", "branch", "imageScanFailSeverity")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]{1,100}")


def _promotion(value: Any, ci_config: Ci) -> Promotion:
    if not isinstance(value, Mapping):
        raise ConfigError("promotion", value, f"a map with: {', '.join(_PROMOTION_FIELDS)}")
    _reject_unknown_fields("promotion", value, _PROMOTION_FIELDS)
    repository = value.get("repository", ci_config.github_repository)
    if repository is not None:
        repository = _pattern("promotion.repository", repository, _GITHUB_REPOSITORY,
                              "this platform's repository as owner/repo (letters, digits, '.', '_' and '-'; no "
                              "wildcard), checked out by the promotion pipelines through the CodeConnections "
                              "connection")
    branch = _pattern("promotion.branch", value.get("branch", "main"), _BRANCH,
                      "a branch name: letters, digits, '.', '_', '/' and '-'")
    if branch.startswith(("/", "-")) or ".." in branch:
        raise ConfigError("promotion.branch", branch, "a git branch name (no leading '/' or '-', no '..')")
    return Promotion(repository=repository, branch=branch, image_scan_fail_severity=_choice(
        "promotion.imageScanFailSeverity", value.get("imageScanFailSeverity", DEFAULT_SCAN_FAIL_SEVERITY),
        SCAN_SEVERITIES))


def _require_promotion_source(promotion: Promotion, code_repository: CodeRepository) -> None:
    """The promotion pipelines check this platform's repository out through the CodeConnections connection."""
    if promotion.repository is not None and code_repository.is_codecommit:
        raise ConfigError("codeRepository.provider", code_repository.provider,
                          "the promotion pipelines check promotion.repository out through a CodeConnections "
                          f"connection: one of {', '.join(p for p in CODE_REPOSITORY_PROVIDERS if p != 'CodeCommit')}"
                          " where use cases are served in the medium and large sizes")


def _state_backend(value: Any) -> StateBackend:
    if not isinstance(value, Mapping):
        raise ConfigError("stateBackend", value, f"a map {{kind: {' | '.join(STATE_BACKENDS)}}}")
    _reject_unknown_fields("stateBackend", value, ("kind",))
    return StateBackend(kind=_choice("stateBackend.kind", value.get("kind", "s3"), STATE_BACKENDS))


def _identity_center_region(value: Any, region: str) -> str:
    if not isinstance(value, str) or value not in aws_regions():
        raise ConfigError("organization.identityCenterRegion", value,
                          "the AWS region of the organization's IAM Identity Center instance")
    _require_same_partition("organization.identityCenterRegion", value, region)
    return str(value)


def _require_same_partition(key: str, other_region: str, region: str) -> None:
    """An organization, its accounts and its Identity Center live in one partition: a region of another one can
    never be reached from the platform's."""
    if naming.partition_of(other_region) != naming.partition_of(region):
        raise ConfigError(key, other_region, f"in partition {naming.partition_of(other_region)}, not in the "
                                             f"platform's ({naming.partition_of(region)}, region {region})")


def _choice(key: str, value: Any, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(key, value, f"one of: {', '.join(choices)}")
    return str(value)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, value, "true or false")
    return value


def _code_repository(value: Any) -> CodeRepository:
    if not isinstance(value, Mapping):
        raise ConfigError("codeRepository", value, "a map {provider, name}")
    _reject_unknown_fields("codeRepository", value, ("provider", "name"))
    provider = value.get("provider", "GitHub")
    if provider not in CODE_REPOSITORY_PROVIDERS:
        raise ConfigError("codeRepository.provider", provider,
                          f"one of: {', '.join(CODE_REPOSITORY_PROVIDERS)}")
    name = _pattern("codeRepository.name", value.get("name", "ml-models"), _REPOSITORY_NAME,
                    "a repository name: letters, digits, '.', '_' and '-', at most 100 characters")
    return CodeRepository(provider=provider, name=name)


def _studio(value: Any) -> Studio:
    if not isinstance(value, Mapping):
        raise ConfigError("studio", value, "a map {natGateway, vpcCidr}")
    _reject_unknown_fields("studio", value, ("natGateway", "vpcCidr"))
    nat = _bool("studio.natGateway", value.get("natGateway", False))
    cidr = value.get("vpcCidr", DEFAULT_VPC_CIDR)
    try:
        network = ipaddress.IPv4Network(cidr) if isinstance(cidr, str) else None
    except ValueError:
        network = None
    if network is None or not network.is_private or not 16 <= network.prefixlen <= 20:
        raise ConfigError("studio.vpcCidr", cidr, "a private IPv4 CIDR block from /16 to /20, e.g. '10.40.0.0/16'")
    return Studio(nat_gateway=nat, vpc_cidr=str(network))


@functools.cache
def endpoint_instance_types() -> frozenset[str]:
    """SageMaker endpoint instance types, from botocore's SageMaker service model."""
    from mlops_platform import service_models

    return frozenset(service_models.sagemaker().shape_for("ProductionVariantInstanceType").enum)


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(key, value, "a whole number of at least 1")
    return value


def _data_scientists(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError("dataScientists", value, "a list of Studio user names")
    names: dict[str, str] = {}
    """Each name listed so far, by its lower-case spelling (one look-up per name, not a scan of all before it)."""
    for index, name in enumerate(value):
        key = f"dataScientists[{index}]"
        if not isinstance(name, str) or not _SAGEMAKER_NAME.fullmatch(name):
            raise ConfigError(key, name, "a Studio user name: letters, digits and hyphens, at most 63 characters")
        same = names.get(name.lower())
        if same is not None:
            raise ConfigError(key, name, "duplicated: each data scientist is listed once"
                              + ("" if same == name else f" (SageMaker compares user profile names ignoring case: "
                                 f"{same!r} is listed already)"))
        names[name.lower()] = name
    return tuple(names.values())


def _features(size: Size, value: Any) -> Features:
    if not isinstance(value, Mapping):
        raise ConfigError("features", value, f"a map of feature flag to true/false; flags are: {', '.join(FEATURES)}")
    for flag, enabled in value.items():
        if flag not in FEATURES:
            raise ConfigError(f"features.{flag}", enabled, f"unknown feature flag; flags are: {', '.join(FEATURES)}")
        if not isinstance(enabled, bool):
            raise ConfigError(f"features.{flag}", enabled, "true or false")
    flags = {**FEATURE_DEFAULTS[size], **value}
    return Features(feature_store=flags["featureStore"], clarify=flags["clarify"], model_monitor=flags["modelMonitor"])


def _pattern(key: str, value: Any, pattern: re.Pattern[str], allowed: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(key, value, allowed)
    return value


def _non_empty_string(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, value, "a non-empty string")
    return value


TAG_VALUE_MAX = 256
_TAG_VALUE_SYMBOLS = frozenset("_.:/=+-@")


def _tag_value(key: str, value: Any) -> str:
    """A value the platform puts into an AWS tag: AWS allows letters, digits, spaces and _.:/=+-@, 256 at most."""
    text = _non_empty_string(key, value)
    if len(text) > TAG_VALUE_MAX:
        raise ConfigError(key, value, f"tagged on every resource: an AWS tag value has at most {TAG_VALUE_MAX} "
                          f"characters, this one {len(text)}")
    refused = next((char for char in text if not _tag_character(char)), None)
    if refused is not None:
        raise ConfigError(key, value, f"tagged on every resource: AWS tag values allow letters, digits, spaces and "
                          f"_.:/=+-@, not {refused!r}")
    return text


def _tag_character(char: str) -> bool:
    return char in _TAG_VALUE_SYMBOLS or unicodedata.category(char)[0] in "LNZ"


FAIRNESS_METRICS: tuple[str, ...] = bias_interface.BIAS_METRICS
"""What `useCases[].fairness.limits` may bound: pre-training (class imbalance, difference in positive proportions
of labels, on the train split) and post-training (statistical parity and equalized odds differences of the trained
model's predictions, on the test split and on live traffic). Each is 0 for a perfectly even facet, at most 1."""
_FAIRNESS_FIELDS = ("facet", "limits", "groundTruth")
_COLUMN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_. -]{0,127}")
_S3_PREFIX = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(/[A-Za-z0-9!_.*'()/=-]*)?")


def _fairness(key: str, value: Any) -> Fairness:
    if not isinstance(value, Mapping):
        raise ConfigError(key, value, f"a map with: {', '.join(_FAIRNESS_FIELDS)}")
    _reject_unknown_fields(key, value, _FAIRNESS_FIELDS)
    facet = _pattern(f"{key}.facet", value.get("facet"), _COLUMN_NAME,
                     "required: the training data's column whose groups are compared (letters, digits, '_', '.', "
                     "'-' and spaces, at most 128)")
    limits = value.get("limits")
    if not isinstance(limits, Mapping) or not limits:
        raise ConfigError(f"{key}.limits", limits, f"required: a map of metric to its largest allowed value, metrics "
                                                   f"from: {', '.join(FAIRNESS_METRICS)}")
    for metric, limit in limits.items():
        if metric not in FAIRNESS_METRICS:
            raise ConfigError(f"{key}.limits.{metric}", limit, f"unknown metric; metrics are: "
                                                               f"{', '.join(FAIRNESS_METRICS)}")
        _fraction(f"{key}.limits.{metric}", limit)
    ground_truth = value.get("groundTruth")
    if ground_truth is not None and (not isinstance(ground_truth, str) or not _S3_PREFIX.fullmatch(ground_truth)):
        raise ConfigError(f"{key}.groundTruth", ground_truth,
                          "an s3://bucket/prefix/ URI where ground-truth records of the served requests land")
    return Fairness(facet=facet, limits=tuple((str(m), float(v)) for m, v in limits.items()),
                    ground_truth=ground_truth)


def _require_clarify_hosts(features: Features, monitoring: Monitoring, use_cases: Sequence[UseCase]) -> None:
    """`features.clarify` builds the retraining pipeline's bias step and the live bias check; the check runs inside
    the open drift check over captured traffic, so it needs drift monitoring with the open engine."""
    if not features.clarify:
        return  # a fairness block is inert then, as drift thresholds are without drift monitoring
    if not any(use_case.fairness is not None for use_case in use_cases):
        raise ConfigError("features.clarify", True, "needs at least one use case with a fairness block "
                          "(useCases[].fairness: {facet, limits}): nothing would be measured")
    if not features.model_monitor:
        raise ConfigError("features.clarify", True, "the live bias check runs in the drift check over the captured "
                          "traffic: set features.modelMonitor: true too")
    if monitoring.engine != "open":
        raise ConfigError("monitoring.engine", monitoring.engine,
                          "features.clarify runs in the platform's open engine only (SageMaker Clarify's managed "
                          "jobs are closed to new AWS customers and the platform does not build them): set "
                          "monitoring.engine: open, or features.clarify: false")
# Feature Store: `featureGroups` declares the groups, `features.featureStore` builds them. Every size has the artifact
# tier that hosts them (its own account in large, the dev stack's in small and medium), so no size refuses the flag.

FEATURE_TYPES: tuple[str, ...] = ("Integral", "Fractional", "String")
EVENT_TIME_TYPES: tuple[str, ...] = ("String", "Fractional")
"""SageMaker's event time feature: an ISO-8601 string or a Unix timestamp in seconds (Fractional)."""
RESERVED_FEATURE_NAMES: tuple[str, ...] = ("is_deleted", "write_time", "api_invocation_time")
"""Columns Feature Store adds to every offline store record."""
MAX_FEATURES = 2500
_FEATURE_GROUP_FIELDS = ("name", "useCase", "recordIdentifier", "eventTime", "features", "onlineStore")
_FEATURE_GROUP_NAME = re.compile(r"[a-z0-9]([_-]*[a-z0-9]){0,63}")
"""SageMaker's FeatureGroupName pattern in lower case: IAM policies and RAM shares match the group's ARN exactly."""
_FEATURE_NAME = re.compile(r"[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}")
"""SageMaker's FeatureName pattern (botocore's model)."""


def _feature_groups(value: Any, use_cases: Sequence[UseCase], enabled: bool) -> tuple[FeatureGroup, ...]:
    """The declared groups where the flag is on. With it off they are validated, then dropped (declared once in the
    project's config, they are built only by the stacks that switch the flag on, as `fairness` is); the flag on
    with none declared is an error: it never builds nothing."""
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError("featureGroups", value, f"a list of feature groups, each a map with: "
                                                  f"{', '.join(_FEATURE_GROUP_FIELDS)}")
    if enabled and not value:
        raise ConfigError("features.featureStore", True, "on, it builds the groups declared in featureGroups: "
                                                         "declare at least one, or switch it off")
    groups: list[FeatureGroup] = []
    for index, item in enumerate(value):
        group = _feature_group(f"featureGroups[{index}]", item, {use_case.name for use_case in use_cases})
        if any(existing.name == group.name for existing in groups):
            raise ConfigError(f"featureGroups[{index}].name", group.name,
                              "duplicated: feature group names are unique in the artifact account")
        groups.append(group)
    return tuple(groups) if enabled else ()


def _feature_group(key: str, item: Any, use_cases: set[str]) -> FeatureGroup:
    if not isinstance(item, Mapping):
        raise ConfigError(key, item, f"a feature group is a map with: {', '.join(_FEATURE_GROUP_FIELDS)}")
    _reject_unknown_fields(key, item, _FEATURE_GROUP_FIELDS)
    name = _pattern(f"{key}.name", item.get("name"), _FEATURE_GROUP_NAME,
                    "a feature group name in lower case: letters, digits, '-' and '_', starting and ending with a "
                    "letter or digit, at most 64 characters")
    use_case = item.get("useCase")
    if use_case not in use_cases:
        raise ConfigError(f"{key}.useCase", use_case,
                          f"the use case that owns the group, one of: {', '.join(sorted(use_cases)) or 'none'}")
    features = _feature_definitions(f"{key}.features", item.get("features"))
    record_identifier = _feature_reference(f"{key}.recordIdentifier", item.get("recordIdentifier"), features,
                                           FEATURE_TYPES)
    event_time = _feature_reference(f"{key}.eventTime", item.get("eventTime"), features, EVENT_TIME_TYPES)
    if event_time == record_identifier:
        raise ConfigError(f"{key}.eventTime", event_time, "a feature other than the record identifier")
    return FeatureGroup(name=name, use_case=str(use_case), record_identifier=record_identifier,
                        event_time=event_time, features=features,
                        online_store=_bool(f"{key}.onlineStore", item.get("onlineStore", False)))


def _feature_definitions(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(key, value, f"a map of feature name to type ({', '.join(FEATURE_TYPES)}), at least the "
                                      "record identifier and the event time")
    if len(value) > MAX_FEATURES:
        raise ConfigError(key, len(value), f"at most {MAX_FEATURES} features per group")
    seen: dict[str, str] = {}
    for name, feature_type in value.items():
        if not isinstance(name, str) or not _FEATURE_NAME.fullmatch(name):
            raise ConfigError(f"{key}.{name}", feature_type, "a feature name: letters, digits, '-' and '_', "
                              "starting and ending with a letter or digit, at most 64 characters")
        if name.lower() in RESERVED_FEATURE_NAMES:
            raise ConfigError(f"{key}.{name}", feature_type,
                              f"reserved: Feature Store adds {', '.join(RESERVED_FEATURE_NAMES)} to every record")
        if name.lower() in seen:
            raise ConfigError(f"{key}.{name}", feature_type, f"duplicated: {seen[name.lower()]!r} is declared already "
                                                              "(feature names are compared ignoring case)")
        _choice(f"{key}.{name}", feature_type, FEATURE_TYPES)
        seen[name.lower()] = name
    return dict(value)


def _feature_reference(key: str, value: Any, features: Mapping[str, str], types: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in features:
        raise ConfigError(key, value, f"one of the group's features: {', '.join(features)}")
    if features[value] not in types:
        raise ConfigError(key, value, f"its type is {features[value]}; SageMaker requires one of: {', '.join(types)}")
    return value
# The governed data lake (`dataLake`): domains of Glue tables over the curated bucket, read through Lake Formation.

_LAKE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
"""Glue and Athena names: lower case letters, digits and underscores (Athena quotes nothing else reliably)."""
_GLUE_TYPE = re.compile(r"(string|boolean|tinyint|smallint|int|bigint|float|double|date|timestamp|binary"
                        r"|decimal\([0-9]{1,2},[0-9]{1,2}\)|varchar\([0-9]{1,5}\)|char\([0-9]{1,3}\))")
GLUE_TYPES_ALLOWED = ("a Glue/Hive column type: string, boolean, tinyint, smallint, int, bigint, float, double, date, "
                      "timestamp, binary, decimal(p,s), varchar(n), char(n)")
_DATA_LAKE_FIELDS = ("domains", "dataScientistColumns")
_DOMAIN_FIELDS = ("name", "tables")
_TABLE_FIELDS = ("name", "columns", "partitionKeys")
_COLUMN_FIELDS = ("name", "type")


@dataclass(frozen=True)
class LakeColumn:
    name: str
    type: str


@dataclass(frozen=True)
class LakeTable:
    """A Glue table of a domain, its data under `<domain>/<table>/` in the curated bucket (Parquet)."""

    domain: str
    name: str
    columns: tuple[LakeColumn, ...]
    partition_keys: tuple[LakeColumn, ...] = ()

    @property
    def ref(self) -> str:
        """How config names it: `domain.table`."""
        return f"{self.domain}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in (*self.columns, *self.partition_keys))


@dataclass(frozen=True)
class DataLake:
    tables: tuple[LakeTable, ...]
    scientist_columns: Mapping[str, tuple[str, ...]]
    """`domain.table` → the only columns data scientists may select; a table not listed: every column."""

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(table.domain for table in self.tables))

    def table(self, ref: str) -> LakeTable:
        return next(table for table in self.tables if table.ref == ref)

    def tables_of(self, domain: str) -> tuple[LakeTable, ...]:
        return tuple(table for table in self.tables if table.domain == domain)


def parse_data_lake(value: Any) -> DataLake | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError("dataLake", value, f"a map with: {', '.join(_DATA_LAKE_FIELDS)}")
    _reject_unknown_fields("dataLake", value, _DATA_LAKE_FIELDS)
    domains = value.get("domains")
    if not isinstance(domains, Sequence) or isinstance(domains, str) or not domains:
        raise ConfigError("dataLake.domains", domains, "a non-empty list of domains, each {name, tables}")
    tables: list[LakeTable] = []
    seen_domains: set[str] = set()
    for index, domain in enumerate(domains):
        key = f"dataLake.domains[{index}]"
        if not isinstance(domain, Mapping):
            raise ConfigError(key, domain, "a domain is a map {name, tables}")
        _reject_unknown_fields(key, domain, _DOMAIN_FIELDS)
        name = _lake_name(f"{key}.name", domain.get("name"))
        if name in seen_domains:
            raise ConfigError(f"{key}.name", name, "duplicated: each domain is listed once")
        seen_domains.add(name)
        tables.extend(_lake_tables(f"{key}.tables", name, domain.get("tables")))
    lake = DataLake(tables=tuple(tables), scientist_columns={})
    return DataLake(tables=lake.tables,
                    scientist_columns=_scientist_columns(lake, value.get("dataScientistColumns", {})))


def _lake_name(key: str, value: Any) -> str:
    return _pattern(key, value, _LAKE_NAME, "a Glue name: a lower-case letter, then lower-case letters, digits and "
                                            "underscores, at most 64 characters")


def _lake_tables(key: str, domain: str, value: Any) -> list[LakeTable]:
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        raise ConfigError(key, value, "a non-empty list of tables, each {name, columns, partitionKeys}")
    tables: list[LakeTable] = []
    for index, item in enumerate(value):
        table_key = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(table_key, item, "a table is a map {name, columns, partitionKeys}")
        _reject_unknown_fields(table_key, item, _TABLE_FIELDS)
        name = _lake_name(f"{table_key}.name", item.get("name"))
        if any(table.name == name for table in tables):
            raise ConfigError(f"{table_key}.name", name, f"duplicated: domain {domain!r} already has this table")
        columns = _lake_columns(f"{table_key}.columns", item.get("columns"), required=True)
        partition_keys = _lake_columns(f"{table_key}.partitionKeys", item.get("partitionKeys", []), required=False)
        for column_index, column in enumerate(partition_keys):
            if any(existing.name == column.name for existing in columns):
                raise ConfigError(f"{table_key}.partitionKeys[{column_index}].name", column.name,
                                  "already a column of the table: a partition key is a column of its own")
        tables.append(LakeTable(domain=domain, name=name, columns=columns, partition_keys=partition_keys))
    return tables


def _lake_columns(key: str, value: Any, required: bool) -> tuple[LakeColumn, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str) or (required and not value):
        raise ConfigError(key, value, ("a non-empty" if required else "a") + " list of columns, each {name, type}")
    columns: list[LakeColumn] = []
    for index, item in enumerate(value):
        column_key = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise ConfigError(column_key, item, "a column is a map {name, type}")
        _reject_unknown_fields(column_key, item, _COLUMN_FIELDS)
        name = _lake_name(f"{column_key}.name", item.get("name"))
        if any(column.name == name for column in columns):
            raise ConfigError(f"{column_key}.name", name, "duplicated: each column is listed once")
        kind = item.get("type")
        if not isinstance(kind, str) or not _GLUE_TYPE.fullmatch(kind.replace(" ", "")):
            raise ConfigError(f"{column_key}.type", kind, GLUE_TYPES_ALLOWED)
        columns.append(LakeColumn(name=name, type=kind.replace(" ", "")))
    return tuple(columns)


def _scientist_columns(lake: DataLake, value: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise ConfigError("dataLake.dataScientistColumns", value,
                          "a map of `domain.table` to the list of columns data scientists may select")
    refs = [table.ref for table in lake.tables]
    filters: dict[str, tuple[str, ...]] = {}
    for ref, columns in value.items():
        key = f"dataLake.dataScientistColumns.{ref}"
        if ref not in refs:
            raise ConfigError(key, columns, f"not a table of the data lake; its tables are: {', '.join(refs)}")
        if not isinstance(columns, Sequence) or isinstance(columns, str) or not columns:
            raise ConfigError(key, columns, "a non-empty list of the table's column names")
        known_columns = lake.table(ref).column_names
        for index, column in enumerate(columns):
            if column not in known_columns:
                raise ConfigError(f"{key}[{index}]", column,
                                  f"not a column of {ref}; its columns are: {', '.join(known_columns)}")
        filters[ref] = tuple(dict.fromkeys(columns))
    return filters


def _training_table_names(key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ConfigError(key, value, "a list of data lake tables, each `domain.table`")
    for index, ref in enumerate(value):
        if not isinstance(ref, str) or ref.count(".") != 1:
            raise ConfigError(f"{key}[{index}]", ref, "a data lake table as `domain.table`")
    return tuple(dict.fromkeys(value))


def _require_training_tables(use_cases: Sequence[UseCase], lake: DataLake | None) -> None:
    """Every table a use case trains on is a table of the data lake."""
    refs = [table.ref for table in lake.tables] if lake is not None else []
    for index, use_case in enumerate(use_cases):
        for table_index, ref in enumerate(use_case.training_tables):
            if ref not in refs:
                allowed = (f"not a table of the data lake; its tables are: {', '.join(refs)}" if refs else
                           "no dataLake is configured: declare the table under dataLake.domains first")
                raise ConfigError(f"useCases[{index}].trainingTables[{table_index}]", ref, allowed)
