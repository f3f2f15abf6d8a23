"""The platform's drift engine: `python -m mlops_monitoring baseline|check`, run in SageMaker Processing jobs."""
