"""Every code example of the seed documents (examples/seeds/) runs with
staticgrad in place of torch / paddle / tf and prints the seeds' numbers.

Where a seed shows the output, it is quoted here verbatim; where it only
states the numbers (in a comment or in the text), the PyTorch printout of
those numbers is expected.
"""
import pathlib
import re
import runpy

import numpy as np
import pytest

import staticgrad as sg

SEEDS = pathlib.Path(__file__).resolve().parent.parent / "examples" / "seeds"
pytestmark = pytest.mark.usefixtures("interpreter_backend")

EXPECTED = {
    # 000: paddle.autograd.backward; the gradient of x0^2 + x1^2 at [1, 2] is [2, 4].
    "paddle_backward": "paddle: tensor([2., 4.])\ntensor([2., 4.], grad_fn=<MulBackward0>)\n",
    "torch_backward": "torch: tensor([2., 4.])\ntensor([2., 4.], grad_fn=<MulBackward0>)\n",
    # 002: outputs as printed in the seed.
    "accumulate_new_tensor": "tensor([1.], requires_grad=True)\n",
    "accumulate_forward": "",
    "accumulate_both": "tensor([5.])\n",
    "accumulate_y": "tensor([2.])\n",
    "accumulate_z": "tensor([3.])\n",
    "accumulate_zero": "tensor([2.])\ntensor([3.])\n",
    "weighted_ones": """tensor([[-1.5000],
        [ 2.7000]], requires_grad=True)
tensor([[ -3.0000],
        [100.6020]])
tensor([-3.], grad_fn=<MulBackward0>)
tensor([100.6020], grad_fn=<AddBackward0>)
""",
    "weighted_mixed": """tensor([[-1.5000],
        [ 2.7000]], requires_grad=True)
tensor([[-1.5000],
        [74.3580]])
tensor([-1.5000], grad_fn=<MulBackward0>)
tensor([74.3580], grad_fn=<AddBackward0>)
""",
    # 003 (d2l 2.5): the numbers its comments state.
    "d2l_simple": """初始 x: tensor([0., 1., 2., 3.])
x.requires_grad: True
初始 x.grad: None
y 的值: tensor(28., grad_fn=<MulBackward0>)
计算后的 x.grad: tensor([ 0.,  4.,  8., 12.])
清零后的 x.grad: tensor([0., 0., 0., 0.])
tensor([1., 1., 1., 1.])
""",
    "d2l_nonscalar": "tensor([0., 2., 4., 6.])\n",
    "d2l_detach": "(tensor([0., 1., 2., 3.], requires_grad=True), "
                  "tensor([0., 1., 4., 9.], grad_fn=<MulBackward0>), tensor([0., 1., 4., 9.]), "
                  "tensor([ 0.,  1.,  8., 27.], grad_fn=<MulBackward0>), tensor([0., 1., 4., 9.]), "
                  "tensor([True, True, True, True]))\ntensor([True, True, True, True])\n",
    # 004: the gradients the answers derive (2x; 2x + 2 at 3; 2x and 2y at (3, 4)).
    "qa_vector_sum": "tensor([2., 4., 6.])\n",
    "qa_gradient_tape": "tensor([2., 4., 6.])\n",
    "qa_polynomial": "tensor([8.])\n",
    "qa_two_variables": "tensor([6.])\ntensor([8.])\n",
}


def run(name, capsys):
    runpy.run_path(str(SEEDS / f"{name}.py"), run_name="__main__")
    return capsys.readouterr().out


def test_every_seed_script_is_checked():
    scripts = {p.stem for p in SEEDS.glob("*.py")}
    assert scripts == set(EXPECTED) | {"retain_graph", "d2l_control_flow"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_prints_the_seed_numbers(name, capsys):
    assert run(name, capsys) == EXPECTED[name]


def test_retain_graph_seed(capsys):
    """001: two backward passes with retain_graph=True accumulate twice the
    gradient of (w x + b)^2; without it the second raises PyTorch's error."""
    sg.manual_seed(1)
    out = run("retain_graph", capsys).splitlines()
    got, expected = re.match(r"x.grad: (\S+)\s+expected: (\S+)", out[0]).groups()
    assert got == expected
    assert out[1] == "Trying to backward through the graph a second time"


def test_control_flow_seed(capsys):
    """003 (d2l 2.5.4): a random start; a.grad == d / a on the path taken."""
    out = run("d2l_control_flow", capsys)
    match = re.fullmatch(r"\(tensor\((\S+), requires_grad=True\), tensor\((\S+), "
                         r"grad_fn=<MulBackward0>\), tensor\((\S+)\), tensor\((\S+), "
                         r"grad_fn=<DivBackward0>\), tensor\(True\)\)\n", out)
    assert match, out
    a, d, grad, ratio = (float(v.rstrip(".")) for v in match.groups())
    assert grad == ratio and abs(d) >= 1000
    np.testing.assert_allclose(d, grad * a, rtol=1e-3)
