"""``python -m safecity.analytics``: run a group of cameras' analytics as one worker process."""

import sys

try:
    from safecity.analytics.main import main
except KeyboardInterrupt:  # Ctrl-C reached the process while it was still importing
    sys.exit(0)

sys.exit(main())
