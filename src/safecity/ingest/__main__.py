"""``python -m safecity.ingest``: one camera (``--camera-id``, its stream URL in the
environment) or a group of cameras (``--group NAME``, told its cameras on stdin)."""

import sys

from safecity.ingest import group_main, worker

grouped = any(arg == "--group" or arg.startswith("--group=") for arg in sys.argv[1:])
sys.exit(group_main.main() if grouped else worker.main())
