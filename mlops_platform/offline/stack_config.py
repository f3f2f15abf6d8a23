"""Stack configuration as the Pulumi CLI would assemble it, read from the project's YAML files.

Precedence, lowest first: `Pulumi.yaml`'s `config:` block, the size's `Pulumi.<stack>.yaml`, a user's
override file (`--config`), and the `--size` flag. The large size's stack files sit beside `Pulumi.yaml`;
the small and medium samples live in `examples/<size>/`, ready to be copied there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_platform.config import DEFAULT_SIZE, ConfigError, parse_size
from mlops_platform.contract import CONFIG_NAMESPACE
from mlops_platform.topology import Size


class ConfigFileError(Exception):
    """A configuration file is missing or is not valid YAML in the shape Pulumi expects."""


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    size: Size
    defaults: Mapping[str, Any]
    overrides: Mapping[str, Any]

    def stack_dir(self) -> Path:
        return self.root if self.size == DEFAULT_SIZE else self.root / "examples" / self.size.value

    def stack_file(self, stack: str) -> Path:
        return self.stack_dir() / f"Pulumi.{stack}.yaml"

    def values(self, stack: str) -> dict[str, Any]:
        """The merged config of one stack, keys in full `namespace:key` form, values as YAML gave them."""
        merged = {**self.defaults}
        stack_file = self.stack_file(stack)
        if stack_file.exists():
            merged.update(_config_block(stack_file, project_file=False))
        merged.update(self.overrides)
        merged[f"{CONFIG_NAMESPACE}:size"] = self.size.value
        return merged

    def runtime_config(self, stack: str) -> dict[str, str]:
        """The merged config in the form the Pulumi runtime hands a program: every value a string."""
        return {key: _runtime_value(value) for key, value in self.values(stack).items()}

    def platform_values(self, stack: str) -> dict[str, Any]:
        """Only the `mlops-platform:*` values, without the namespace: what `config.parse_config` takes."""
        prefix = CONFIG_NAMESPACE + ":"
        return {key[len(prefix):]: value for key, value in self.values(stack).items() if key.startswith(prefix)}


def load_project_config(root: Path, size: str | None = None, override_file: Path | None = None) -> ProjectConfig:
    project_file = root / "Pulumi.yaml"
    if not project_file.exists():
        raise ConfigFileError(f"{project_file} not found: run from the project folder or pass --project-dir")
    defaults = _config_block(project_file, project_file=True)
    overrides = _config_block(override_file, project_file=False) if override_file is not None else {}
    size_key = f"{CONFIG_NAMESPACE}:size"
    chosen = size if size is not None else overrides.get(size_key, defaults.get(size_key, DEFAULT_SIZE.value))
    try:
        parsed_size = parse_size(chosen)
    except ConfigError as err:
        if size is not None:
            raise ConfigError("size (--size)", size, err.allowed) from None
        raise
    return ProjectConfig(root=root, size=parsed_size, defaults=defaults, overrides=overrides)


def _config_block(path: Path, project_file: bool) -> dict[str, Any]:
    if not path.exists():
        raise ConfigFileError(f"config file {path} not found")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigFileError(f"{path} is not valid YAML: {err}") from None
    if not isinstance(document, Mapping):
        raise ConfigFileError(f"{path} must be a YAML map with a `config:` block")
    block = document.get("config") or {}
    if not isinstance(block, Mapping):
        raise ConfigFileError(f"{path}: `config:` must be a map of key to value")
    return {_full_key(str(key)): _project_value(value) if project_file else value for key, value in block.items()}


def _full_key(key: str) -> str:
    return key if ":" in key else f"{CONFIG_NAMESPACE}:{key}"


def _project_value(value: Any) -> Any:
    """`Pulumi.yaml` writes scalars directly and structured values as `{value: ...}` (or `{default: ...}`)."""
    if isinstance(value, Mapping) and "value" in value:
        return value["value"]
    if isinstance(value, Mapping) and "default" in value:
        return value["default"]
    return value


def _runtime_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
