"""Errors raised by services, independent of HTTP; api.py and views map them to responses."""

from __future__ import annotations


class ConflictError(Exception):
    """The request is valid but conflicts with the current state (illegal move, stale version)."""
