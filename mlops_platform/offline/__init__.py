"""Credential-free preview: capture stacks under the mock engine, judge them with the policy pack."""
