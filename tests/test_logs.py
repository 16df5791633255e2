"""STATICGRAD_LOG and sg.logs.log_to_stderr: traces and retraces, with their
reason, on stderr when asked for, and nothing otherwise."""
import logging
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import staticgrad as sg

ROOT = pathlib.Path(__file__).resolve().parent.parent

PROGRAM = textwrap.dedent("""
    import numpy as np
    import staticgrad as sg

    @sg.jit
    def f(x):
        if x.sum() > 0:  # the guard
            return x * 2
        return -x

    f(np.ones(3)); f(-np.ones(3)); f(np.ones(4))
""")
GUARD_LINE = PROGRAM.splitlines().index("    if x.sum() > 0:  # the guard") + 1


def run(log_setting, **environment):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **environment)
    env.pop("STATICGRAD_LOG", None)
    if log_setting is not None:
        env["STATICGRAD_LOG"] = log_setting
    proc = subprocess.run([sys.executable, "-c", PROGRAM], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_recompiles_prints_traces_and_retraces_with_the_guard_site():
    lines = run("recompiles").splitlines()
    traces = [line for line in lines if " tracing jit(f)" in line]
    retraces = [line for line in lines if "retracing jit(f)" in line]
    assert len(traces) == 2  # the first call and the new shape
    assert len(retraces) == 1 and f"<string>:{GUARD_LINE}" in retraces[0]


def test_recompiles_reports_each_compile_with_its_seconds(tmp_path):
    lines = run("recompiles", STATICGRAD_BACKEND="numba", STATICGRAD_COMPILE_IN_BACKGROUND="0",
                STATICGRAD_CACHE_DIR=str(tmp_path)).splitlines()
    compiles = [line for line in lines if re.search(r"compiled jit\(f\) in [\d.]+ s", line)]
    assert len(compiles) == 3  # one kernel per specialisation


def test_silent_by_default_and_a_bad_setting_warns():
    assert run(None) == ""
    assert "STATICGRAD_LOG='loud' is not one of" in run("loud")


def test_log_to_stderr_attaches_one_handler_and_removes_it():
    logger = logging.getLogger("staticgrad")
    before = list(logger.handlers)
    try:
        first = sg.logs.log_to_stderr("debug")
        assert sg.logs.log_to_stderr("debug") is not first
        assert logger.handlers.count(first) == 0 and len(logger.handlers) == len(before) + 1
        assert logger.isEnabledFor(logging.DEBUG)
    finally:
        assert sg.logs.log_to_stderr(None) is None
    assert logger.handlers == before
    with pytest.raises(ValueError, match="recompiles"):
        sg.logs.log_to_stderr("verbose")


def test_records_reach_a_configured_logger(caplog):
    f = sg.jit(lambda x: np.sin(x))
    with caplog.at_level(logging.INFO, logger="staticgrad"):
        f(np.ones(2))
        f(np.ones(2))
    assert len([r for r in caplog.records if " tracing " in r.getMessage()]) == 1
