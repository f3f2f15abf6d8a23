"""What the pack knows of the platform it judges: the size, which account hosts which tier, and the CI/CD
deploy path, read from the stack configuration the Pulumi CLI hands the pack (PULUMI_CONFIG).

One pack process may serve every stack of a size (the offline preview), so only configuration that all stacks
share is relied upon: `size`, `accounts`, `deployRoleName`, `region` (the partition of ARNs). When `accounts`
is missing or invalid, the separation rules still block what needs no accounts (`*`, other accounts' roots)
and say what they could not check.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlops_platform import ci, contract, naming, topology
from mlops_platform import config as platform_config


@dataclass(frozen=True)
class Platform:
    """The platform's accounts as configured; `accounts` is empty when they are not (see `problem`)."""

    size: topology.Size | None = None
    accounts: Mapping[str, str] = field(default_factory=dict)
    """Logical account name (the keys of the `accounts` config) → account id."""
    deploy_role_name: str = platform_config.DEFAULT_DEPLOY_ROLE
    partition: str = "aws"
    """The partition of `mlops-platform:region` (or `aws:region`); `aws` when neither names a known region."""
    problem: str | None = "the stack configuration names no accounts (mlops-platform:accounts)"
    ci_repository: str | None = None
    """`ci.github.repository`: CI's OIDC identities exist (`mlops_platform.ci`)."""
    imaged_use_cases: frozenset[str] | None = None
    """The use cases declaring their own image (`useCases[].image`), where the configuration handed to the pack
    names the use cases (a `pulumi up` of one stack); None where it does not (one pack for every stack)."""

    @property
    def configured(self) -> bool:
        return self.size is not None and bool(self.accounts)

    def account_of_tier(self, tier: str) -> str | None:
        if self.size is None or tier not in topology.tiers(self.size):
            return None
        return self.accounts.get(topology.stack_hosting(self.size, tier).account)

    def tiers_in_account(self, account_id: str) -> frozenset[str]:
        """The tiers hosted in an account; empty for an account that is not the platform's."""
        if self.size is None:
            return frozenset()
        names = {name for name, value in self.accounts.items() if value == account_id}
        return frozenset(tier for spec in topology.stacks(self.size) if spec.account in names for tier in spec.tiers)

    def accounts_hosting(self, tiers: frozenset[str]) -> frozenset[str]:
        return frozenset(account for tier in tiers if (account := self.account_of_tier(tier)) is not None)

    def deploy_path_roles(self) -> frozenset[str]:
        """The role ARNs that may assume a workload account's deploy role: the cicd account's pipeline role and
        the management account's bootstrap role (where the size has a management account)."""
        roles: set[str] = set()
        cicd = self.account_of_tier("cicd")
        if cicd is not None:
            roles.add(contract.deploy_pipeline_role_arn(self.partition, cicd))
        management = self.accounts.get("management")
        if management is not None:
            roles.add(contract.bootstrap_role_arn(self.partition, management))
        return frozenset(roles)

    def ci_deploy_role_of(self, account_id: str | None) -> str | None:
        """The environment deploy role that may assume `account_id`'s deploy role, if CI's identities exist."""
        cicd = self.account_of_tier("cicd")
        if self.ci_repository is None or self.size is None or cicd is None or account_id is None:
            return None
        environment = next((env for env, accounts in ci.environment_accounts(self.size, self.accounts).items()
                            if account_id in accounts), None)
        return ci.deploy_role_arn(self.partition, cicd, environment) if environment else None

    def describe_account(self, account_id: str) -> str:
        names = sorted(name for name, value in self.accounts.items() if value == account_id)
        return f"the {'/'.join(names)} account {account_id}" if names else f"account {account_id}"


def parse_platform(config: Mapping[str, Any]) -> Platform:
    """The platform from `namespace:key` configuration values (strings, as in PULUMI_CONFIG), read by the
    program's own parsers (`mlops_platform.config`). Lenient where the pack judges stacks whose configuration
    the program would refuse: a problem is recorded (and reported by the rules that need accounts), never
    raised, and a missing `size` is told by the accounts' names."""
    raw = {key.removeprefix(f"{contract.CONFIG_NAMESPACE}:"): _json(value) for key, value in config.items()
           if key.startswith(f"{contract.CONFIG_NAMESPACE}:")}
    partition = _partition(raw.get("region") or config.get("aws:region"))
    try:
        deploy_role = platform_config.parse_deploy_role_name(raw.get("deployRoleName",
                                                                     platform_config.DEFAULT_DEPLOY_ROLE))
    except platform_config.ConfigError:
        deploy_role = platform_config.DEFAULT_DEPLOY_ROLE
    unconfigured = Platform(deploy_role_name=deploy_role, partition=partition,
                            imaged_use_cases=_imaged_use_cases(raw.get("useCases")))
    if raw.get("accounts") is None:
        return unconfigured
    try:
        size = _size(raw.get("size"), raw["accounts"])
        accounts = platform_config.parse_accounts(size, raw["accounts"])
    except platform_config.ConfigError as problem:
        return dataclasses.replace(unconfigured, problem=str(problem))
    return Platform(size=size, accounts=accounts, deploy_role_name=deploy_role, partition=partition,
                    problem=None, ci_repository=_ci_repository(raw.get("ci")),
                    imaged_use_cases=unconfigured.imaged_use_cases)


def _imaged_use_cases(value: Any) -> frozenset[str] | None:
    """None when the use cases are not configured or not valid: the pack then cannot list the image builds."""
    if value is None:
        return None
    try:
        use_cases = platform_config.parse_use_cases(value)
    except platform_config.ConfigError:
        return None
    return frozenset(use_case.name for use_case in use_cases if use_case.image is not None)


def _ci_repository(value: Any) -> str | None:
    try:
        return platform_config.parse_ci(value if value is not None else {}).github_repository
    except platform_config.ConfigError:
        return None


def _partition(region: Any) -> str:
    try:
        return naming.partition_of(str(region)) if region else "aws"
    except naming.NamingError:
        return "aws"


def _size(value: Any, accounts: Any) -> topology.Size:
    """The configured size; when left to its default, the size whose accounts the map names (else the program's
    default, which the accounts are then checked against)."""
    if value is not None:
        return platform_config.parse_size(value)
    for size in topology.Size:
        if isinstance(accounts, Mapping) and set(accounts) == set(topology.accounts(size)):
            return size
    return platform_config.DEFAULT_SIZE


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


@functools.cache
def platform() -> Platform:
    """The platform of this pack process's configuration (read once: the CLI sets it when it starts the pack)."""
    return parse_platform(pulumi.runtime.get_config_env())
