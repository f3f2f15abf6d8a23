"""Lambda handlers. Each handler module imports only the standard library, boto3 and the shared `environment`
module: its archive holds exactly `mlops_platform/__init__.py`, this package's `__init__.py`, `environment.py` and
the handler's module (`components/function.py`), and its entry point is `mlops_platform.functions.<module>.handler`."""
