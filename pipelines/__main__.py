import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
logging.getLogger("apache_beam").setLevel(logging.WARNING)

from pipelines.runner import main  # noqa: E402

sys.exit(main())
