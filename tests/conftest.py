"""Shared fixtures. ``op_table`` (next to this file) is importable from every test."""
import pytest

import staticgrad as sg


@pytest.fixture(scope="module")
def interpreter_backend():
    """Run a module's transforms on the NumPy reference interpreter (fast, no compilation)."""
    saved = sg.config.backend
    sg.config.backend = "interpreter"
    yield
    sg.config.backend = saved
