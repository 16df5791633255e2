"""How much of NumPy's differentiable API staticgrad (and HIPS autograd) handle.

    python benchmarks/numpy_coverage.py              # the table for staticgrad and autograd
    python benchmarks/numpy_coverage.py --details    # every entry's verdict
    python benchmarks/numpy_coverage.py --compiled 20  # also 20 correct entries through Numba
    python benchmarks/numpy_coverage.py --write-readme # README.md's "Supported NumPy" table

Every entry of ``benchmarks/numpy_census.py`` is run under ``sg.jit`` (its
value against NumPy's) and ``sg.grad`` of a random weighting of its outputs
(against central finite differences of the NumPy function), on the reference
interpreter, and classified:

- ``correct``: value and gradient match;
- ``wrong``: no error, but a value or gradient that does not match (silently wrong);
- ``clear``: a staticgrad error (``UnsupportedOperationError``, ...) whose message
  names the function;
- ``unclear``: any other error.

The same entries run against ``autograd.numpy`` (and ``autograd.scipy``) when
autograd is installed; there an error counts as clear when its message names
the function.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import types
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy_census  # noqa: E402
from numpy_census import ENTRIES, Entry  # noqa: E402

VERDICTS = ("correct", "wrong", "clear", "unclear")


def _leaves(out):
    if isinstance(out, (tuple, list)):
        return [leaf for o in out for leaf in _leaves(o)]
    return [np.asarray(out)]


def _weights(entry: Entry, outs):
    rng = np.random.default_rng([7, sum(map(ord, entry.name))])
    return [rng.uniform(-1, 1, o.shape) for o in outs]


def _floating(args):
    return [k for k, a in enumerate(args) if np.asarray(a).dtype.kind == "f"]


def _finite_differences(fun, args, k, h=1e-6):
    x = np.array(args[k], dtype=np.float64)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape) if x.shape else [()]:
        step = h * max(1.0, abs(x[i]))
        plus, minus = x.copy(), x.copy()
        plus[i] += step
        minus[i] -= step
        a, b = list(args), list(args)
        a[k], b[k] = plus, minus
        grad[i] = (fun(*a) - fun(*b)) / (2 * step)
    return grad


def _close(got, want, rtol=1e-5, atol=1e-6):
    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return False
    with np.errstate(invalid="ignore"):
        return bool(np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True))


def _check(entry: Entry, value_fn, grad_fn, names_error) -> tuple[str, str]:
    """(verdict, detail) of one entry; ``value_fn(f, args)`` and
    ``grad_fn(loss, args, argnums)`` are the system under test's."""
    args = entry.inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = _leaves(entry.fun(*args))
        except Exception as e:  # the census itself is wrong
            return "unclear", f"NumPy itself fails: {type(e).__name__}: {e}"
    weights = _weights(entry, expected)
    floats = _floating(args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = _leaves(value_fn(entry.fun, args))
        if len(got) != len(expected) or not all(_close(g, e, 1e-7, 1e-9)
                                                for g, e in zip(got, expected)):
            return "wrong", "value differs from NumPy's"

        def loss_of(fun):
            def loss(*xs):
                outs = _leaves(fun(*xs)) if fun is entry.fun else fun(*xs)
                return sum(((o * w).sum() for o, w in zip(outs, weights)), 0.0)
            return loss

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            grads = grad_fn(entry.fun, weights, args, tuple(floats))
            numeric = [_finite_differences(loss_of(entry.fun), args, k) for k in floats]
        for g, n in zip(grads, numeric):
            if not _close(g, n, 1e-4, 1e-5):
                return "wrong", "gradient differs from finite differences"
        return "correct", ""
    except Exception as e:  # noqa: BLE001 - classifying every failure is the point
        message = f"{type(e).__name__}: {e}"
        return ("clear" if names_error(entry, e) else "unclear"), message.splitlines()[0][:160]


# -- staticgrad ----------------------------------------------------------------------------
def _weighted(fun, weights):
    def loss(*xs):
        outs = fun(*xs)
        outs = list(outs) if isinstance(outs, (tuple, list)) else [outs]
        flat = []
        for o in outs:
            flat.extend(o if isinstance(o, (tuple, list)) else [o])
        total = 0.0
        for o, w in zip(flat, weights):
            total = total + (o * w).sum()
        return total
    return loss


def staticgrad_verdict(entry: Entry) -> tuple[str, str]:
    import staticgrad as sg
    from staticgrad.errors import StaticgradError

    def value(fun, args):
        return sg.jit(fun)(*args)

    def grad(fun, weights, args, argnums):
        g = sg.grad(_weighted(fun, weights), argnums=argnums)(*args)
        return list(g)

    def names(entry, e):
        return isinstance(e, StaticgradError) and entry.word.lower() in str(e).lower()

    return _check(entry, value, grad, names)


# -- autograd ------------------------------------------------------------------------------
def _autograd_namespace():
    import autograd.numpy as anp
    import autograd.scipy.linalg as asla
    import autograd.scipy.special as aspecial
    import autograd.scipy.stats as astats
    return {"np": anp, "special": aspecial, "stats": astats, "sla": asla}


def _rebind(fun, namespace):
    """``fun`` with the census module's globals swapped for autograd's."""
    glb = dict(fun.__globals__)
    glb.update(namespace)
    closure = None
    if fun.__closure__:
        closure = tuple(types.CellType(_rebind(c.cell_contents, namespace)
                                       if isinstance(c.cell_contents, types.FunctionType)
                                       else c.cell_contents) for c in fun.__closure__)
    return types.FunctionType(fun.__code__, glb, fun.__name__, fun.__defaults__, closure)


def autograd_verdict(entry: Entry) -> tuple[str, str]:
    import autograd

    namespace = _autograd_namespace()
    fun = _rebind(entry.fun, namespace)

    def value(_, args):
        return fun(*args)

    def grad(_, weights, args, argnums):
        g = autograd.grad(_weighted(fun, weights), argnum=argnums[0] if len(argnums) == 1
                          else argnums)
        if len(argnums) == 1:
            return [g(*args)]
        return [autograd.grad(_weighted(fun, weights), argnum=k)(*args) for k in argnums]

    def names(entry, e):
        return entry.word.lower() in str(e).lower()

    return _check(entry, value, grad, names)


# -- the table -------------------------------------------------------------------------------
def census(verdict=staticgrad_verdict, entries=ENTRIES) -> dict[str, tuple[str, str]]:
    return {e.name: verdict(e) for e in entries}


def counts(results: dict) -> collections.Counter:
    return collections.Counter(v for v, _ in results.values())


def table(rows: dict[str, collections.Counter]) -> str:
    lines = ["| | correct | silently wrong | clear \"unsupported\" error | unclear error |",
             "|---|---|---|---|---|"]
    for who, c in rows.items():
        fallback = c.get("interpreter fallback")
        who = who if fallback is None else f"{who}, {fallback} on the interpreter fallback"
        lines.append(f"| {who} | " + " | ".join(str(c.get(v, 0)) for v in VERDICTS) + " |")
    return "\n".join(lines)


def readme_table(results: dict | None = None) -> str:
    """The README's "Supported NumPy" table: every census entry, by group, that
    staticgrad supports (value and gradient checked)."""
    results = census() if results is None else results
    by_group: dict[str, list[str]] = collections.OrderedDict()
    for e in ENTRIES:
        if results[e.name][0] == "correct":
            by_group.setdefault(e.group, []).append(f"`{e.name}`")
    c = counts(results)
    lines = [f"<!-- generated by benchmarks/numpy_coverage.py --readme; "
             f"{c['correct']} of {len(ENTRIES)} census calls -->",
             "| group | calls with checked values and gradients |", "|---|---|"]
    for g, names in by_group.items():
        lines.append(f"| {g} | {', '.join(names)} |")
    refused = [f"`{e.name}`" for e in ENTRIES if results[e.name][0] == "clear"]
    if refused:
        lines.append(f"| refused by name (`UnsupportedOperationError`) | {', '.join(refused)} |")
    others = [f"`{e.name}`" for e in ENTRIES if results[e.name][0] in ("wrong", "unclear")]
    if others:
        lines.append(f"| failing (a bug: please report) | {', '.join(others)} |")
    return "\n".join(lines)


README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")
MARKERS = ("<!-- numpy-table:start -->\n", "\n<!-- numpy-table:end -->")


def readme_section(text: str) -> str:
    start = text.index(MARKERS[0]) + len(MARKERS[0])
    return text[start:text.index(MARKERS[1], start)]


def write_readme(table: str) -> None:
    with open(README) as f:
        text = f.read()
    old = readme_section(text)
    with open(README, "w") as f:
        f.write(text.replace(MARKERS[0] + old + MARKERS[1], MARKERS[0] + table + MARKERS[1]))


def compiled_sample(results: dict, n: int) -> collections.Counter:
    """Run ``n`` of the entries correct on the interpreter through Numba."""
    import staticgrad as sg
    correct = [e for e in ENTRIES if results[e.name][0] == "correct"]
    step = max(1, len(correct) // max(n, 1))
    sample = correct[::step][:n]
    import logging

    class Fallbacks(logging.Handler):
        names: set = set()

        def emit(self, record):
            if "runs on the interpreter" in record.getMessage():
                self.names.add(current[0])
    handler, current = Fallbacks(logging.WARNING), [None]
    logger = logging.getLogger("staticgrad")
    saved, level = sg.config.backend, logger.level
    sg.config.backend = "numba"
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        results = {}
        for e in sample:
            current[0] = e.name
            results[e.name] = staticgrad_verdict(e)
        c = counts(results)
        c["interpreter fallback"] = len(handler.names)
        return c
    finally:
        sg.config.backend = saved
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--details", action="store_true", help="print every entry's verdict")
    parser.add_argument("--compiled", type=int, default=0,
                        help="also run this many correct entries through Numba")
    parser.add_argument("--no-autograd", action="store_true")
    parser.add_argument("--readme", action="store_true", help="print the README table")
    parser.add_argument("--write-readme", action="store_true",
                        help="replace the table in README.md with the census's")
    args = parser.parse_args(argv)

    import staticgrad as sg
    import logging
    logging.getLogger("staticgrad").setLevel(logging.ERROR)
    sg.config.backend = "interpreter"
    ours = census()
    if args.readme:
        print(readme_table(ours))
        return
    if args.write_readme:
        write_readme(readme_table(ours))
        return
    rows = {f"staticgrad ({len(ENTRIES)} calls)": counts(ours)}
    theirs = None
    if not args.no_autograd:
        try:
            import autograd  # noqa: F401
            theirs = census(autograd_verdict)
            rows["HIPS autograd (`autograd.numpy`)"] = counts(theirs)
        except ImportError:
            pass
    if args.compiled:
        rows[f"staticgrad through Numba ({args.compiled} sampled correct calls)"] = \
            compiled_sample(ours, args.compiled)
    if args.details:
        for e in ENTRIES:
            v, why = ours[e.name]
            other = f"  [autograd: {theirs[e.name][0]}]" if theirs else ""
            print(f"{v:8s} {e.group:16s} {e.name:45s} {why}{other}")
        print()
    print(table(rows))


if __name__ == "__main__":
    main()
