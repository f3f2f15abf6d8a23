"""What one more use case adds to the idle cost, and the whole estimate of a project: the size captured again
with a copy of each use case, priced, minus the estimate as configured. Shared costs (networks, keys, Studio)
stay out of the increment because they do not change."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_platform.config import PlatformConfig
from mlops_platform.contract import CONFIG_NAMESPACE
from mlops_platform.offline.cost import CostEstimate, estimate
from mlops_platform.offline.prices import PriceTable, PriceTableError, load_price_table
from mlops_platform.offline.size_capture import CapturedSize, Progress, capture_size, validate_stacks
from mlops_platform.offline.stack_config import ProjectConfig


@dataclass(frozen=True)
class UseCaseCost:
    """What one more use case like `like` adds to the idle cost: the estimate with a copy of it (under another
    name, in every stack that lists it) minus the estimate as configured."""

    like: str
    by_item: Mapping[str, float]

    @property
    def monthly(self) -> float:
        return sum(self.by_item.values())


def use_case_names(size: CapturedSize) -> list[str]:
    return list(dict.fromkeys(use_case.name for config in size.configs for use_case in config.use_cases))


def increment(like: str, as_configured: CostEstimate, with_copy: CostEstimate) -> UseCaseCost:
    before, after = as_configured.by_item(), with_copy.by_item()
    items = {item: after.get(item, 0.0) - before.get(item, 0.0) for item in sorted({*after, *before})}
    return UseCaseCost(like, {item: usd for item, usd in items.items() if abs(usd) > 1e-9})


@dataclass(frozen=True)
class WithCopiedUseCase(ProjectConfig):
    """The project's config with a copy of one use case, named `copy_name`, added wherever it is listed."""

    original: str = ""
    copy_name: str = ""

    def values(self, stack: str) -> dict[str, Any]:
        merged = super().values(stack)
        key = f"{CONFIG_NAMESPACE}:useCases"
        entries = merged.get(key)
        if isinstance(entries, list):
            copies = [self._copy(entry) for entry in entries if _use_case_name(entry) == self.original]
            merged[key] = [*entries, *copies]
        return merged

    def _copy(self, entry: Any) -> Any:
        if not isinstance(entry, Mapping):
            return self.copy_name
        return {**entry, "name": self.copy_name}


def with_copied_use_case(project: ProjectConfig, original: str, existing: Iterable[str]) -> WithCopiedUseCase:
    return WithCopiedUseCase(project.root, project.size, project.stack_dir, project.project, project.declared,
                             project.stack_sources, project.override,
                             original=original, copy_name=_copy_name(original, set(existing)))


def _copy_name(original: str, existing: set[str]) -> str:
    """A valid, unused use case name (at most 32 characters)."""
    for number in range(2, 100):
        suffix = f"-{number}"
        candidate = original[: 32 - len(suffix)] + suffix
        if candidate not in existing:
            return candidate
    raise PriceTableError(f"no free name for a copy of use case {original!r}")


def _use_case_name(entry: Any) -> Any:
    return entry.get("name") if isinstance(entry, Mapping) else entry


@dataclass(frozen=True)
class ProjectCost:
    estimate: CostEstimate
    use_cases: tuple[UseCaseCost, ...]


def project_cost(project: ProjectConfig, progress: Progress | None = None) -> ProjectCost:
    """The idle estimate of the project's size and, per use case, what one more like it adds (one more capture
    each)."""
    table = load_price_table(one_region(validate_stacks(project)))
    return cost_of_capture(project, capture_size(project, progress, serving=True), table, progress)


def cost_of_capture(project: ProjectConfig, size: CapturedSize, table: PriceTable,
                    progress: Progress | None = None) -> ProjectCost:
    """The estimate of `size` (the capture of `project`) and each use case's increment."""
    as_configured = estimate(size, table)
    names = use_case_names(size)
    increments = []
    for name in names:
        if progress is not None:
            progress(f"pricing one more use case like {name}")
        with_copy = estimate(capture_size(with_copied_use_case(project, name, names), serving=True), table)
        increments.append(increment(name, as_configured, with_copy))
    return ProjectCost(as_configured, tuple(increments))


def one_region(configs: Iterable[PlatformConfig]) -> str:
    regions = sorted({config.region for config in configs})
    if len(regions) > 1:
        raise PriceTableError(f"the stacks use regions {', '.join(regions)} (mlops-platform:region): the cost "
                              "estimate prices one region at a time")
    return regions[0]
