import sys

from mlops_monitoring.cli import main

sys.exit(main())
