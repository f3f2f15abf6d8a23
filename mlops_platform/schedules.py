"""EventBridge Scheduler schedule expressions, checked as AWS checks them: `rate(...)`, `cron(...)`, `at(...)`.

`rate(value unit)`: a whole number from 1 and a unit of minutes, hours or days, singular exactly when the value
is 1 (`rate(1 day)`, `rate(5 days)`; AWS refuses `rate(1 days)` and `rate(5 day)`). `cron(...)`: six fields,
minutes hours day-of-month month day-of-week year, one of day-of-month and day-of-week `?`. `at(...)`: one
time, `yyyy-mm-ddThh:mm:ss`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

EXAMPLES = "'rate(7 days)', 'cron(0 3 ? * MON *)' or 'at(2030-01-31T03:00:00)'"

_RATE = re.compile(r"rate\((?P<value>[0-9]+) (?P<unit>[a-z]+)\)")
_RATE_UNITS = ("minute", "hour", "day")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_AT = re.compile(r"at\((?P<time>[^()]*)\)")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    question_mark: bool = False


_CRON_FIELDS = (
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, question_mark=True),
    _Field("month", 1, 12, _MONTHS),
    _Field("day-of-week", 1, 7, _DAYS, question_mark=True),
    _Field("year", 1970, 2199),
)


class ScheduleError(ValueError):
    """Why AWS would refuse a schedule expression."""


def check(expression: str) -> None:
    """Raise ScheduleError saying why AWS would refuse `expression`."""
    if expression.startswith("rate("):
        _check_rate(expression)
    elif expression.startswith("cron("):
        _check_cron(expression)
    elif expression.startswith("at("):
        _check_at(expression)
    else:
        raise ScheduleError(f"not a schedule expression: one of {EXAMPLES}")


def _check_rate(expression: str) -> None:
    match = _RATE.fullmatch(expression)
    if match is None:
        raise ScheduleError("a rate is 'rate(<value> <unit>)', e.g. 'rate(1 day)' or 'rate(5 days)'")
    value, unit = int(match["value"]), match["unit"]
    base = unit.removesuffix("s")
    if base not in _RATE_UNITS or unit not in (base, base + "s"):
        raise ScheduleError(f"unknown rate unit {unit!r}: minute(s), hour(s) or day(s)")
    if value < 1:
        raise ScheduleError("a rate's value is a whole number of at least 1")
    wanted = base if value == 1 else base + "s"
    if unit != wanted:
        raise ScheduleError(f"AWS wants the unit {'singular' if value == 1 else 'plural'} for {value}: "
                            f"'rate({value} {wanted})'")


def _check_cron(expression: str) -> None:
    match = _CRON.fullmatch(expression)
    fields = match["fields"].split() if match is not None else []
    if len(fields) != len(_CRON_FIELDS):
        raise ScheduleError("a cron expression has six fields: minutes hours day-of-month month day-of-week year, "
                            "e.g. 'cron(0 3 ? * MON *)'")
    for spec, text in zip(_CRON_FIELDS, fields, strict=True):
        _check_cron_field(spec, text)
    day_of_month, day_of_week = fields[2], fields[4]
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError("exactly one of day-of-month and day-of-week must be '?' (AWS cannot take both)")


def _check_cron_field(spec: _Field, text: str) -> None:
    if text == "?":
        if not spec.question_mark:
            raise ScheduleError(f"cron {spec.name}: '?' is allowed only in day-of-month and day-of-week")
        return
    for item in text.split(","):
        if not _cron_item_valid(spec, item.upper()):
            raise ScheduleError(f"cron {spec.name}: {item!r} is not a value from {spec.low} to {spec.high}"
                                f"{_names_hint(spec)}, a range a-b, a step x/n or '*'")


def _cron_item_valid(spec: _Field, item: str) -> bool:
    if spec.name == "day-of-month" and re.fullmatch(r"L|LW|[0-9]{1,2}W", item):
        return item in ("L", "LW") or spec.low <= int(item[:-1]) <= spec.high
    if spec.name == "day-of-week" and re.fullmatch(r"L|[A-Z0-9]{1,3}L|[A-Z0-9]{1,3}#[1-5]", item):
        return item == "L" or _value(spec, item.rstrip("L").split("#")[0]) is not None
    base, _, step = item.partition("/")
    if step and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    low, _, high = base.partition("-")
    first, last = _value(spec, low), _value(spec, high) if high else None
    return first is not None and (not high or (last is not None and first <= last))


def _value(spec: _Field, text: str) -> int | None:
    if text in spec.names:
        return spec.names.index(text) + spec.low
    if text.isdigit() and spec.low <= int(text) <= spec.high:
        return int(text)
    return None


def _names_hint(spec: _Field) -> str:
    return f" (or {spec.names[0]}-{spec.names[-1]})" if spec.names else ""


def _check_at(expression: str) -> None:
    match = _AT.fullmatch(expression)
    try:
        if match is None or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}", match["time"]):
            raise ValueError(expression)
        datetime.datetime.fromisoformat(match["time"])
    except ValueError:
        raise ScheduleError("a one-time schedule is 'at(yyyy-mm-ddThh:mm:ss)', a real date and time, "
                            "e.g. 'at(2030-01-31T03:00:00)'") from None
