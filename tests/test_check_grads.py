"""sg.check_grads: passes on correct derivatives, and catches wrong ones.

Wrong rules are planted as temporary ops in the registry (removed again
after each test) and used through ``op_table.apply_op``.
"""
import numpy as np
import pytest

import compiler.ops as O
import staticgrad as sg
from op_table import apply_op

pytestmark = pytest.mark.usefixtures("interpreter_backend")

rng = np.random.default_rng(0)


@pytest.fixture
def temporary_ops():
    """Register ops for one test; the registry is restored afterwards."""
    made = []

    def make(name, impl, **rules):
        made.append(name)
        return O.Op(name, impl, elementwise=True, **rules)

    yield make
    for name in made:
        O.REGISTRY.pop(name, None)


def _sin_with(temporary_ops, vjp, jvp, name="test_sin"):
    temporary_ops(name, np.sin, vjp=vjp, jvp=jvp)
    return lambda x: apply_op(name, x)


def right_vjp(g, out, x):
    return (g * O.cos(x),)


def right_jvp(ts, out, x):
    return ts[0] * O.cos(x)


@pytest.mark.parametrize("f, args", [
    (lambda x: np.sum(np.sin(x) ** 2), (rng.standard_normal(5),)),
    (lambda x, y: np.tanh(x @ y) * x[:, :1], (rng.standard_normal((3, 4)), rng.standard_normal(4))),
    (lambda x, y: (np.exp(x) * y, np.maximum(x, 0.25) - y), (rng.standard_normal((2, 1)),
                                                              rng.standard_normal(3))),
    (lambda x, i: x[i] ** 3, (rng.standard_normal(4), np.array([0, 3, 3]))),
    (lambda x: x.astype(np.float32) * 2, (rng.standard_normal(3),)),
    (sg.grad(lambda x: np.sum(np.sin(x) * x ** 2)), (rng.standard_normal(3),)),
    (lambda x, y: (y * 2.0, np.ones(2)), (rng.standard_normal(3), rng.standard_normal(3))),
], ids=["scalar", "two_arguments_broadcasting", "tuple_output", "integer_argument_fixed",
        "float32_output", "a_gradient_itself", "unused_argument_constant_output"])
def test_passes_on_correct_derivatives(f, args):
    sg.check_grads(f, args, order=2)


def test_passes_with_the_right_rules_planted(temporary_ops):
    sin = _sin_with(temporary_ops, right_vjp, right_jvp)
    sg.check_grads(lambda x: sin(x) * x, (rng.standard_normal(4),))


def test_catches_a_wrong_vjp(temporary_ops):
    sin = _sin_with(temporary_ops, lambda g, out, x: (2 * g * O.cos(x),), right_jvp)
    f = lambda x: sin(x) * x  # noqa: E731
    x = rng.standard_normal(4)
    sg.check_grads(f, (x,), modes=("fwd",))  # forward mode does not use the VJP
    with pytest.raises(AssertionError, match=r"order 1, mode rev: .* argument 0.* worst at index"):
        sg.check_grads(f, (x,))


def test_catches_a_wrong_jvp(temporary_ops):
    sin = _sin_with(temporary_ops, right_vjp, lambda ts, out, x: ts[0] * O.sin(x))
    f = lambda x: sin(x) * x  # noqa: E731
    x = rng.standard_normal(4)
    sg.check_grads(f, (x,), order=1, modes=("rev",))
    with pytest.raises(AssertionError, match=r"order 1, mode fwd: .* argument 0"):
        sg.check_grads(f, (x,), order=1)


def test_catches_a_wrong_second_derivative(temporary_ops):
    # The first derivative is right, but it is built from an op whose own
    # derivative is wrong: only order 2 can see it.
    temporary_ops("test_cos", np.cos, vjp=lambda g, out, x: (g * O.sin(x),))
    sin = _sin_with(temporary_ops, lambda g, out, x: (g * apply_op("test_cos", x),),
                    lambda ts, out, x: ts[0] * apply_op("test_cos", x))
    x = rng.standard_normal(4)
    sg.check_grads(sin, (x,), order=1)
    with pytest.raises(AssertionError, match=r"order 2, mode fwd-over-fwd"):
        sg.check_grads(sin, (x,), order=2)
    with pytest.raises(AssertionError, match=r"order 2, mode rev-over-rev"):
        sg.check_grads(sin, (x,), order=2, modes=("rev",))


def test_names_the_argument_with_the_wrong_derivative(temporary_ops):
    sin = _sin_with(temporary_ops, lambda g, out, x: (-g * O.cos(x),), right_jvp)
    f = lambda i, x, y: x[i] * sin(y)  # noqa: E731
    args = (np.array([1, 0, 2]), rng.standard_normal(3), rng.standard_normal(3))
    with pytest.raises(AssertionError, match=r"argument 2"):
        sg.check_grads(f, args, modes=("rev",))


def test_a_lone_array_is_the_only_argument(temporary_ops):
    sin = _sin_with(temporary_ops, lambda g, out, x: (2 * g * O.cos(x),), right_jvp)
    sg.check_grads(np.sin, np.ones(2))
    with pytest.raises(AssertionError, match="mode rev"):
        sg.check_grads(sin, np.ones(2))


def test_bad_arguments_are_refused():
    x = (np.ones(2),)
    with pytest.raises(ValueError, match="order"):
        sg.check_grads(np.sin, x, order=0)
    with pytest.raises(ValueError, match="modes"):
        sg.check_grads(np.sin, x, modes=("backward",))
    with pytest.raises(TypeError, match="floating-point argument"):
        sg.check_grads(lambda i: i * 2.0, (np.arange(3),))
