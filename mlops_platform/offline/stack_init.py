"""`mlops-platform init`: write the stack files of a size beside `Pulumi.yaml`, so that switching is one command.

Each `Pulumi.<stack>.yaml` is the size's sample (`examples/<size>/`) with the size, the accounts (the ids given,
or placeholders marked for replacement) and optionally the region set. Existing stack files are overwritten,
and those of stacks the size does not have removed, only with `force`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_platform import topology
from mlops_platform.config import aws_regions
from mlops_platform.contract import CONFIG_NAMESPACE
from mlops_platform.offline.pulumi_yaml import ConfigFileError, load, resolve_plain, shown_path
from mlops_platform.offline.stack_config import EXAMPLES_DIR, PROJECT_FILE, stack_file_name
from mlops_platform.topology import Size

PLACEHOLDER_IDS: Mapping[str, str] = {
    "workload": "111111111111", "management": "111111111111", "data": "222222222222", "artifact": "333333333333",
    "cicd": "444444444444", "ops": "555555555555", "dev": "666666666666", "staging": "777777777777",
    "prod": "888888888888",
}
"""The samples' example ids, written where no id is given: every one is marked for replacement."""
PLACEHOLDER_MARK = "PLACEHOLDER: replace with your"
WRITTEN_KEYS = ("size", "region", "accounts")
_ACCOUNT_ID = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class InitResult:
    written: list[Path]
    removed: list[Path]
    placeholders: list[str]
    """Account keys written with a placeholder id."""


def parse_accounts(text: str | None, size: Size) -> dict[str, str]:
    """`--accounts key=id,...` → {key: id}; every key one the size needs, every id 12 digits."""
    if not text:
        return {}
    needed = topology.accounts(size)
    accounts: dict[str, str] = {}
    for item in text.split(","):
        key, sep, account_id = (part.strip() for part in item.partition("="))
        if not sep:
            raise ConfigFileError(f"--accounts {item}: each entry is key=id, e.g. {needed[0]}=123456789012")
        if key not in needed:
            raise ConfigFileError(f"--accounts {key}={account_id}: size {size.value!r} has no account {key!r}; "
                                  f"its accounts are: {', '.join(needed)}")
        if not _ACCOUNT_ID.fullmatch(account_id):
            raise ConfigFileError(f"--accounts {key}={account_id}: an AWS account id is exactly 12 digits")
        if key in accounts:
            raise ConfigFileError(f"--accounts {key}: given twice")
        accounts[key] = account_id
    return accounts


def init_stack_files(root: Path, size: Size, accounts: Mapping[str, str], region: str | None,
                     force: bool) -> InitResult:
    if not (root / PROJECT_FILE).is_file():
        raise ConfigFileError(f"{shown_path(root / PROJECT_FILE)} not found: run from the project folder or pass "
                              "--project-dir")
    if region is not None and region not in aws_regions():
        raise ConfigFileError(f"--region {region}: not an AWS region name, e.g. 'us-east-1', 'eu-west-1'")
    samples = root / EXAMPLES_DIR / size.value
    if not samples.is_dir():
        raise ConfigFileError(f"{shown_path(samples)}: the sample stack files of size {size.value!r} are not there "
                              "to start from")
    names = topology.stack_names(size)
    targets = [root / stack_file_name(stack) for stack in names]
    stale = [path for path in sorted(root.glob(stack_file_name("*")))
             if path.name not in {target.name for target in targets}]
    existing = [path for path in targets if path.exists()]
    if (existing or stale) and not force:
        raise ConfigFileError(_refusal(size, existing, stale))
    contents = {path: _stack_file(size, stack, samples / stack_file_name(stack), accounts, region)
                for stack, path in zip(names, targets, strict=True)}
    for path, text in contents.items():
        path.write_text(text)
    for path in stale:
        path.unlink()
    placeholders = [name for name in topology.accounts(size) if name not in accounts]
    return InitResult(written=targets, removed=stale, placeholders=placeholders)


def _refusal(size: Size, existing: list[Path], stale: list[Path]) -> str:
    problems = []
    if existing:
        problems.append(f"would overwrite {', '.join(path.name for path in existing)}")
    if stale:
        problems.append(f"would leave {', '.join(path.name for path in stale)}, stacks size {size.value!r} does not "
                        "have")
    folder = shown_path(existing[0].parent if existing else stale[0].parent)
    return f"{folder}: {'; '.join(problems)}: pass --force to overwrite (and remove the others)"


def _stack_file(size: Size, stack: str, sample: Path, accounts: Mapping[str, str], region: str | None) -> str:
    spec = topology.stack(size, stack)
    block = (load(sample, "sample stack file").value or {}).get("config") or {}
    rest = {key: value for key, value in block.items()
            if key not in {f"{CONFIG_NAMESPACE}:{name}" for name in WRITTEN_KEYS}}
    lines = [
        f"# Stack `{stack}` of the {size.value} size (tiers: {', '.join(spec.tiers)}; account: {spec.account}), "
        f"written by `mlops-platform init --size {size.value}`.",
        f"# Project-level defaults in {PROJECT_FILE} apply; set here only what differs for this stack.",
        "config:",
        f"  {CONFIG_NAMESPACE}:size: {size.value}",
    ]
    if region is not None:
        lines.append(f"  {CONFIG_NAMESPACE}:region: {region}")
    lines.append(f"  {CONFIG_NAMESPACE}:accounts:")
    for name in topology.accounts(size):
        if name in accounts:
            lines.append(f'    {name}: "{accounts[name]}"')
        else:
            lines.append(f'    {name}: "{PLACEHOLDER_IDS[name]}"  # {PLACEHOLDER_MARK} {name} account\'s id')
    if rest:
        lines.append(_indented(dump(rest)))
    return "\n".join(lines) + "\n"


def _indented(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.rstrip("\n").splitlines())


class _PulumiSafeDumper(yaml.SafeDumper):
    """Quotes every string that go-yaml would not read back as that same string (`0123`, `true`, `1e3`)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if resolve_plain(value) != value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_PulumiSafeDumper.add_representer(str, _represent_str)


def dump(value: Any) -> str:
    """YAML that Pulumi (go-yaml v3) reads back as exactly `value`."""
    return yaml.dump(value, Dumper=_PulumiSafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)
