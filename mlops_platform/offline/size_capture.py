"""Every stack of a size captured under the mock engine, in deploy order, each reading the outputs of the stacks
before it: what the preview judges, and what the diagram and the cost estimate read.

The accounts are captured as new (no SSM state: no model served) or, with `serving`, as after the first approval
(each served use case's tier state records version 1 of its group).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mlops_platform import contract, naming, topology
from mlops_platform.config import ConfigError, PlatformConfig, parse_config
from mlops_platform.offline.capture import CapturedStack, SizeResources, capture_stack
from mlops_platform.offline.stack_config import ProjectConfig
from mlops_platform.program import build_stack

PREVIEW_ORGANIZATION = "organization"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CapturedSize:
    size: topology.Size
    configs: tuple[PlatformConfig, ...]
    """Each captured stack's validated config, in deploy order."""
    stacks: tuple[CapturedStack, ...]
    """Each stack's capture, in the same order."""

    def resources(self) -> SizeResources:
        return SizeResources(self.stacks)

    def config_of(self, stack: str) -> PlatformConfig:
        return next(config for config in self.configs if config.stack.name == stack)


def validate_stacks(project: ProjectConfig) -> list[PlatformConfig]:
    """Every stack's config, validated before anything is captured. The first problem raises ConfigFileError
    naming the file and line that set the value, the stack, the key and the rule."""
    return [_validated(project, spec.name) for spec in topology.stacks(project.size)]


def _validated(project: ProjectConfig, stack: str) -> PlatformConfig:
    try:
        return parse_config(project.platform_values(stack), stack, PREVIEW_ORGANIZATION)
    except ConfigError as error:
        raise project.located(stack, error) from None


def first_approval_state(config: PlatformConfig) -> dict[str, str]:
    """The SSM state of a stack's accounts once version 1 of every served use case is approved and deployed."""
    registry_account = config.account_of_tier("artifact")
    return {contract.served_model_parameter(tier, use_case.name):
            naming.sagemaker_arn(config.region, registry_account,
                                 f"model-package/{contract.model_package_group_name(use_case.name)}/1")
            for tier in config.stack.tiers if tier in topology.SERVING_TIERS
            for use_case in config.use_cases if use_case.serve}


def capture_size(project: ProjectConfig, progress: Progress | None = None, serving: bool = False,
                 through: str | None = None, configs: list[PlatformConfig] | None = None,
                 on_captured: Callable[[CapturedStack], None] | None = None) -> CapturedSize:
    """Validate every stack's config (ConfigError on the first problem) unless `configs` are given, then capture
    the stacks in deploy order, up to and including `through` (default: all); `on_captured` is handed each stack
    as soon as it is captured."""
    configs = configs if configs is not None else validate_stacks(project)
    last = topology.deploy_position(project.size, through) if through is not None else len(configs) - 1
    captured: dict[str, CapturedStack] = {}
    for config in configs[: last + 1]:
        name = config.stack.name
        if progress is not None:
            progress(f"capturing stack {name}")
        captured[name] = capture_one(project, config, captured.values(), serving)
        if on_captured is not None:
            on_captured(captured[name])
    return CapturedSize(size=project.size, configs=tuple(configs[: last + 1]), stacks=tuple(captured.values()))


def capture_one(project: ProjectConfig, config: PlatformConfig, earlier: Iterable[CapturedStack],
                serving: bool = False) -> CapturedStack:
    """One stack of the size captured, reading the outputs of the `earlier` stacks it deploys after."""
    return capture_stack(
        build_stack, stack=config.stack.name, config=project.runtime_config(config.stack.name),
        stack_outputs={stack.name: stack.outputs for stack in earlier},
        default_region=config.region, organization=PREVIEW_ORGANIZATION,
        parameters=first_approval_state(config) if serving else None)
