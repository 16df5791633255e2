"""Shared fixtures. ``op_table`` (next to this file) is importable from every test."""
import pytest

import staticgrad as sg

# The suite waits for each kernel on the first call, so that a second call is
# always the kernel's answer; tests/test_tiers.py checks the background mode.
sg.config.compile_in_background = False


@pytest.fixture(scope="module")
def interpreter_backend():
    """Run a module's transforms on the NumPy reference interpreter (fast, no compilation)."""
    saved = sg.config.backend
    sg.config.backend = "interpreter"
    yield
    sg.config.backend = saved
