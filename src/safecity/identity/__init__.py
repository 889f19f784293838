"""Agencies, roles, users scoped to districts and cameras, sign-in, sessions and API tokens."""
