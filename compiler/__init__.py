"""compiler: graph in, compiled callable out. Never imports staticgrad.

  ir.py         Graph (storage, structural hash, lint) and Value handles
  ops/          the op registry, one module per op family
  evaluate.py   the one NumPy evaluator of a Graph (interpreter, trace-time values,
                constant folding, eager fragments); interpreter.py names it
  autodiff.py   reverse mode (adjoint graph) and forward mode (tangent graph)
  passes/       Graph -> Graph functions: simplify, cse, dce
  codegen/      Numba source, compile, on-disk cache; the only package that imports numba

``compiler.ops`` installs itself into the IR when imported (the op lookup
``Graph.op_rules`` and ``Value``'s operators): build graphs after
``import compiler.ops``.
"""
