"""``python -m safecity.analytics``: run one camera's analytics worker as a process."""

import sys

from safecity.analytics.main import main

sys.exit(main())
