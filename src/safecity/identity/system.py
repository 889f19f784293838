"""The principal of local administration commands (``safecity ...`` on the server itself).

Whoever can run them can already read the data folder and its keys, so they
act with every permission; they are still audited under their own name.
"""

from __future__ import annotations

import getpass

from safecity.audit.context import AuditContext
from safecity.core.clock import new_request_id
from safecity.identity.permissions import PERMISSIONS, Principal


def system_principal(command: str) -> Principal:
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    name = f"cli:{who}"
    return Principal(
        user_id=0,
        username=name,
        permissions=frozenset(PERMISSIONS),
        district_ids=None,
        camera_ids=frozenset(),
        audit=AuditContext(
            actor_id=None,
            actor_name=name,
            request_id=new_request_id(),
            purpose=f"command line: {command}",
        ),
    )
