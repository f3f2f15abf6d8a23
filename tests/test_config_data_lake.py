"""`dataLake` and `useCases[].trainingTables`: the data lake's tables, columns and filters, each mistake one
ConfigError naming its key; the data lake is built in the large size only."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_platform.config import ConfigError, LakeColumn, LakeTable, PlatformConfig, parse_config
from tests.test_config import account_ids

COLUMNS = [{"name": "customer_id", "type": "string"}, {"name": "tenure", "type": "int"},
           {"name": "label", "type": "int"}]


def lake(**table: Any) -> dict[str, Any]:
    return {"domains": [{"name": "customers", "tables": [{"name": "churn", "columns": COLUMNS, **table}]}]}


def parse(size: str = "large", data_lake: Any = None, training: Any = None, stack: str = "data") -> PlatformConfig:
    use_case: dict[str, Any] = {"name": "churn"}
    if training is not None:
        use_case["trainingTables"] = training
    raw: dict[str, Any] = {"size": size, "region": "eu-west-1", "accounts": account_ids(size),
                           "useCases": [use_case]}
    if data_lake is not None:
        raw["dataLake"] = data_lake
    return parse_config(raw, stack, "acme")


def error(**kwargs: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(**kwargs)
    return info.value


def test_a_data_lake_with_training_tables_and_a_column_filter_is_parsed() -> None:
    cfg = parse(data_lake={**lake(partitionKeys=[{"name": "month", "type": "string"}]),
                           "dataScientistColumns": {"customers.churn": ["tenure", "label", "month"]}},
                training=["customers.churn"])
    assert cfg.governed_data_lake is not None and cfg.data_lake == cfg.governed_data_lake
    assert cfg.data_lake.tables == (LakeTable("customers", "churn", tuple(LakeColumn(**c) for c in COLUMNS),
                                              (LakeColumn("month", "string"),)),)
    assert cfg.data_lake.scientist_columns == {"customers.churn": ("tenure", "label", "month")}
    assert cfg.use_cases[0].training_tables == ("customers.churn",)


@pytest.mark.parametrize("size", ["medium", "small"])
def test_only_the_large_size_builds_the_configured_data_lake(size: str) -> None:
    cfg = parse(size=size, data_lake=lake(), training=["customers.churn"], stack="dev")
    assert cfg.data_lake is not None and cfg.governed_data_lake is None


def test_no_data_lake_by_default() -> None:
    cfg = parse()
    assert cfg.data_lake is None and cfg.use_cases[0].training_tables == ()


@pytest.mark.parametrize(("kwargs", "key", "fragment"), [
    ({"data_lake": []}, "dataLake", "a map with"),
    ({"data_lake": {"domains": []}}, "dataLake.domains", "non-empty list"),
    ({"data_lake": {"domains": [], "tables": []}}, "dataLake.tables", "unknown field"),
    ({"data_lake": {"domains": [{"name": "Customers", "tables": []}]}}, "dataLake.domains[0].name", "Glue name"),
    ({"data_lake": {"domains": [{"name": "c", "tables": [{"name": "t", "columns": COLUMNS}]},
                                {"name": "c", "tables": [{"name": "u", "columns": COLUMNS}]}]}},
     "dataLake.domains[1].name", "duplicated"),
    ({"data_lake": {"domains": [{"name": "customers", "tables": []}]}}, "dataLake.domains[0].tables",
     "non-empty list"),
    ({"data_lake": lake(columns=[])}, "dataLake.domains[0].tables[0].columns", "non-empty list"),
    ({"data_lake": lake(columns=[{"name": "x", "type": "text"}])}, "dataLake.domains[0].tables[0].columns[0].type",
     "Glue/Hive column type"),
    ({"data_lake": lake(columns=[{"name": "x", "type": "int"}, {"name": "x", "type": "int"}])},
     "dataLake.domains[0].tables[0].columns[1].name", "duplicated"),
    ({"data_lake": lake(partitionKeys=[{"name": "tenure", "type": "int"}])},
     "dataLake.domains[0].tables[0].partitionKeys[0].name", "already a column"),
    ({"data_lake": {**lake(), "dataScientistColumns": {"customers.orders": ["x"]}}},
     "dataLake.dataScientistColumns.customers.orders", "not a table of the data lake"),
    ({"data_lake": {**lake(), "dataScientistColumns": {"customers.churn": ["email"]}}},
     "dataLake.dataScientistColumns.customers.churn[0]", "not a column of customers.churn"),
    ({"data_lake": {**lake(), "dataScientistColumns": {"customers.churn": []}}},
     "dataLake.dataScientistColumns.customers.churn", "non-empty list"),
    ({"data_lake": lake(), "training": ["customers.orders"]}, "useCases[0].trainingTables[0]",
     "not a table of the data lake; its tables are: customers.churn"),
    ({"training": ["customers.churn"]}, "useCases[0].trainingTables[0]", "no dataLake is configured"),
    ({"data_lake": lake(), "training": ["churn"]}, "useCases[0].trainingTables[0]", "`domain.table`"),
    ({"data_lake": lake(), "training": "customers.churn"}, "useCases[0].trainingTables", "a list"),
])
def test_each_mistake_is_one_error_naming_its_key(kwargs: dict[str, Any], key: str, fragment: str) -> None:
    problem = error(**kwargs)
    assert problem.key == key
    assert fragment in problem.allowed
    assert str(problem).startswith(f"invalid config mlops-platform:{key} = ")


def test_glue_types_with_parameters_are_accepted_without_spaces() -> None:
    cfg = parse(data_lake=lake(columns=[{"name": "amount", "type": "decimal(10, 2)"},
                                        {"name": "code", "type": "varchar(8)"}]))
    assert cfg.data_lake is not None
    assert [c.type for c in cfg.data_lake.tables[0].columns] == ["decimal(10,2)", "varchar(8)"]
