"""Draw the graph staticgrad traced from a NumPy function, and its adjoint.

``sg.value_and_grad(f).trace(*args)`` returns the optimised joint graph
(forward and adjoint together) as a ``networkx.DiGraph`` whose nodes carry
``op``, ``shape`` and ``dtype``. The forward part is what the value output
needs; everything else is the adjoint (the gradient). The script draws both
with networkx + matplotlib and writes the DOT text for Graphviz.

Run: python examples/visualize_graph.py [picture.png [graph.dot]]
(matplotlib is optional: without it only the DOT text is written.)
"""
import os
import sys
import tempfile

import networkx as nx
import numpy as np

import staticgrad as sg


def negative_log_likelihood(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


rng = np.random.default_rng(0)
args = (rng.normal(size=3), rng.normal(size=(5, 3)), (rng.uniform(size=5) < 0.5) * 1.0)
traced = sg.value_and_grad(negative_log_likelihood).trace(*args)
graph = traced.graph
value_node, gradient_node = traced.ir.outputs
forward = nx.ancestors(graph, value_node) | {value_node}
adjoint = set(graph) - forward
print(f"joint graph: {len(graph)} nodes ({len(forward)} forward, {len(adjoint)} adjoint), "
      f"{graph.number_of_edges()} edges")
print("ops:", ", ".join(sorted({data["op"] for _, data in graph.nodes(data=True)})))
for node in (value_node, gradient_node):
    data = graph.nodes[node]
    print(f"output %{node}: {data['op']} -> shape {data['shape']} {data['dtype']}")

out_dir = tempfile.gettempdir()
png_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(out_dir, "staticgrad_graph.png")
dot_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(out_dir, "staticgrad_graph.dot")
with open(dot_path, "w") as f:
    f.write(traced.to_dot())
print(f"DOT text written to {dot_path} (render: dot -Tsvg {os.path.basename(dot_path)})")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("note: matplotlib is not installed; no picture drawn")
    sys.exit(0)

# A layered drawing: each node one row below its deepest input, constants
# just above their first user; a few barycentre sweeps order each row so
# that edges cross less (the classic Sugiyama heuristic, kept short).
row = {}
for n in nx.topological_sort(graph):
    row[n] = 1 + max((row[p] for p in graph.predecessors(n)), default=-1)
for n in graph:
    if graph.nodes[n]["op"] == "const":
        row[n] = min(row[s] for s in graph.successors(n)) - 1
rows = [sorted(n for n in graph if row[n] == r) for r in range(max(row.values()) + 1)]
x = {n: i - (len(nodes) - 1) / 2 for nodes in rows for i, n in enumerate(nodes)}
for sweep in range(4):
    for nodes in (rows if sweep % 2 == 0 else rows[::-1]):
        neighbours = graph.predecessors if sweep % 2 == 0 else graph.successors
        centre = {n: np.mean([x[m] for m in neighbours(n)] or [x[n]]) for n in nodes}
        nodes.sort(key=centre.get)
        x.update({n: i - (len(nodes) - 1) / 2 for i, n in enumerate(nodes)})
position = {n: (1.6 * x[n], -row[n]) for n in graph}


def label(node):
    data = graph.nodes[node]
    shape = "x".join(map(str, data["shape"])) or "scalar"
    return f"{data['op']}\n{shape}"


kinds = {"input": ("#a1d99b", [n for n in graph if graph.nodes[n]["op"] == "param"]),
         "forward": ("#9ecae1", [n for n in forward if graph.nodes[n]["op"] != "param"]),
         "adjoint": ("#fdae6b", sorted(adjoint))}
fig, ax = plt.subplots(figsize=(7, 7), dpi=80)
nx.draw_networkx_edges(graph, position, ax=ax, arrowsize=8, edge_color="#888888",
                       node_size=900, node_shape="s")
for name, (colour, nodes) in kinds.items():
    nx.draw_networkx_labels(graph.subgraph(nodes), position, ax=ax, font_size=7,
                            labels={n: label(n) for n in nodes},
                            bbox=dict(boxstyle="round,pad=0.3", fc=colour, ec="#333333"))
    ax.scatter([], [], s=100, marker="s", color=colour, edgecolors="#333333", label=name)
ax.legend(loc="lower left", frameon=False)
ax.set_title("value_and_grad(negative_log_likelihood): one joint graph", fontsize=10)
ax.axis("off")
fig.tight_layout()
fig.savefig(png_path)
plt.close(fig)
print(f"picture written to {png_path}")
