"""Every script under examples/ runs in a fresh process and exits cleanly, and
the results it prints are right (checked against the references the scripts
compute themselves: finite differences, NumPy, closed forms, true moments)."""
import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*.py"))
TIMEOUT = 300  # seconds; generous because other processes share the machine


def run(script: str, *args: str, cwd: pathlib.Path) -> str:
    env = dict(os.environ, MPLBACKEND="Agg")
    # One BLAS thread: on a busy 2-core machine OpenBLAS threads spin while
    # waiting, which made scipy's L-BFGS-B (many tiny BLAS calls) ten times slower.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT)
    if proc.returncode != 0:
        pytest.fail(f"{script} exited with {proc.returncode}\nstdout:\n{proc.stdout}\n"
                    f"stderr:\n{proc.stderr}", pytrace=False)
    return proc.stdout


def number(pattern: str, text: str) -> float:
    """The number following `pattern` in the printed text."""
    match = re.search(re.escape(pattern) + r"\s*(-?[\d.]+(?:e[-+]?\d+)?)", text)
    assert match, f"{pattern!r} not found in:\n{text}"
    return float(match.group(1))


def has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_quickstart(out, tmp_path):
    assert number("max |grad - finite differences| =", out) < 1e-4
    assert "same gradient: True" in out
    assert number("max |hessian - finite differences| =", out) < 1e-3
    # the Huber loss took both branches: a retrace, and both gradients right
    assert "grad(huber)([0.5, -3.0]) = [ 0.5 -1. ]" in out
    assert "grad(huber)([2.0,  0.1]) = [1.  0.1]" in out
    assert "1 retrace(s)" in out


def check_dask_logistic(out, tmp_path):
    assert number("max relative difference to the single-process gradient =", out) < 1e-12
    assert "success = True" in out
    assert number("cosine(w, w_true) =", out) > 0.99


def check_scipy_minimize(out, tmp_path):
    assert "success = True" in out
    assert number("max |x* - 1| =", out) < 1e-3


def check_logistic_regression(out, tmp_path):
    # as good as the true weights on held-out data, up to sampling noise
    assert number("test accuracy =", out) > number("(true weights:", out) - 0.03
    assert number("cosine(w, w_true) =", out) > 0.98


def check_mlp_training(out, tmp_path):
    # trained down to the noise level of the data, by both APIs
    noise = number("(the noise alone:", out)
    final = dict(re.findall(r"(\w+) API: loss [\d.]+ -> ([\d.]+)", out))
    assert float(final["functional"]) < 1.5 * noise
    if "eager" in final:
        assert float(final["eager"]) < 1.5 * noise
        assert number("max |eager gradient - functional gradient| =", out) < 1e-12
    if has("matplotlib"):
        assert (tmp_path / "loss.png").stat().st_size > 0


def check_hmc_numba(out, tmp_path):
    value = number("numba_function(x0) = (", out)
    assert abs(value - number("NumPy:", out)) < 1e-3  # both printed to 4 decimals
    assert 0.6 < number("acceptance rate =", out) <= 1.0
    assert number("max |sample mean - true mean| =", out) < 0.1
    assert number("max |sample cov - true cov| =", out) < 0.1


def check_hessian_physics(out, tmp_path):
    assert number("max |J - finite differences| =", out) < 1e-6
    assert number("max |H - finite differences| =", out) < 1e-5
    assert "symmetric: True" in out
    assert number("max |hvp - H @ v| =", out) < 1e-10
    assert number("max |eigenvalues - closed form| =", out) < 1e-10


def check_visualize_graph(out, tmp_path):
    assert (tmp_path / "graph.dot").read_text().startswith("digraph")
    forward, adjoint = number("nodes (", out), number("forward,", out)
    assert forward > 0 and adjoint > 0
    if has("matplotlib"):
        assert (tmp_path / "graph.png").stat().st_size > 0


def check_ode_sensitivity(out, tmp_path):
    assert number("max |grad - finite differences| =", out) < 1e-6
    assert "success = True" in out
    assert number("max relative error of the fit =", out) < 0.05  # 2% observation noise
    assert "1 trace(s)" in out


def check_newton_implicit(out, tmp_path):
    assert number("max |residual| =", out) < 1e-12
    assert number("max |dE/dM through the loop - implicit function theorem| =", out) < 1e-12
    assert number("max |dE/de through the loop - implicit function theorem| =", out) < 1e-12
    assert number("|jvp - sum dE/dM| =", out) < 1e-12
    assert number("max |d2E/dM2 - implicit function theorem| =", out) < 1e-10
    assert number("specialisations for e = 0.6 and e = 0.05:", out) == 1


def check_sparse_newton(out, tmp_path):
    assert number("max |J v - finite differences| / max |J v| =", out) < 1e-6
    assert number("final residual =", out) < 1e-9
    assert number("colours:", out) <= 7                     # 5-point stencil, any grid size
    iterations = [float(r) for r in re.findall(r"\|F\| = ([\d.e+-]+)", out)]
    assert len(iterations) <= 8 and iterations[-2] < 1e-3 * iterations[0]


def check_sparse_least_squares(out, tmp_path):
    assert number("max |J v - finite differences| / max |J v| =", out) < 1e-6
    assert "success = True" in out
    assert number("cost =", out) < 1.2 * number("(noise alone:", out)
    assert number("max |b - true b| =", out) < 0.05


CHECKS = {
    "quickstart.py": (check_quickstart, ()),
    # small: the script's default is 4,000,000 rows (1.6 GB)
    "dask_logistic.py": (check_dask_logistic, ("--rows", "20000", "--chunk-rows", "5000")),
    "scipy_minimize.py": (check_scipy_minimize, ()),
    "logistic_regression.py": (check_logistic_regression, ()),
    "mlp_training.py": (check_mlp_training, ("{tmp}/loss.png",)),
    "hmc_numba.py": (check_hmc_numba, ()),
    "hessian_physics.py": (check_hessian_physics, ()),
    "visualize_graph.py": (check_visualize_graph, ("{tmp}/graph.png", "{tmp}/graph.dot")),
    "ode_sensitivity.py": (check_ode_sensitivity, ()),
    "newton_implicit.py": (check_newton_implicit, ()),
    # smaller than the scripts' defaults (300 x 300 grid, 2000 curves) to keep the suite fast
    "sparse_newton.py": (check_sparse_newton, ("60",)),
    "sparse_least_squares.py": (check_sparse_least_squares, ("300",)),
}


def test_every_documented_example_exists():
    assert set(CHECKS) <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    check, args = CHECKS.get(script, (None, ()))
    out = run(script, *(a.format(tmp=tmp_path) for a in args), cwd=tmp_path)
    if check is not None:
        check(out, tmp_path)
