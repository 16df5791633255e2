"""Compiling in the background (``sg.config.compile_in_background``).

A new specialisation answers its first call from the trace; while its kernel
compiles on the background thread, later calls run on the reference
interpreter, then on the kernel. The compiler thread is held (a job that
waits on an event) to see the interpreter tier for certain, and released to
see the kernel tier. Both tiers' answers are checked against NumPy and
against each other.
"""
import contextlib
import logging
import os
import pathlib
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import staticgrad as sg
from compiler.codegen import background
from compiler.codegen import compile as compile_module
from compiler.codegen.compile import Compiled
from compiler.errors import UnsupportedOperationError
from compiler.interpreter import Interpreter

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def in_background():
    saved = sg.config.compile_in_background, sg.config.backend
    sg.config.compile_in_background, sg.config.backend = True, "numba"
    yield
    sg.config.compile_in_background, sg.config.backend = saved
    background._submit(lambda: None).result(timeout=300)  # the compiles queued are done


@contextlib.contextmanager
def compiler_held():
    """The compiler thread busy until the block ends: kernels queue behind."""
    gate, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        gate.wait(60)
    background._submit(hold)
    assert started.wait(60)
    try:
        yield
    finally:
        gate.set()


def specs(f):
    return [s for specs in f._cache.table.values() for s in specs]


def wait_for_kernels(f):
    for spec in specs(f):
        spec.switch(wait=True)


def rosen(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_interpreter_answers_while_compiling_then_the_kernel(in_background):
    f = sg.value_and_grad(rosen)
    x = np.linspace(-1.0, 1.5, 6)
    with compiler_held():
        traced = f(x)                      # the trace's values
        (spec,) = specs(f)
        assert spec.pending is not None and not spec.pending.done()
        interpreted = f(x)                 # the interpreter: the kernel is queued
        again = f(x)                       # the hot path, still interpreted
        assert spec.pending is not None and not isinstance(spec.run, Compiled)
    wait_for_kernels(f)
    assert isinstance(spec.run, Compiled)
    compiled = f(x)
    assert f._fast[next(iter(f._fast))] is spec.call   # the hot path calls the kernel now
    for value, grad in (traced, interpreted, again, compiled):
        np.testing.assert_allclose(value, rosen(x), rtol=1e-13)
        np.testing.assert_allclose(grad, rosen_grad(x), rtol=1e-12)
        assert type(value) is type(compiled[0]) and grad.dtype == compiled[1].dtype
    np.testing.assert_allclose(interpreted[1], compiled[1], rtol=1e-13, atol=1e-15)


def test_float32_keeps_its_dtype_on_both_tiers(in_background):
    f = sg.value_and_grad(lambda x, s: np.sum(np.exp(x) * s), argnums=(0, 1))
    x, s = np.linspace(-1.0, 1.0, 5, dtype=np.float32), np.float32(0.5)
    with compiler_held():
        f(x, s)
        interpreted = f(x, s)
    wait_for_kernels(f)
    compiled = f(x, s)
    value, (gx, gs) = compiled
    assert isinstance(specs(f)[0].run, Compiled)
    assert gx.dtype == np.float32 and np.asarray(gs).dtype == np.float32
    for a, b in zip([interpreted[0], *interpreted[1]], [value, gx, gs]):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(a, b, rtol=1e-6)
    np.testing.assert_allclose(gx, np.exp(x) * s, rtol=1e-6)


def test_nan_and_inf_come_out_alike_on_both_tiers(in_background):
    f = sg.jit(lambda x: (np.log(x) / x, np.sqrt(x) * np.exp(-1.0 / x)))
    x = np.array([-1.0, 0.0, 1e-300, 0.5, np.inf, np.nan])
    with np.errstate(all="ignore"):
        want = (np.log(x) / x, np.sqrt(x) * np.exp(-1.0 / x))
        with compiler_held():
            f(x)
            interpreted = f(x)
        wait_for_kernels(f)
        compiled = f(x)
    assert isinstance(specs(f)[0].run, Compiled)
    for a, b, c in zip(interpreted, compiled, want):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(c))
        np.testing.assert_array_equal(np.isnan(b), np.isnan(c))
        np.testing.assert_allclose(a, c, rtol=1e-14)
        np.testing.assert_allclose(b, c, rtol=1e-14)


def test_a_kernel_ready_before_the_next_call_answers_it(in_background):
    f = sg.grad(lambda x: np.sum(np.sin(x) * x))
    x = np.linspace(0.0, 1.0, 5)
    f(x)
    (spec,) = specs(f)
    spec.pending.result(timeout=300)       # compiled, not yet switched to
    np.testing.assert_allclose(f(x), np.sin(x) + x * np.cos(x), rtol=1e-13)
    assert isinstance(spec.run, Compiled) and spec.pending is None


def branchy(x):
    if x.sum() > 0:
        return np.sum(x ** 2)
    return np.sum(np.sin(x))


def test_guards_and_retraces_hold_on_both_tiers(in_background):
    f = sg.grad(branchy)
    up, down = np.array([1.0, 2.0, 3.0]), np.array([-1.0, -2.0, 0.5])
    want = {"up": 2 * up, "down": np.cos(down)}
    with compiler_held():
        for _ in range(2):                 # trace, retrace, then both on the interpreter
            np.testing.assert_allclose(f(up), want["up"], rtol=1e-13)
            np.testing.assert_allclose(f(down), want["down"], rtol=1e-13)
        assert all(s.pending is not None for s in specs(f))
    wait_for_kernels(f)
    assert all(isinstance(s.run, Compiled) for s in specs(f))
    for _ in range(2):                     # the kernels check the guards
        np.testing.assert_allclose(f(up), want["up"], rtol=1e-13)
        np.testing.assert_allclose(f(down), want["down"], rtol=1e-13)
    info = f.cache_info()
    assert info.specializations == 2 and info.traces == 2
    assert len(info.retraces) == 1 and "failed (branch)" in info.retraces[0]


def test_the_retrace_limit_is_the_same_on_both_tiers(in_background):
    def scaled(x):
        return np.sum(x * float(x[0]))     # a value guard: a new path per value of x[0]

    def calls_until_the_limit(background_mode):
        sg.config.compile_in_background = background_mode
        f = sg.jit(scaled)
        for k in range(10):
            try:
                f(np.array([float(k), 1.0]))
            except sg.RetraceLimitError as e:
                return k, str(e)
        return None, ""

    saved = sg.config.max_specializations
    sg.config.max_specializations = 3
    try:
        with compiler_held():
            tiered = calls_until_the_limit(True)
        blocking = calls_until_the_limit(False)
    finally:
        sg.config.max_specializations = saved
    assert tiered[0] is not None and tiered[0] == blocking[0]
    assert tiered[1] == blocking[1]


def test_a_kernel_numba_cannot_compile_leaves_the_interpreter_with_a_warning(
        in_background, monkeypatch, caplog):
    def refuse(graph, name="kernel", fuse=True, disk=True):
        raise UnsupportedOperationError("the Numba backend has no emitter for op 'test'")
    monkeypatch.setattr(compile_module, "compile_graph", refuse)
    f = sg.grad(lambda x: np.sum(x ** 3))
    x = np.array([1.0, 2.0])
    f(x)
    (spec,) = specs(f)
    with caplog.at_level(logging.WARNING, logger="staticgrad"):
        spec.switch(wait=True)
    assert isinstance(spec.run, Interpreter)
    assert "runs on the interpreter: the Numba backend has no emitter for op 'test'" in caplog.text
    np.testing.assert_allclose(f(x), 3 * x ** 2, rtol=1e-13)


def test_compile_waits_for_the_kernel_not_for_the_compiler_thread(in_background):
    f = sg.grad(lambda x: np.sum(np.exp(x)))
    x = np.array([0.0, 1.0])
    with compiler_held():                  # the background compile is queued
        f(x)
        compiled = f.compile(x)            # compiled here, the same kernel
        (spec,) = specs(f)
        assert spec.run is compiled and spec.pending is None   # switched to it
    assert isinstance(compiled, Compiled)
    np.testing.assert_allclose(compiled.numba_function(x), np.exp(x), rtol=1e-13)
    np.testing.assert_allclose(f(x), np.exp(x), rtol=1e-13)


def test_calls_from_several_threads_while_compiling(in_background):
    f = sg.grad(lambda x: np.sum(np.tanh(x) ** 2))
    xs = [np.linspace(-1.0, 1.0, 4) * k for k in range(1, 5)]
    want = [2 * np.tanh(x) * (1 - np.tanh(x) ** 2) for x in xs]
    f(xs[0])
    errors = []

    def work(k):
        try:
            for _ in range(200):
                np.testing.assert_allclose(f(xs[k]), want[k], rtol=1e-12)
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    wait_for_kernels(f)
    for x, w in zip(xs, want):
        np.testing.assert_allclose(f(x), w, rtol=1e-12)


EXITING = textwrap.dedent("""
    import sys, time
    import numpy as np
    import staticgrad as sg
    from compiler.codegen import background, compile as compile_module
    from compiler.codegen.compile import stats
    if sys.argv[1] == "stuck":  # a compile that would outlast any wait
        compile_module.compile_graph = lambda *args, **kwargs: time.sleep(600)
        background.EXIT_WAIT = 0.5
    f = sg.grad(lambda x: np.sum(np.cos(x) * x))
    f(np.ones(3)); f(np.ones(3))
    (spec,) = [s for specs in f._cache.table.values() for s in specs]
    if sys.argv[1] in ("mid-compile", "stuck"):
        while not spec.pending.running():
            time.sleep(0.001)
    print(sg.config.compile_in_background, stats["compilations"], stats["disk_hits"])
""")


def exit_run(mode, cache, **environment):
    env = dict(os.environ, PYTHONPATH=str(ROOT), STATICGRAD_CACHE_DIR=str(cache),
               STATICGRAD_BACKEND="numba")
    env.pop("STATICGRAD_COMPILE_IN_BACKGROUND", None)
    env.update(environment)
    proc = subprocess.run([sys.executable, "-c", EXITING, mode], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_a_process_exits_cleanly_with_a_compile_queued_or_running(tmp_path):
    # background is the default; a kernel still queued at exit is dropped ...
    assert exit_run("queued", tmp_path / "queued") == ["True", "0", "0"]
    # ... a running one finishes, into the disk cache, which the next process loads
    assert exit_run("mid-compile", tmp_path / "running") == ["True", "0", "0"]
    assert list((tmp_path / "running" / "kernels").glob("__pycache__/*.nbi"))
    blocking = exit_run("queued", tmp_path / "running", STATICGRAD_COMPILE_IN_BACKGROUND="0")
    assert blocking == ["False", "0", "1"]
    # a compile that does not end in background.EXIT_WAIT seconds is left behind
    assert exit_run("stuck", tmp_path / "stuck") == ["True", "0", "0"]


def test_blocking_mode_answers_the_first_call_from_the_kernel(monkeypatch):
    monkeypatch.setattr(sg.config, "compile_in_background", False)
    monkeypatch.setattr(sg.config, "backend", "numba")
    runs = []
    kernel_call = Compiled.__call__

    def counted(self, *arrays):
        runs.append(self)
        return kernel_call(self, *arrays)
    monkeypatch.setattr(Compiled, "__call__", counted)
    f = sg.grad(lambda x: np.sum(np.log1p(x ** 2)))
    x = np.linspace(0.5, 2.0, 9)
    first = f(x)
    assert len(runs) == 1 and isinstance(specs(f)[0].run, Compiled)
    assert np.array_equal(first, f.compile(x).numba_function(x))
    np.testing.assert_allclose(first, 2 * x / (1 + x ** 2), rtol=1e-13)


def _in_forked_child(f, x, results):
    results.put((f(x), f(x), f.compile(x).numba_function(x)))


def test_a_forked_child_answers_and_compiles_on_its_own(in_background):
    import multiprocessing

    f = sg.grad(lambda x: np.sum(np.cosh(x)))
    x = np.linspace(-1.0, 1.0, 4)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    with compiler_held():          # the parent's kernel is queued at the fork
        f(x)
        child = context.Process(target=_in_forked_child, args=(f, x, results))
        child.start()
        answers = results.get(timeout=120)
        child.join(120)
    assert child.exitcode == 0
    for answer in answers:
        np.testing.assert_allclose(answer, np.sinh(x), rtol=1e-13)
    wait_for_kernels(f)            # the parent's own kernel is unaffected
    assert isinstance(specs(f)[0].run, Compiled)


def test_a_function_received_by_pickling_does_not_wait_either(in_background):
    import pickle

    from staticgrad.specialize import TieredRun

    f = sg.grad(rosen)
    x = np.linspace(-1.0, 1.5, 5)
    f(x)
    with compiler_held():
        received = pickle.loads(pickle.dumps(f))   # its graph, compiled when first used
        interpreted = received(x)
        (spec,) = specs(received)
        tiered = spec.run.run
        assert isinstance(tiered, TieredRun) and tiered.run is None
    tiered.pending.result(timeout=300)
    compiled = received(x)
    assert isinstance(tiered.run, Compiled)
    for g in (interpreted, compiled):
        np.testing.assert_allclose(g, rosen_grad(x), rtol=1e-12)


def test_the_eager_backward_compiles_in_the_background(in_background, monkeypatch):
    from staticgrad import specialize

    made = []
    tiered_init = specialize.TieredRun.__init__

    def recorded(self, *args, **kwargs):
        tiered_init(self, *args, **kwargs)
        made.append(self)
    monkeypatch.setattr(specialize.TieredRun, "__init__", recorded)
    sg.autograd.clear_cache()

    def backward_step(scale):
        w = sg.tensor(np.linspace(0.1, 0.9, 4) * scale, requires_grad=True)
        (np.sum(np.tanh(w) * w) * 2.0).backward()
        t = np.tanh(w.data)
        np.testing.assert_allclose(w.grad.data, 2 * (t + w.data * (1 - t ** 2)), rtol=1e-12)

    with compiler_held():
        for scale in (1.0, 2.0, 3.0):      # the second sighting hands it to the thread
            backward_step(scale)
        assert len(made) == 1 and made[0].run is None
    made[0].pending.result(timeout=300)
    backward_step(4.0)                     # the kernel now
    assert isinstance(made[0].run, Compiled)
    assert sg.autograd.cache_info().compiles == 1
