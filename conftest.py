"""Test set-up shared by the unit suite (tongxin/) and the browser suite (tests_browser/)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import TransactionTestCase

_guard = importlib.import_module("tongxin.core.migrations.0002_audit_append_only")


@contextmanager
def audit_guard_lifted() -> Iterator[None]:
    """Drop the append-only triggers for a moment and put them back (flush must empty tables)."""
    vendor = connection.vendor
    drop = {"sqlite": _guard.SQLITE_DROP, "postgresql": _guard.POSTGRES_DROP}[vendor]
    create = {"sqlite": _guard.SQLITE, "postgresql": _guard.POSTGRES}[vendor]
    with connection.cursor() as cursor:
        for sql in drop:
            cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for sql in create:
                cursor.execute(sql)


@pytest.fixture(scope="session", autouse=True)
def _transactional_tests_can_flush_the_audit_table() -> Iterator[None]:
    """Transactional tests end with a flush, which the append-only audit triggers would refuse."""
    original = TransactionTestCase._fixture_teardown

    def teardown(self: TransactionTestCase) -> None:
        with audit_guard_lifted():
            original(self)

    TransactionTestCase._fixture_teardown = teardown
    yield
    TransactionTestCase._fixture_teardown = original
