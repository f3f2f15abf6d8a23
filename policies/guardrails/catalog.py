"""Every rule of the pack, in the order the README documents them."""

from __future__ import annotations

from guardrails.framework import Rule
from guardrails.rules import data_safety, kms, s3

RULES: tuple[Rule, ...] = (*s3.RULES, *kms.RULES, *data_safety.RULES)
