"""Lambda handlers. Each module is self-contained (standard library + boto3 only, no imports from the rest of
`mlops_platform`): the module file alone is the function's deployment package, and its `handler` the entry point."""
