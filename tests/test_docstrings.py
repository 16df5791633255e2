"""Every public function has a docstring with an example, and the examples
print what they claim (doctest)."""
import doctest
import importlib
import inspect

import pytest

import staticgrad as sg

PUBLIC_FUNCTIONS = [name for name in sg.__all__
                    if inspect.isfunction(getattr(sg, name))]
MODULES = sorted({getattr(sg, name).__module__ for name in PUBLIC_FUNCTIONS} | {"staticgrad.logs"})


def test_there_are_public_functions():
    assert {"grad", "jit", "value_and_grad", "hessian"} <= set(PUBLIC_FUNCTIONS)


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_function_is_documented_with_an_example_and_annotated(name):
    fun = getattr(sg, name)
    assert ">>>" in (fun.__doc__ or ""), f"sg.{name} has no example in its docstring"
    unannotated = [p.name for p in inspect.signature(fun).parameters.values()
                   if p.annotation is inspect.Parameter.empty
                   and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    assert not unannotated, f"sg.{name}: parameters without annotations: {unannotated}"


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module),
                             optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
