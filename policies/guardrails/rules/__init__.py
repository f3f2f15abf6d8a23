"""The guardrail rules, one module per area."""
