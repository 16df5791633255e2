"""Grad mode: whether operations on Tensors record a ``grad_fn``."""
from __future__ import annotations

import functools
from typing import Callable


class _GradMode:
    enabled = True


def is_grad_enabled() -> bool:
    return _GradMode.enabled


class _SetGradEnabled:
    """Context manager and decorator that sets whether operations record grad_fn."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_GradMode.enabled)
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._saved.pop()
        return False

    def __call__(self, fun: Callable) -> Callable:
        @functools.wraps(fun)
        def wrapper(*args, **kwargs):
            with _SetGradEnabled(self.mode):
                return fun(*args, **kwargs)
        return wrapper


class no_grad(_SetGradEnabled):
    """``with sg.no_grad():`` (or ``@sg.no_grad`` / ``@sg.no_grad()``): operations
    record nothing."""

    def __new__(cls, fun: Callable | None = None):
        self = super().__new__(cls)
        if fun is None:
            return self
        self.__init__()
        return self(fun)

    def __init__(self, fun: Callable | None = None):
        super().__init__(False)


class enable_grad(no_grad):
    """The opposite of ``no_grad``: record inside a no_grad block."""

    def __init__(self, fun: Callable | None = None):
        _SetGradEnabled.__init__(self, True)


class set_grad_enabled(_SetGradEnabled):
    """``sg.set_grad_enabled(False)`` switches recording off at once (as PyTorch);
    used in a ``with``, the previous mode comes back at its end."""

    def __init__(self, mode: bool):
        super().__init__(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous
        return False
