"""``python -m safecity.ingest``: run one camera's ingest worker as a process."""

import sys

from safecity.ingest.worker import main

sys.exit(main())
