"""NumPy reference evaluation of any Graph: the oracle and the fallback.

The evaluator itself is compiler.evaluate; this is the name the backends and
tests know it by.
"""
from compiler.evaluate import Interpreter, evaluate

__all__ = ["Interpreter", "evaluate"]
