"""The project's YAML files read as Pulumi (go-yaml v3) reads them, not as PyYAML (YAML 1.1) does."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_platform.offline.pulumi_yaml import ConfigFileError, load, resolve_plain
from mlops_platform.offline.stack_init import dump

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted([ROOT / "Pulumi.yaml", *ROOT.glob("Pulumi.*.yaml"), *ROOT.glob("examples/*/Pulumi.*.yaml")])


@pytest.mark.parametrize(("text", "expected"), [
    ("012345678901", 12345678901.0),  # not octal (8, 9), so Go's ParseInt fails and the float pattern matches
    ("012345670123", 0o12345670123),  # only octal digits: YAML 1.1's octal, which go-yaml v3 still reads
    ("0123", 83),
    ("0o17", 15),
    ("0x1F", 31),
    ("0b101", 5),
    ("-0123", -83),
    ("+12", 12),
    ("1_000", 1000),
    ("111111111111", 111111111111),
    ("08", 8.0),
    ("1.5", 1.5),
    (".5", 0.5),
    ("1e3", 1000.0),
    ("99999999999999999999", 1e20),
    ("true", True), ("True", True), ("FALSE", False),
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("y", "y"),  # YAML 1.1 booleans are strings
    ("1:30", "1:30"),  # YAML 1.1 sexagesimal is a string
    ("2024-01-31", "2024-01-31"),  # timestamps stay strings
    ("null", None), ("~", None), ("", None),
    ("-", "-"), ("0x", "0x"), ("1.2.3", "1.2.3"), ("eu-west-1", "eu-west-1"),
])
def test_plain_scalars_resolve_as_go_yaml_v3(text: str, expected: Any) -> None:
    value = resolve_plain(text)
    assert value == expected and type(value) is type(expected)


def test_special_floats() -> None:
    assert resolve_plain(".inf") == math.inf and resolve_plain("-.Inf") == -math.inf
    assert math.isnan(resolve_plain(".NaN"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(text)
    return path


def test_quoted_and_tagged_scalars(tmp_path: Path) -> None:
    document = load(write(tmp_path, "a: '0123'\nb: \"true\"\nc: !!str 12\nd: !!int 12\ne: !!float 3\n"))
    assert document.value == {"a": "0123", "b": "true", "c": "12", "d": 12, "e": 3.0}


def test_a_tag_that_does_not_fit_its_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"Pulumi.dev.yaml:1: 'abc' is not a valid int"):
        load(write(tmp_path, "a: !!int abc\n"))


def test_lines_and_source_text_of_every_node(tmp_path: Path) -> None:
    document = load(write(tmp_path, "config:\n  k:\n    - x: 0123\n      y: [1, 2]\n"))
    assert document.value == {"config": {"k": [{"x": 83, "y": [1, 2]}]}}
    assert document.lines[("config", "k")] == 2
    assert document.lines[("config", "k", 0, "y", 1)] == 4
    assert document.texts[("config", "k", 0, "x")] == "0123"
    assert document.line_of(("config", "k", 0, "missing")) == 3


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "m:\n  b: 1\n  b: 1\n", "l:\n  - {c: 1, c: 2}\n"])
def test_a_key_defined_twice_is_an_error_at_every_level(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigFileError, match="already defined at line"):
        load(write(tmp_path, text))


def test_pyyaml_alone_would_keep_the_last_duplicate(tmp_path: Path) -> None:
    assert yaml.safe_load("a: 1\na: 2\n") == {"a": 2}, "the reason this module exists"
    assert yaml.safe_load("a: 012345678901\n") == {"a": "012345678901"}


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    document = load(write(tmp_path, "base: &b {x: 1, y: 2}\nuse: *b\nmerged:\n  <<: *b\n  y: 3\n"))
    assert document.value == {"base": {"x": 1, "y": 2}, "use": {"x": 1, "y": 2}, "merged": {"x": 1, "y": 3}}


def test_an_empty_file_is_none(tmp_path: Path) -> None:
    assert load(write(tmp_path, "# nothing\n")).value is None


@pytest.mark.parametrize("path", SHIPPED, ids=[str(p.relative_to(ROOT)) for p in SHIPPED])
def test_shipped_files_load_as_pyyaml_read_them(path: Path) -> None:
    """The samples quote every id: under both readings they hold the same values."""
    assert load(path).value == yaml.safe_load(path.read_text())


@pytest.mark.parametrize("value", [
    {"ids": ["012345678901", "0123", "111111111111", "1e3", "true", "yes", "null", "", "1_000", "0x1F"]},
    {"nested": [{"name": "churn", "minInstances": 2, "metricThreshold": 0.75, "flag": True}]},
])
def test_dump_writes_what_go_yaml_reads_back(tmp_path: Path, value: Any) -> None:
    assert load(write(tmp_path, dump(value))).value == value
