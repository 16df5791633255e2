"""Shared fixtures. ``op_table`` (next to this file) is importable from every test."""
import os

import pytest

import staticgrad as sg

# The suite waits for each kernel on the first call, which the kernel then
# answers, so that a test calling a function once checks its kernel; fresh
# processes the tests start do the same. tests/test_tiers.py checks the
# background mode.
sg.config.compile_in_background = False
os.environ["STATICGRAD_COMPILE_IN_BACKGROUND"] = "0"


def _backend(name: str):
    saved = sg.config.backend
    sg.config.backend = name
    yield
    sg.config.backend = saved


@pytest.fixture(scope="module")
def interpreter_backend():
    """Run a module's transforms on the NumPy reference interpreter (fast, no compilation)."""
    yield from _backend("interpreter")


@pytest.fixture
def numba_backend():
    """Run a test's transforms on the Numba backend, whatever the configuration
    (per test: a module that runs on the interpreter gets it back after)."""
    yield from _backend("numba")
