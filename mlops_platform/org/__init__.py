"""The org tier's pure parts: AWS Organizations guardrails (service control policies) as plain data.

Nothing here calls Pulumi; the org tier turns these documents into `aws.organizations.Policy` resources and
attaches them to OUs or accounts.
"""
