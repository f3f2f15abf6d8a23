"""YAML read as the Pulumi CLI reads `Pulumi.yaml` and `Pulumi.<stack>.yaml`: with go-yaml v3's rules.

PyYAML alone follows YAML 1.1 and keeps the last of two equal keys. go-yaml v3 resolves plain scalars by the
YAML 1.2 core schema plus Go's integer syntax (so an unquoted `012345678901` is a number, and `0123` with only
octal digits an octal number), reads timestamps as strings, and rejects a mapping key defined twice. PyYAML
still parses the text here (its syntax is the same); every scalar is resolved by go-yaml's rules below, and
every node keeps its line so that errors can say where.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]
"""Where a value sits in a document: map keys and list indexes from the root."""

_PLAIN = "!plain"
_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_MERGE = "<<"

_GO_CONSTANTS: dict[str, Any] = {
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
}
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)")
_INT64 = range(-(2**63), 2**64)
"""go-yaml tries int64, then uint64: together this range."""


class ConfigFileError(Exception):
    """A configuration file that cannot be read, or says something Pulumi would refuse. One line: the file (and
    line where known), the key and the rule."""


@dataclass(frozen=True)
class YamlDocument:
    path: Path
    value: Any
    lines: dict[PathKey, int] = field(default_factory=dict)
    """1-based line of every node."""
    texts: dict[PathKey, str] = field(default_factory=dict)
    """The source text of every scalar, as written (Pulumi hands a program top-level scalars as this text)."""

    def line_of(self, path: PathKey) -> int | None:
        """The line of `path`, or of its nearest ancestor in the document."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def shown_path(path: Path) -> str:
    """A path as the user would type it: relative to the working folder where it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def read_text(path: Path, what: str) -> str:
    """The file's text, or one ConfigFileError saying why it cannot be read."""
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigFileError(f"{shown_path(path)}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigFileError(f"{shown_path(path)}: {what} is a directory, not a file") from None
    except PermissionError:
        raise ConfigFileError(f"{shown_path(path)}: {what} cannot be read: permission denied") from None
    except UnicodeDecodeError as err:
        raise ConfigFileError(f"{shown_path(path)}: {what} is not UTF-8 text "
                              f"(byte 0x{err.object[err.start]:02x} at offset {err.start})") from None
    except OSError as err:
        raise ConfigFileError(f"{shown_path(path)}: {what} cannot be read: {err.strerror}") from None


def load(path: Path, what: str = "config file") -> YamlDocument:
    """Read and resolve one YAML file as go-yaml v3 does; an empty file is the value None."""
    text = read_text(path, what)
    try:
        node = yaml.compose(text, Loader=_PlainKeepingLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{shown_path(path)}:{mark.line + 1}" if mark is not None else shown_path(path)
        raise ConfigFileError(f"{where}: not valid YAML: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise ConfigFileError(f"{shown_path(path)}: not valid YAML: {err}") from None
    builder = _Builder(path)
    value = builder.build(node, ()) if node is not None else None
    return YamlDocument(path=path, value=value, lines=builder.lines, texts=builder.texts)


class _PlainKeepingLoader(yaml.SafeLoader):
    """Composes nodes and marks plain scalars, so that go-yaml's resolution (not YAML 1.1's) applies to them."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


class _Builder:
    def __init__(self, path: Path) -> None:
        self._path = path
        self.lines: dict[PathKey, int] = {}
        self.texts: dict[PathKey, str] = {}

    def build(self, node: yaml.Node, at: PathKey) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            self.texts[at] = str(node.value)
            return self._scalar(node, at)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, index)) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, at)
        raise self._error(node, "unsupported YAML node")

    def _scalar(self, node: yaml.ScalarNode, at: PathKey) -> Any:
        text = str(node.value)
        if node.tag == _PLAIN:
            return resolve_plain(text)
        if node.tag == _STR:
            return text
        if node.tag in (_INT, _FLOAT, _BOOL, _NULL):
            value = resolve_plain(text)
            if _tag_of(value) != node.tag and not (node.tag == _FLOAT and isinstance(value, int)):
                raise self._error(node, f"{text!r} is not a valid {node.tag.rsplit(':', 1)[-1]}")
            return float(value) if node.tag == _FLOAT else value
        raise self._error(node, f"unsupported tag {node.tag} (Pulumi config holds strings, numbers, booleans, "
                                "lists and maps)")

    def _mapping(self, node: yaml.MappingNode, at: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._error(key_node, "a mapping key must be a plain string, not a list or a map")
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise self._error(key_node, f"mapping key {key!r} already defined at line {seen[key]}")
            seen[key] = line
            if key == _MERGE and key_node.tag == _PLAIN:
                for merged_key, merged_value in self._merged(value_node, at):
                    result.setdefault(merged_key, merged_value)
                continue
            result[key] = self.build(value_node, (*at, key))
            self.lines[(*at, key)] = line
        return result

    def _merged(self, node: yaml.Node, at: PathKey) -> Iterator[tuple[str, Any]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise self._error(source, "a merge key (<<) takes a map or a list of maps")
            yield from self._mapping(source, at).items()

    def _error(self, node: yaml.Node, problem: str) -> ConfigFileError:
        return ConfigFileError(f"{shown_path(self._path)}:{node.start_mark.line + 1}: {problem}")


def resolve_plain(text: str) -> Any:
    """An unquoted scalar's value by go-yaml v3's `resolve`: its constants, then Go integers (`strconv.ParseInt`
    with base 0: `0x`, `0o`, `0b` and a bare leading `0` meaning octal), then YAML-style floats; else a string.
    Timestamps stay strings, as go-yaml hands them to a map of `interface{}`."""
    if text in _GO_CONSTANTS:
        return _GO_CONSTANTS[text]
    if not text or text[0] not in "+-.0123456789":
        return text
    if text[0] == "." or text[1:2] == ".":
        return _float_or_text(text)
    plain = text.replace("_", "")
    if _GO_INT.fullmatch(plain):
        number = _go_int(plain)
        if number in _INT64:
            return number
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        return float(plain)
    return text


def _go_int(plain: str) -> int:
    sign = -1 if plain.startswith("-") else 1
    digits = plain.lstrip("+-")
    prefix = digits[:2].lower()
    base = {"0x": 16, "0o": 8, "0b": 2}.get(prefix)
    if base is not None:
        return sign * int(digits[2:], base)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits[1:], 8)
    return sign * int(digits)


def _float_or_text(text: str) -> Any:
    if _YAML_STYLE_FLOAT.fullmatch(text):
        return float(text)
    return text


def _tag_of(value: Any) -> str:
    if value is None:
        return _NULL
    if isinstance(value, bool):
        return _BOOL
    if isinstance(value, int):
        return _INT
    if isinstance(value, float):
        return _FLOAT
    return _STR
