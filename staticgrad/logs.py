"""The ``staticgrad`` logger: what was traced, compiled and retraced, and why.

staticgrad reports each trace, compile and retrace (with its reason) on the
``staticgrad`` logger at INFO level, and finer detail at DEBUG level; the
compiler's records (compiles, the kernel cache) come from its child
``staticgrad.compiler``. Nothing is printed unless asked for:

- ``STATICGRAD_LOG=recompiles`` in the environment prints traces, compiles and
  retraces on stderr (``STATICGRAD_LOG=debug`` prints everything);
- ``sg.logs.log_to_stderr("recompiles")`` does the same from code;
- or configure ``logging.getLogger("staticgrad")`` like any other logger.

>>> import staticgrad as sg
>>> handler = sg.logs.log_to_stderr("recompiles")
>>> sg.logs.log_to_stderr(None)  # and off again
"""
from __future__ import annotations

import logging
import os
import sys
import warnings

LEVELS = {"recompiles": logging.INFO, "info": logging.INFO, "debug": logging.DEBUG}

logger = logging.getLogger("staticgrad")
_handler: logging.Handler | None = None


def log_to_stderr(level: str | None = "recompiles") -> logging.Handler | None:
    """Print the ``staticgrad`` logger's records on stderr from ``level`` up
    (``"recompiles"`` or ``"debug"``); ``None`` removes the handler again.
    Returns the handler, which replaces the one of an earlier call.

    >>> handler = log_to_stderr("debug")
    >>> handler.level == logging.DEBUG
    True
    >>> log_to_stderr(None)
    """
    global _handler
    if _handler is not None:
        logger.removeHandler(_handler)
        _handler = None
    if level is None:
        return None
    if level not in LEVELS:
        raise ValueError(f"staticgrad log level must be one of {sorted(LEVELS)}, got {level!r}")
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    _handler.setLevel(LEVELS[level])
    logger.addHandler(_handler)
    if logger.getEffectiveLevel() > LEVELS[level]:
        logger.setLevel(LEVELS[level])
    return _handler


def _from_environment() -> None:
    value = os.environ.get("STATICGRAD_LOG", "").strip().lower()
    if not value or value in ("0", "off", "none"):
        return
    if value not in LEVELS:
        # A typo in an environment variable should not make the import fail.
        warnings.warn(f"STATICGRAD_LOG={value!r} is not one of {sorted(LEVELS)}; "
                      "staticgrad logging stays off", stacklevel=2)
        return
    log_to_stderr(value)


_from_environment()
