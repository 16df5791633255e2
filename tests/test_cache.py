"""The on-disk kernel cache, seen from fresh processes.

Compilations are counted by ``compiler.codegen.compile.stats`` (never by
wall-clock time).
"""
import json
import os
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import staticgrad as sg
from compiler.codegen import compile as compile_module
from compiler.codegen import compile_graph
from compiler.ir import Graph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    import staticgrad as sg
    from compiler.codegen.compile import stats

    weights = np.array({weights})

    def f(x):
        return np.sum(np.sin(x) * weights) + {body}

    g = sg.value_and_grad(f)
    x = np.linspace(0.1, 0.9, 3)
    g(x)
    value, grad = g(x)          # the compiled kernel
    print(json.dumps({{"stats": stats, "value": float(value), "grad": grad.tolist()}}))
""")


def run(cache, weights=(1.0, 2.0, 3.0), body="np.sum(x ** 2)"):
    env = dict(os.environ, STATICGRAD_CACHE_DIR=str(cache), STATICGRAD_BACKEND="numba",
               STATICGRAD_COMPILE_IN_BACKGROUND="0", PYTHONPATH=ROOT)
    script = SCRIPT.format(weights=list(weights), body=body)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def expected(weights, body_fn):
    x = np.linspace(0.1, 0.9, 3)
    w = np.asarray(weights)
    value = np.sum(np.sin(x) * w) + body_fn(x)[0]
    return value, np.cos(x) * w + body_fn(x)[1]


SQUARES = lambda x: (np.sum(x ** 2), 2 * x)  # noqa: E731
CUBES = lambda x: (np.sum(x ** 3), 3 * x ** 2)  # noqa: E731


def check(result, weights, body_fn):
    value, grad = expected(weights, body_fn)
    np.testing.assert_allclose(result["value"], value, rtol=1e-12)
    np.testing.assert_allclose(result["grad"], grad, rtol=1e-12)


def test_fresh_process_reuses_the_cache_and_never_meets_stale_code(tmp_path):
    cold, _ = run(tmp_path)
    assert cold["stats"]["compilations"] == 1
    check(cold, (1.0, 2.0, 3.0), SQUARES)

    warm, _ = run(tmp_path)
    assert warm["stats"]["compilations"] == 0 and warm["stats"]["disk_hits"] == 1
    check(warm, (1.0, 2.0, 3.0), SQUARES)

    # A changed function body, then a changed captured array: new kernels.
    body, _ = run(tmp_path, body="np.sum(x ** 3)")
    assert body["stats"]["compilations"] == 1
    check(body, (1.0, 2.0, 3.0), CUBES)
    captured, _ = run(tmp_path, weights=(-1.0, 0.5, 4.0))
    assert captured["stats"]["compilations"] == 1
    check(captured, (-1.0, 0.5, 4.0), SQUARES)


def test_a_damaged_cache_entry_is_rebuilt(tmp_path):
    run(tmp_path)
    kernels = tmp_path / "kernels"
    for path in kernels.glob("sg_*.py"):
        text = path.read_text()
        path.write_text(text[: len(text) // 2])      # truncated mid-function
    rebuilt, stderr = run(tmp_path)
    assert "rebuilding damaged kernel cache entry" in stderr
    check(rebuilt, (1.0, 2.0, 3.0), SQUARES)
    # Numba's own files (index and machine code) damaged as well
    damaged = list((kernels / "__pycache__").iterdir())
    assert damaged
    for path in damaged:
        path.write_bytes(path.read_bytes()[:40])
    again, _ = run(tmp_path)
    check(again, (1.0, 2.0, 3.0), SQUARES)
    assert run(tmp_path)[0]["stats"]["compilations"] == 0


def test_cache_dir_is_created_private(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAD_CACHE_DIR", str(tmp_path / "new"))
    path = compile_module.cache_dir()
    assert path.startswith(str(tmp_path / "new"))
    for p in (tmp_path / "new", tmp_path / "new" / "kernels"):
        assert stat.S_IMODE(os.stat(p).st_mode) & 0o077 == 0


def test_a_directory_others_can_write_is_refused(tmp_path, monkeypatch, caplog):
    shared = tmp_path / "shared"
    (shared / "kernels").mkdir(parents=True)
    os.chmod(shared, 0o777)
    monkeypatch.setenv("STATICGRAD_CACHE_DIR", str(shared))
    monkeypatch.setattr(compile_module, "_private_fallback", None)
    g = Graph()
    x = g.param((2,), np.float64)
    g.outputs = [(x * float(np.pi) + 0.123).node]        # a graph of its own
    with caplog.at_level("WARNING", logger="staticgrad"):
        compiled = compile_graph(g)
    assert "writable by other users" in caplog.text
    assert not list((shared / "kernels").iterdir())
    assert not compiled.module.__file__.startswith(str(shared))
    np.testing.assert_allclose(compiled(np.ones(2))[0], np.pi + 0.123)


def test_identical_graphs_compile_once_per_process():
    def build():
        g = Graph()
        x = g.param((4,), np.float64)
        g.outputs = [(x * 1.5 - 0.25).node]
        return g

    before = dict(compile_module.stats)
    first, second = compile_graph(build()), compile_graph(build())
    assert first is second
    assert compile_module.stats["memory_hits"] == before["memory_hits"] + 1


@pytest.fixture(autouse=True)
def numba_backend():
    saved = sg.config.backend
    sg.config.backend = "numba"
    yield
    sg.config.backend = saved


def test_jit_without_disk_cache_writes_nothing_there(tmp_path, monkeypatch):
    monkeypatch.setenv("STATICGRAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(sg.config, "backend", "numba")
    offset = 0.123456789  # a constant no other test uses: a kernel of its own

    @sg.jit(cache=False)
    def f(x):
        return np.tanh(x) * offset

    x = np.linspace(-1, 1, 5)
    np.testing.assert_allclose(f(x), np.tanh(x) * offset)
    kernels = tmp_path / "kernels"
    assert not kernels.exists() or not any(p.suffix == ".py" for p in kernels.iterdir())
