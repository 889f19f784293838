"""Identity errors."""

from __future__ import annotations

from safecity.core.errors import NotAuthenticated, PermissionDenied


class SignInFailed(NotAuthenticated):
    """Wrong username, password or code: one message for all, so nothing is revealed."""

    code = "sign_in_failed"


class SecondFactorRequired(NotAuthenticated):
    code = "second_factor_required"


class SelfGrantForbidden(PermissionDenied):
    """Separation of duties: nobody changes their own roles or scope."""

    code = "separation_of_duties"
