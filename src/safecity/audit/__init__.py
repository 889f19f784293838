"""Append-only, hash-chained audit log with signed checkpoints."""
