"""Every stack of a size captured under the mock engine, in deploy order, without judging it: what the diagram
and the cost estimate read. The preview captures the same way and adds the policy pack and the proofs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlops_platform import topology
from mlops_platform.config import PlatformConfig
from mlops_platform.offline.capture import CapturedStack, SizeResources, capture_stack
from mlops_platform.offline.preview import PREVIEW_ORGANIZATION, validate_stacks
from mlops_platform.offline.stack_config import ProjectConfig
from mlops_platform.program import build_stack

Progress = Callable[[str], None]


@dataclass(frozen=True)
class CapturedSize:
    size: topology.Size
    configs: tuple[PlatformConfig, ...]
    """Each stack's validated config, in deploy order."""
    stacks: tuple[CapturedStack, ...]
    """Each stack's capture, in the same order."""

    def resources(self) -> SizeResources:
        return SizeResources(self.stacks)

    def config_of(self, stack: str) -> PlatformConfig:
        return next(config for config in self.configs if config.stack.name == stack)


def capture_size(project: ProjectConfig, progress: Progress | None = None) -> CapturedSize:
    """Validate every stack's config (ConfigError on the first problem), then capture the stacks in deploy order,
    each reading the outputs of those before it."""
    configs = validate_stacks(project)
    captured: dict[str, CapturedStack] = {}
    for config in configs:
        name = config.stack.name
        if progress is not None:
            progress(f"capturing stack {name}")
        captured[name] = capture_stack(
            build_stack, stack=name, config=project.runtime_config(name),
            stack_outputs={stack: c.outputs for stack, c in captured.items()},
            default_region=config.region, organization=PREVIEW_ORGANIZATION)
    return CapturedSize(size=project.size, configs=tuple(configs), stacks=tuple(captured.values()))
