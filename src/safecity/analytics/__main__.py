"""``python -m safecity.analytics``: run a group of cameras' analytics as one worker process."""

import sys

from safecity.analytics.main import main

sys.exit(main())
