"""Permission-matrix expectations for alerts and the operator console (issue 5).

Same vocabulary as ``test_permission_matrix.py`` (see ``tests/api/matrix.py``):
one ``Expect`` per ``METHOD /path``, written by hand, never derived from the roles.
"""

from __future__ import annotations

from tests.api.matrix import Expect

ROUTES: dict[str, Expect] = {}
