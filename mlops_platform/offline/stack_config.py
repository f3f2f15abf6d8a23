"""Stack configuration as the Pulumi CLI would assemble it, read from the project's YAML files.

Precedence, lowest first: `Pulumi.yaml`'s `config:` block, the stack's `Pulumi.<stack>.yaml`, a user's
override file (`--config`), and the `--size` flag. The stacks previewed are the stack files beside
`Pulumi.yaml`, each with its own `mlops-platform:size`; `--size S` previews those when they are of size S,
and otherwise the samples in `examples/S/`. Every file is read as Pulumi reads it (`pulumi_yaml`), and every
error names the file, the line where known, the key and the rule.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_platform import topology
from mlops_platform.config import DEFAULT_SIZE, ConfigError, parse_size
from mlops_platform.contract import CONFIG_NAMESPACE
from mlops_platform.offline.pulumi_yaml import ConfigFileError, PathKey, YamlDocument, load, shown_path
from mlops_platform.topology import Size

__all__ = ["ConfigFileError", "ConfigSource", "ProjectConfig", "load_project_config", "stack_file_name"]

PROJECT_FILE = "Pulumi.yaml"
EXAMPLES_DIR = "examples"
SIZE_KEY = f"{CONFIG_NAMESPACE}:size"
STACK_FILE_FIELDS: tuple[str, ...] = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
"""The top-level keys of a Pulumi stack file."""
KNOWN_NAMESPACES: tuple[str, ...] = (CONFIG_NAMESPACE, "aws", "pulumi")
PROJECT_CONFIG_FIELDS: tuple[str, ...] = ("type", "description", "secret", "default", "value", "items")
"""The fields of a project-level config declaration in `Pulumi.yaml`."""
PROJECT_CONFIG_TYPES: tuple[str, ...] = ("string", "integer", "boolean", "array")
INIT_HINT = "run `mlops-platform init --size {size}` to write them"
_KEY_PART = re.compile(r"([^.\[\]]+)|\[([0-9]+)\]")


def stack_file_name(stack: str) -> str:
    return f"Pulumi.{stack}.yaml"


@dataclass(frozen=True)
class ConfigSource:
    """One file's `config:` block: full `namespace:key` → the value the program is handed, and where it is."""

    document: YamlDocument
    values: Mapping[str, Any]
    paths: Mapping[str, PathKey]

    @property
    def path(self) -> Path:
        return self.document.path


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    size: Size
    stack_dir: Path
    """The folder whose `Pulumi.<stack>.yaml` files are previewed: the project's own, or `examples/<size>`."""
    project: ConfigSource
    declared: Mapping[str, str]
    """Keys `Pulumi.yaml` declares with a `type:` and no value → that type: each stack must set them."""
    stack_sources: Mapping[str, ConfigSource]
    override: ConfigSource | None = None

    def stack_file(self, stack: str) -> Path:
        return self.stack_dir / stack_file_name(stack)

    def layers(self, stack: str) -> list[ConfigSource]:
        """The files that configure `stack`, lowest precedence first."""
        stack_source = self.stack_sources.get(stack)
        return [source for source in (self.project, stack_source, self.override) if source is not None]

    def values(self, stack: str) -> dict[str, Any]:
        """The merged config of one stack, keys in full `namespace:key` form; scalars as the text Pulumi hands
        the program, lists and maps as YAML gave them."""
        merged: dict[str, Any] = {}
        for source in self.layers(stack):
            merged.update(source.values)
        for key, declared_type in self.declared.items():
            if key not in merged:
                raise ConfigFileError(
                    f"{_shown(self.stack_file(stack))} (stack {stack}): {key}: missing: {PROJECT_FILE} declares it "
                    f"(type: {declared_type}) without a value, so the stack must set it")
        merged[SIZE_KEY] = self.size.value
        return merged

    def runtime_config(self, stack: str) -> dict[str, str]:
        """The merged config in the form the Pulumi runtime hands a program: every value a string."""
        return {key: _runtime_value(value) for key, value in self.values(stack).items()}

    def platform_values(self, stack: str) -> dict[str, Any]:
        """Only the `mlops-platform:*` values, without the namespace: what `config.parse_config` takes."""
        prefix = CONFIG_NAMESPACE + ":"
        return {key[len(prefix):]: value for key, value in self.values(stack).items() if key.startswith(prefix)}

    def origin(self, stack: str, full_key: str) -> ConfigSource | None:
        """The file whose value of `full_key` the stack uses (Pulumi replaces a key's value whole, never merges)."""
        for source in reversed(self.layers(stack)):
            if full_key in source.values:
                return source
        return None

    def located(self, stack: str, error: ConfigError) -> ConfigFileError:
        """`error` as one line naming the file (and line) that set the value, the stack, the key and the rule."""
        parts = _key_parts(error.key)
        full_key = f"{CONFIG_NAMESPACE}:{parts[0]}"
        source = self.origin(stack, full_key)
        if source is None:
            where = f"{_shown(self.stack_file(stack))} (stack {stack})"
            shown_value = "" if error.value is None else f" = {_render(error.value)}"
            return ConfigFileError(f"{where}: {CONFIG_NAMESPACE}:{error.key}{shown_value}: {error.allowed}")
        path = (*source.paths[full_key], *parts[1:])
        line = source.document.line_of(path)
        where = f"{_shown(source.path)}{'' if line is None else f':{line}'} (stack {stack})"
        text = source.document.texts.get(path)
        if text is not None:
            shown_value = f" = {text}"
        elif error.value is None:
            shown_value = ""
        else:
            shown_value = f" = {_render(error.value)}"
        return ConfigFileError(f"{where}: {CONFIG_NAMESPACE}:{error.key}{shown_value}: {error.allowed}")


def load_project_config(root: Path, size: str | None = None, override_file: Path | None = None) -> ProjectConfig:
    """The project's config: `Pulumi.yaml`, the stack files of the size previewed, and the `--config` file."""
    project_file = root / PROJECT_FILE
    if not project_file.is_file():
        raise ConfigFileError(f"{_shown(project_file)} not found: run from the project folder or pass --project-dir")
    project, declared = _project_source(load(project_file, "project file"))
    override = _override_source(override_file) if override_file is not None else None
    own: Mapping[str, ConfigSource] = _stack_sources(root)
    if size is None:
        chosen = _agreed_size(project, own, override, root)
        stack_dir, sources = root, own
    else:
        chosen = _flag_size(size)
        stack_dir, sources = _stack_files_of_size(root, chosen, project, own, override)
    _require_stack_files(chosen, stack_dir, sources)
    return ProjectConfig(root=root, size=chosen, stack_dir=stack_dir, project=project, declared=declared,
                         stack_sources=sources, override=override)


def _flag_size(size: str) -> Size:
    try:
        return parse_size(size)
    except ConfigError as err:
        raise ConfigFileError(f"--size {size}: {err.allowed}") from None


def _stack_files_of_size(root: Path, size: Size, project: ConfigSource, own: Mapping[str, ConfigSource],
                         override: ConfigSource | None) -> tuple[Path, Mapping[str, ConfigSource]]:
    """The project's own stack files when they are all of `size`, else the samples in `examples/<size>/`."""
    if own and all(_stack_size(stack, project, source, override)[0] == size for stack, source in own.items()):
        return root, own
    samples = root / EXAMPLES_DIR / size.value
    if not samples.is_dir():
        raise ConfigFileError(f"{_shown(samples)}: sample stack files of size {size.value!r} not found, and the "
                              f"stack files beside {PROJECT_FILE} are not of that size; {INIT_HINT.format(size=size)}")
    return samples, _stack_sources(samples)


def _agreed_size(project: ConfigSource, own: Mapping[str, ConfigSource], override: ConfigSource | None,
                 root: Path) -> Size:
    """The size every stack file beside `Pulumi.yaml` agrees on (each read with the precedence of its stack)."""
    if not own:
        raise ConfigFileError(f"{_shown(root / PROJECT_FILE)}: no stack files (Pulumi.<stack>.yaml) beside it; "
                              f"{INIT_HINT.format(size='small|medium|large')}")
    sizes = {stack: _stack_size(stack, project, source, override) for stack, source in own.items()}
    distinct = sorted({size for size, _ in sizes.values()}, key=list(Size).index)
    if len(distinct) > 1:
        said = ", ".join(
            f"{_shown(own[stack].path)} {size.value}{'' if origin == own[stack].path.name else f' (from {origin})'}"
            for stack, (size, origin) in sizes.items())
        raise ConfigFileError(f"the stack files disagree on {SIZE_KEY}: {said}; give every stack one size, or "
                              f"{INIT_HINT.format(size='<size> --force')}")
    return distinct[0]


def _stack_size(stack: str, project: ConfigSource, source: ConfigSource,
                override: ConfigSource | None) -> tuple[Size, str]:
    """The size a stack's own files give it, and the name of the file that says so."""
    for layer in (override, source, project):
        if layer is not None and SIZE_KEY in layer.values:
            try:
                return parse_size(layer.values[SIZE_KEY]), layer.path.name
            except ConfigError as err:
                line = layer.document.line_of(layer.paths[SIZE_KEY])
                raise ConfigFileError(f"{_shown(layer.path)}:{line} (stack {stack}): {SIZE_KEY} = "
                                      f"{_render(err.value)}: {err.allowed}") from None
    return DEFAULT_SIZE, "the default"


def _require_stack_files(size: Size, stack_dir: Path, sources: Mapping[str, ConfigSource]) -> None:
    names = topology.stack_names(size)
    for stack in sources:
        if stack not in names:
            raise ConfigFileError(f"{_shown(stack_dir / stack_file_name(stack))}: size {size.value!r} has no stack "
                                  f"{stack!r}; its stacks are: {', '.join(names)} (remove the file)")
    for stack in names:
        if stack not in sources:
            raise ConfigFileError(f"{_shown(stack_dir / stack_file_name(stack))}: missing: size {size.value!r} needs "
                                  f"a stack file for each of its stacks ({', '.join(names)}); "
                                  f"{INIT_HINT.format(size=size.value)}")


def _stack_sources(folder: Path) -> dict[str, ConfigSource]:
    """Every `Pulumi.<stack>.yaml` in `folder`, by stack in deploy order; a stack is named after its tier."""
    sources: dict[str, ConfigSource] = {}
    for path in sorted(folder.glob(stack_file_name("*"))):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        if stack not in topology.TIERS:
            raise ConfigFileError(f"{_shown(path)}: stack {stack!r} is not a tier; a stack is named after its tier, "
                                  f"one of: {', '.join(topology.TIERS)}")
        sources[stack] = _stack_source(load(path, "stack file"), require_config=False)
    return dict(sorted(sources.items(), key=lambda item: topology.TIERS.index(item[0])))


def _override_source(path: Path) -> ConfigSource:
    return _stack_source(load(path, "--config file"), require_config=True)


def _stack_source(document: YamlDocument, require_config: bool) -> ConfigSource:
    """A stack file (or a `--config` file in its form): `config:` of namespaced keys. A `--config` file must set
    something: a file that sets nothing never passes silently."""
    body = document.value
    path = document.path
    if body is None and not require_config:
        return ConfigSource(document=document, values={}, paths={})
    if not isinstance(body, Mapping):
        raise ConfigFileError(f"{_shown(path)}: must be a YAML map with a `config:` block of `namespace:key: value`")
    for field_name in body:
        if field_name not in STACK_FILE_FIELDS:
            raise ConfigFileError(f"{_shown(path)}:{document.lines[(field_name,)]}: {field_name}: unknown top-level "
                                  f"key{_did_you_mean(field_name, STACK_FILE_FIELDS)}; a stack file has: "
                                  f"{', '.join(STACK_FILE_FIELDS)}")
    block = body.get("config")
    if require_config and not block:
        raise ConfigFileError(f"{_shown(path)}: config: sets nothing: a --config file sets values under `config:`, "
                              f"e.g. `config: {{{CONFIG_NAMESPACE}:owner: data-team}}`")
    if block is None:
        return ConfigSource(document=document, values={}, paths={})
    if not isinstance(block, Mapping):
        raise ConfigFileError(f"{_shown(path)}:{document.lines[('config',)]}: config: must be a map of "
                              "`namespace:key: value`")
    values: dict[str, Any] = {}
    paths: dict[str, PathKey] = {}
    for key, value in block.items():
        at: PathKey = ("config", key)
        full_key = _namespaced(document, at, key, project_file=False)
        _reject_secret(document, at, full_key, value)
        values[full_key] = value if isinstance(value, list | dict) else _stack_scalar(document, at, value)
        paths[full_key] = at
    return ConfigSource(document=document, values=values, paths=paths)


def _stack_scalar(document: YamlDocument, at: PathKey, value: Any) -> str:
    """Pulumi keeps a stack file's top-level scalar as the text written: `0123` stays `0123`, `true` is `true`."""
    if value is None:
        return ""
    return document.texts.get(at, str(value))


def _reject_secret(document: YamlDocument, at: PathKey, full_key: str, value: Any) -> None:
    if isinstance(value, Mapping) and set(value) == {"secure"}:
        raise ConfigFileError(f"{_where(document, at)}: {full_key}: a secret (`secure:`); the offline preview cannot "
                              "decrypt secrets, and no key of this platform is one")


def _project_source(document: YamlDocument) -> tuple[ConfigSource, dict[str, str]]:
    """`Pulumi.yaml`'s `config:`: shorthand scalars and lists, or declarations `{type, default | value, ...}`."""
    body = document.value
    path = document.path
    if not isinstance(body, Mapping):
        raise ConfigFileError(f"{_shown(path)}: must be a YAML map (name, runtime, config, ...)")
    if body.get("name") != CONFIG_NAMESPACE:
        line = document.line_of(("name",))
        raise ConfigFileError(f"{_shown(path)}:{line}: name = {body.get('name')}: the project must be named "
                              f"{CONFIG_NAMESPACE!r}: the program reads its config under `{CONFIG_NAMESPACE}:`")
    block = body.get("config") or {}
    if not isinstance(block, Mapping):
        raise ConfigFileError(f"{_where(document, ('config',))}: config: must be a map of key to value")
    values: dict[str, Any] = {}
    paths: dict[str, PathKey] = {}
    declared: dict[str, str] = {}
    for key, entry in block.items():
        at: PathKey = ("config", key)
        full_key = _namespaced(document, at, key, project_file=True)
        value, value_at, declared_type = _project_entry(document, at, full_key, entry)
        if value_at is None:
            declared[full_key] = declared_type or ""
            continue
        values[full_key] = value if isinstance(value, list | dict) else _pulumi_string(value)
        paths[full_key] = value_at
    return ConfigSource(document=document, values=values, paths=paths), declared


def _project_entry(document: YamlDocument, at: PathKey, full_key: str,
                   entry: Any) -> tuple[Any, PathKey | None, str | None]:
    """One project-level entry → (value, where the value is, declared type); no value location: declared only."""
    if isinstance(entry, list) or (entry is not None and not isinstance(entry, Mapping)):
        return entry, at, None
    if entry is None:
        raise ConfigFileError(f"{_where(document, at)}: {full_key}: no value: give one, or declare it "
                              "`{type: string}` for each stack to set")
    unknown = [name for name in entry if name not in PROJECT_CONFIG_FIELDS]
    if unknown:
        raise ConfigFileError(
            f"{_where(document, (*at, unknown[0]))}: {full_key}: a map must be wrapped in `value:` (Pulumi reads a map "
            f"here as a declaration with fields {', '.join(PROJECT_CONFIG_FIELDS)}; {unknown[0]!r} is none of them)")
    if "value" in entry and "default" in entry:
        raise ConfigFileError(f"{_where(document, at)}: {full_key}: `value` and `default` together: give one")
    declared_type = _declared_type(document, at, full_key, entry.get("type"))
    for field_name in ("value", "default"):
        if field_name in entry:
            value = entry[field_name]
            _check_declared_type(document, (*at, field_name), full_key, declared_type, value)
            return value, (*at, field_name), declared_type
    if declared_type is None:
        raise ConfigFileError(f"{_where(document, at)}: {full_key}: a declaration needs `value:`, `default:` or "
                              "`type:`")
    return None, None, declared_type


def _declared_type(document: YamlDocument, at: PathKey, full_key: str, declared: Any) -> str | None:
    if declared is None:
        return None
    if not full_key.startswith(CONFIG_NAMESPACE + ":"):
        raise ConfigFileError(f"{_where(document, (*at, 'type'))}: {full_key}: only the project's own keys may "
                              "declare a type; give another namespace's key just a value")
    if declared not in PROJECT_CONFIG_TYPES:
        raise ConfigFileError(f"{_where(document, (*at, 'type'))}: {full_key}: type {declared}: one of "
                              f"{', '.join(PROJECT_CONFIG_TYPES)}")
    return str(declared)


def _check_declared_type(document: YamlDocument, at: PathKey, full_key: str, declared: str | None,
                         value: Any) -> None:
    matches = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
    }
    if value is None:
        raise ConfigFileError(f"{_where(document, at)}: {full_key}: no value: give one, or declare only a `type:` "
                              "for each stack to set")
    if declared is not None and not matches[declared]:
        raise ConfigFileError(f"{_where(document, at)}: {full_key} = {document.texts.get(at, _render(value))}: "
                              f"not of the declared type {declared}")


def _namespaced(document: YamlDocument, at: PathKey, key: str, project_file: bool) -> str:
    """The key in full `namespace:name` form; a stack file's keys must carry their namespace."""
    if ":" not in key:
        if project_file:
            return f"{CONFIG_NAMESPACE}:{key}"
        raise ConfigFileError(f"{_where(document, at)}: {key}: not namespaced: a stack file's keys are "
                              f"`namespace:name`, e.g. `{CONFIG_NAMESPACE}:{key}` (AWS's own: `aws:region`)")
    namespace, name = key.split(":", 1)
    if not namespace or not name:
        raise ConfigFileError(f"{_where(document, at)}: {key}: a key is `namespace:name`, both non-empty")
    if namespace not in KNOWN_NAMESPACES:
        close = difflib.get_close_matches(namespace.lower(), KNOWN_NAMESPACES, n=1, cutoff=0.6)
        if close:
            raise ConfigFileError(f"{_where(document, at)}: {key}: unknown namespace {namespace!r}: did you mean "
                                  f"`{close[0]}:{name}`?")
    return key


def _did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _where(document: YamlDocument, at: PathKey) -> str:
    line = document.line_of(at)
    return _shown(document.path) + ("" if line is None else f":{line}")


def _shown(path: Path) -> str:
    return shown_path(path)


def _key_parts(key: str) -> list[str | int]:
    """`useCases[0].minInstances` → ['useCases', 0, 'minInstances']."""
    return [int(index) if index else name for name, index in _KEY_PART.findall(key)]


def _render(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _pulumi_string(value: Any) -> str:
    """A `Pulumi.yaml` scalar as the program receives it: Pulumi formats the typed value it read."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _runtime_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)
