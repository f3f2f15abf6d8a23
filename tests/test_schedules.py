"""Schedule expressions checked as EventBridge Scheduler checks them."""

from __future__ import annotations

import pytest

from mlops_platform import schedules


@pytest.mark.parametrize("expression", [
    "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)", "rate(7 days)",
    "cron(0 3 ? * MON *)", "cron(0/15 * * * ? *)", "cron(0 8 1 * ? *)", "cron(0 18 ? * MON-FRI *)",
    "cron(30 2 L * ? 2030)", "cron(0 9 15W * ? *)", "cron(0 10 ? * 6L *)", "cron(0 10 ? * 3#2 *)",
    "cron(0 0 1 JAN,JUL ? 2026-2030)", "cron(5,35 14 ? * sun *)", "cron(*/5 * * * ? *)",
    "at(2030-01-31T03:00:00)",
])
def test_expressions_aws_accepts(expression: str) -> None:
    schedules.check(expression)


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate(1 days)", "'rate(1 day)'"),
    ("rate(5 day)", "'rate(5 days)'"),
    ("rate(1 hours)", "'rate(1 hour)'"),
    ("rate(0 minutes)", "at least 1"),
    ("rate(2 weeks)", "unknown rate unit"),
    ("rate(2  days)", "rate(<value> <unit>)"),
    ("rate(-1 days)", "rate(<value> <unit>)"),
    ("cron(0 3 * * MON)", "six fields"),
    ("cron(0 3 ? * MON * *)", "six fields"),
    ("cron(0 3 * * * *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 3 ? * ? *)", "exactly one of day-of-month and day-of-week"),
    ("cron(0 24 ? * MON *)", "cron hours: '24'"),
    ("cron(0 3 32 * ? *)", "cron day-of-month: '32'"),
    ("cron(0 3 ? * 8 *)", "cron day-of-week: '8'"),
    ("cron(0 3 ? * MON 1969)", "cron year: '1969'"),
    ("cron(0 5-3 ? * MON *)", "cron hours: '5-3'"),
    ("cron(0/0 3 ? * MON *)", "cron minutes: '0/0'"),
    ("at(2030-01-31 03:00:00)", "at(yyyy-mm-ddThh:mm:ss)"),
    ("at(2030-13-01T00:00:00)", "a real date and time"),
    ("every day", "not a schedule expression"),
    ("RATE(1 day)", "not a schedule expression"),
])
def test_expressions_aws_refuses(expression: str, reason: str) -> None:
    with pytest.raises(schedules.ScheduleError, match=None) as raised:
        schedules.check(expression)
    assert reason in str(raised.value)
