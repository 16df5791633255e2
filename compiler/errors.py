"""Exceptions raised by the compiler. The front end re-exports them."""


class CompilerError(Exception):
    """Base class of every error the compiler raises on purpose."""


class ShapeError(CompilerError, ValueError):
    """An op received operands whose shapes it cannot combine.

    The message names the op and the shapes involved.
    """


class UnsupportedOperationError(CompilerError, TypeError):
    """An operation has no rule (an unknown op, or a form of it not handled)."""


class GuardFailure(CompilerError):
    """A guard recorded while tracing does not hold for the current inputs.

    Raised by the interpreter (and mirrored by compiled code) so that the
    caller can retrace for the new path. ``site`` is the user's source line.
    """

    def __init__(self, site: str, node: int):
        super().__init__(f"guard recorded at {site} does not hold for these inputs")
        self.site = site
        self.node = node


class LoopLimitError(CompilerError, RuntimeError):
    """A while loop ran more iterations than its limit
    (``sg.config.max_loop_iterations``); the message names the loop."""


class LoopTypeError(ShapeError, TypeError):
    """A loop body changes its carry (structure, shape or dtype), or the
    branches of a cond return different ones. The message names the loop or
    the branches and both shapes. Also a TypeError, as JAX raises for this."""
