"""How a Tensor prints: as PyTorch prints it."""
from __future__ import annotations

import math

import numpy as np

from staticgrad.eager.dtypes import DEFAULT_FLOAT

PRECISION, LINEWIDTH, THRESHOLD, EDGEITEMS = 4, 80, 1000, 3


class _Formatter:
    def __init__(self, values: np.ndarray):
        self.floating = values.dtype.kind in "fc"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
        if finite.size == 0:
            return
        big, small = np.abs(finite).max(), np.abs(finite).min()
        self.int_mode = bool(np.all(finite == np.ceil(finite)))
        if self.int_mode:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8
            strings = ([f"{v:.{PRECISION}e}" for v in finite.tolist()] if self.sci_mode
                       else [f"{v:.0f}." for v in finite.tolist()])
        else:
            self.sci_mode = big / small > 1000.0 or big > 1.0e8 or small < 1.0e-4
            fmt = "e" if self.sci_mode else "f"
            strings = [f"{v:.{PRECISION}{fmt}}" for v in finite.tolist()]
        self.width = max(self.width, *map(len, strings))

    def format(self, value) -> str:
        if self.floating:
            value = float(value)
            if self.sci_mode:
                text = f"{value:.{PRECISION}e}"
            elif self.int_mode:
                text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
            else:
                text = f"{value:.{PRECISION}f}"
        else:
            text = str(value.item() if hasattr(value, "item") else value)
        return " " * (self.width - len(text)) + text


def _summarized(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * EDGEITEMS:
        a = np.concatenate([a[:EDGEITEMS], a[-EDGEITEMS:]])
    return np.stack([_summarized(x) for x in a]) if a.ndim > 1 else a


def _format_array(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if a.ndim == 0:
        return fmt.format(a[()])
    if a.ndim == 1:
        items = [fmt.format(v) for v in a]
        if summarize and len(items) > 2 * EDGEITEMS:
            items = items[:EDGEITEMS] + [" ..."] + items[-EDGEITEMS:]
        per_line = max(1, (LINEWIDTH - indent) // (fmt.width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    rows = range(a.shape[0])
    if summarize and a.shape[0] > 2 * EDGEITEMS:
        rows = list(range(EDGEITEMS)) + [None] + list(range(a.shape[0] - EDGEITEMS, a.shape[0]))
    parts = ["..." if r is None else _format_array(a[r], indent + 1, summarize, fmt) for r in rows]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def format_tensor(t: "Tensor") -> str:
    prefix, indent = "tensor(", len("tensor(")
    a = t._array
    suffixes = []
    if a.size == 0:
        body = "[]"
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if a.dtype != DEFAULT_FLOAT:
            suffixes.append(f"dtype={a.dtype}")
    else:
        if a.dtype not in (DEFAULT_FLOAT, np.dtype(np.int64), np.dtype(np.bool_)):
            suffixes.append(f"dtype={a.dtype}")
        summarize = a.size > THRESHOLD
        body = _format_array(a, indent, summarize,
                             _Formatter(_summarized(a) if summarize else a))
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t._requires_grad:
        suffixes.append("requires_grad=True")
    text = prefix + body
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > LINEWIDTH:
            text += ",\n" + " " * indent + s
            last = indent + len(s)
        else:
            text += ", " + s
            last += len(s) + 2
    return text + ")"
