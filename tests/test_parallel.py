"""sg.data_parallel on Dask: the same numbers as the single-process call under
the threads scheduler, Dask's process pool and a distributed LocalCluster of
worker processes (one cluster shared by the module), row-weighted means over
uneven chunks, the errors, the missing extra, and a worker killed mid-call."""
import concurrent.futures
import os
import pickle
import signal
import sys
import threading
import time

import cloudpickle
import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster

import staticgrad as sg
from compiler.codegen import compile as codegen_compile

# The workers import staticgrad but not this test module: send its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

ROWS, COLS = 600, 4


def logistic_nll(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def squared_error_sum(w, b, X, y):
    r = X @ w + b - y
    return np.sum(r * r)


def moments(X):
    return {"sum": np.sum(X, axis=0), "squares": np.sum(X * X)}


def logistic_gradient(w, X, y):
    """The NumPy closed form: X^T (sigmoid(Xw) - y) / N."""
    return X.T @ (1.0 / (1.0 + np.exp(-(X @ w))) - y) / len(y)


def data(chunks, seed=0):
    """A dask X (ROWS x COLS) and y with the given row chunks, generated chunk by chunk."""
    X = da.random.default_rng(seed).normal(size=(ROWS, COLS), chunks=(chunks, COLS))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.float64)
    return X, y


W = np.array([0.3, -0.2, 0.1, 0.05])
value_and_grad = sg.value_and_grad(logistic_nll)          # the single-process reference
parallel_value_and_grad = sg.data_parallel(sg.value_and_grad(logistic_nll), (1, 2),
                                           reduce="mean")


def assert_close(got, want):
    got_leaves, got_tree = sg.pytree.flatten(got)
    want_leaves, want_tree = sg.pytree.flatten(want)
    assert got_tree == want_tree
    for g, w in zip(got_leaves, want_leaves):
        assert type(g) is type(w)
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=0)


# -- the threads scheduler ---------------------------------------------------------
def test_threads_scheduler_matches_the_single_process_gradient():
    X, y = data(200)
    Xn, yn = dask.compute(X, y)
    want = value_and_grad(W, Xn, yn)
    np.testing.assert_allclose(want[1], logistic_gradient(W, Xn, yn), rtol=1e-12)
    # threads run chunks at once because the kernels release the GIL
    assert "nogil=True" in value_and_grad.compile(W, Xn[:200], yn[:200]).source
    with dask.config.set(scheduler="threads"):
        for _ in range(2):          # the second call runs the compiled kernels
            assert_close(parallel_value_and_grad(W, X, y), want)


def test_uneven_chunks_with_mean_weight_each_chunk_by_its_rows():
    X, y = data((250, 100, 150, 100))
    Xn, yn = dask.compute(X, y)
    want = value_and_grad(W, Xn, yn)
    with dask.config.set(scheduler="threads"):
        assert_close(parallel_value_and_grad(W, X, y), want)
        assert_close(parallel_value_and_grad(W, Xn, yn, chunks=(250, 100, 150, 100)), want)
        # an unweighted mean of the chunk means would be another number
        chunk_means = [value_and_grad(W, Xn[a:b], yn[a:b])[0]
                       for a, b in [(0, 250), (250, 350), (350, 500), (500, 600)]]
        assert abs(np.mean(chunk_means) - want[0]) > 1e-6


def test_the_reduction_tree_gives_the_same_bits_wherever_its_last_sum_runs(monkeypatch):
    X, y = data(50)                                       # 12 chunks: a tree of two levels
    with dask.config.set(scheduler="threads"):
        parallel_value_and_grad(W, X, y)                  # then kernels answer, not the trace
        in_caller = parallel_value_and_grad(W, X, y)
        monkeypatch.setattr(sg.parallel, "_SMALL", 0)     # as for large parameters
        in_tasks = parallel_value_and_grad(W, X, y)
    assert in_caller[0] == in_tasks[0] and np.array_equal(in_caller[1], in_tasks[1])
    assert_close(in_caller, value_and_grad(W, *dask.compute(X, y)))


def test_sum_over_numpy_chunks_with_grad_and_jit_pytrees():
    Xn, yn = dask.compute(*data(200))
    b = np.array(0.5)
    grads = sg.grad(squared_error_sum, argnums=(0, 1))
    with dask.config.set(scheduler="threads"):
        got = sg.data_parallel(grads, data_argnums=(2, 3))(W, b, Xn, yn, chunks=200)
        assert_close(got, grads(W, b, Xn, yn))
        got = sg.data_parallel(sg.jit(moments), data_argnums=0)(Xn, chunks=(200, 400))
        assert_close(got, {"sum": Xn.sum(axis=0), "squares": np.sum(Xn * Xn)})


# -- Dask's process pool: the function travels by pickle ---------------------------
def test_process_pool_scheduler():
    X, y = data(200)
    want = value_and_grad(W, *dask.compute(X, y))
    with dask.config.set(scheduler="processes", num_workers=2):
        assert_close(parallel_value_and_grad(W, X, y), want)


def test_transformed_function_pickles_with_its_traced_graphs():
    X, y = dask.compute(*data(200))
    f = sg.value_and_grad(logistic_nll)
    want = f(W, X, y)
    received = pickle.loads(pickle.dumps(f))
    assert_close(received(W, X, y), want)
    assert_close(received(W, X, y), want)
    info = received.cache_info()
    assert info.traces == 0 and info.specializations == 1   # the sender's graph, not a retrace


# -- errors ------------------------------------------------------------------------
def test_misaligned_chunks_name_both_chunkings():
    X, _ = data(200)
    y = da.zeros(ROWS, chunks=150)
    with pytest.raises(sg.ShapeError, match=r"\(150, 150, 150, 150\).*\(200, 200, 200\)"):
        parallel_value_and_grad(W, X, y)


def test_chunks_along_another_axis_are_refused():
    X = da.ones((ROWS, COLS), chunks=(200, 2))
    with pytest.raises(sg.ShapeError, match="chunked along axis 1"):
        parallel_value_and_grad(W, X, da.ones(ROWS, chunks=200))


def test_data_that_are_not_arrays_are_refused():
    with pytest.raises(TypeError, match="data argument 2 is a list"):
        parallel_value_and_grad(W, np.ones((ROWS, COLS)), [1.0] * ROWS, chunks=200)
    with pytest.raises(TypeError, match="chunks="):
        parallel_value_and_grad(W, np.ones((ROWS, COLS)), np.ones(ROWS))
    with pytest.raises(sg.ShapeError, match=r"chunks=\(250, 4\) does not split 600 rows"):
        parallel_value_and_grad(W, np.ones((ROWS, COLS)), np.ones(ROWS), chunks=(250, 4))
    with pytest.raises(sg.ShapeError, match="different numbers of rows"):
        parallel_value_and_grad(W, np.ones((ROWS, COLS)), np.ones(ROWS - 1), chunks=200)
    with pytest.raises(TypeError, match="argument 0 is a dask collection but not a data arg"):
        parallel_value_and_grad(da.from_array(W), np.ones((ROWS, COLS)), np.ones(ROWS),
                                chunks=200)
    with pytest.raises(TypeError, match="not a staticgrad transformed function"):
        sg.data_parallel(logistic_nll, (1, 2))
    with pytest.raises(ValueError, match="reduce must be"):
        sg.data_parallel(value_and_grad, (1, 2), reduce="max")


def test_without_dask_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)        # import dask now raises ImportError
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r'pip install "staticgrad\[dask\]"'):
        sg.data_parallel(value_and_grad, (1, 2))


# -- a distributed cluster of worker processes -------------------------------------
@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as c:
        yield c


def worker_counters():
    kernels = codegen_compile.stats
    return (sg.parallel.stats["functions_received"],
            kernels["compilations"] + kernels["disk_hits"])


def test_cluster_matches_and_a_second_call_sends_no_code(client):
    X, y = data(200)
    want = value_and_grad(W, *dask.compute(X, y, scheduler="threads"))
    X, y = client.persist([X, y])
    vg = sg.data_parallel(sg.value_and_grad(logistic_nll), (1, 2), reduce="mean")
    before = client.run(worker_counters)
    assert_close(vg(W, X, y), want)
    assert_close(vg(W, X, y), want)
    assert_close(vg(W + 0.0, X, y), want)
    after_third = client.run(worker_counters)
    for worker in after_third:
        functions, kernels = (a - b for a, b in zip(after_third[worker], before[worker]))
        assert functions == 1   # scattered once: the later calls send no code
        assert kernels <= 1     # one chunk shape: compiled or loaded once per process
    assert sum(after_third[w][1] - before[w][1] for w in after_third) >= 1
    # NumPy data, split and scattered by the call
    Xn, yn = dask.compute(*data(200), scheduler="threads")
    assert_close(vg(W, Xn, yn, chunks=200), want)
    on_cluster = vg(W, Xn, yn, chunks=200)
    with dask.config.set(scheduler="threads"):   # the same bits under any scheduler, once
        vg(W, Xn, yn, chunks=200)                 # kernels answer (a first call answers
        on_threads = vg(W, Xn, yn, chunks=200)    # from its trace, equal to rounding)
    assert on_cluster[0] == on_threads[0] and np.array_equal(on_cluster[1], on_threads[1])


def _slowly(block):
    time.sleep(0.4)
    return block


def test_a_worker_killed_mid_call_is_retried_and_the_result_is_exact(client):
    X, y = data(75)
    want = value_and_grad(W, *dask.compute(X, y, scheduler="threads"))
    X = X.map_blocks(_slowly, dtype=X.dtype)              # 8 chunks of 0.4 s each
    pids = client.run(os.getpid)
    killed = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            if busy:
                time.sleep(0.2)                           # into its first 0.4 s chunk
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        got = pool.submit(parallel_value_and_grad, W, X, y).result(timeout=120)
    killer.join()
    assert killed, "no worker was busy"
    assert_close(got, want)
