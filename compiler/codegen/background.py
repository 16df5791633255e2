"""Compiling kernels on a background thread.

One daemon thread takes jobs in order: ``compile_graph_in_background(graph)``
returns a ``concurrent.futures.Future`` of the ``Compiled`` executable, and
``warm_up()`` imports Numba and loads its typing and lowering registries
(about 0.3 s that every process pays before its first kernel, even one
loaded from the disk cache) so that the first compile does not pay it.

A thread rather than a worker process (measured on a 2-core machine, a
Rosenbrock gradient, empty cache): the thread had the kernel after 1.2 s, a
worker process compiling into the disk cache after 3.1 s, since the worker
pays its own Python, NumPy and Numba start-up and this process must still
import Numba and load the kernel from the cache afterwards (0.35 s). Numba
holds the GIL for its typing and lowering but LLVM runs without it.

This module does not import numba itself: the thread does, so a caller
returns at once.

At exit, compiles not yet started are dropped and a running one is waited
for, up to ``EXIT_WAIT`` seconds (its kernel lands in the disk cache, so the
next process loads it instead of compiling; past that, the process ends
without it rather than hang). A running warm-up is not waited for: it is
imports, and a process that imports staticgrad and ends at once should not
pay for Numba.
"""
from __future__ import annotations

import atexit
import concurrent.futures
import os
import queue
import threading

#: seconds a process at exit waits for the compile that is running
EXIT_WAIT = 5.0

_jobs: "queue.SimpleQueue" = queue.SimpleQueue()
_thread: threading.Thread | None = None
_start_lock = threading.Lock()
_state_lock = threading.Lock()
_closing = False
_running_compile = False   # is the thread running a job to wait for at exit?
_unfinished: set = set()   # futures not done, for a forked child to cancel


def compile_graph_in_background(graph, name: str = "kernel", fuse: bool = True,
                                disk: bool = True,
                                vector_math: bool = True) -> concurrent.futures.Future:
    """The future ``Compiled`` of ``graph``, compiled on the background thread.

    Its result is what ``compile_graph`` returns (the same object once
    compiled: both go through its in-memory cache); its exception is what
    ``compile_graph`` raises (``UnsupportedOperationError`` for a graph Numba
    cannot compile)."""
    def job():
        from compiler.codegen.compile import compile_graph

        # vector_math is passed only when off: the default call keeps the
        # signature a replacement of compile_graph (a test's stand-in) knows
        options = {} if vector_math else {"vector_math": False}
        return compile_graph(graph, name=name, fuse=fuse, disk=disk, **options)
    return _submit(job, wait_at_exit=True)


def in_background(job) -> concurrent.futures.Future:
    """The future result of ``job()``, run on the background thread after the
    jobs before it (not waited for at exit)."""
    return _submit(job)


def warm_up() -> concurrent.futures.Future:
    """Import Numba and load its registries on the background thread."""
    return _submit(_warm_up)


def _warm_up() -> None:
    import compiler.codegen.compile  # noqa: F401  (imports numba)
    from numba.core.compiler_lock import global_compiler_lock
    from numba.core.registry import cpu_target

    with global_compiler_lock:  # as Numba's own compiles do
        cpu_target.target_context.refresh()
        cpu_target.typing_context.refresh()


def _submit(job, wait_at_exit: bool = False) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    if _closing:
        future.cancel()
        return future
    _unfinished.add(future)
    future.add_done_callback(_unfinished.discard)
    _start()
    _jobs.put((future, job, wait_at_exit))
    return future


def _start() -> None:
    global _thread
    with _start_lock:
        if _thread is None:
            _thread = threading.Thread(target=_work, name="staticgrad-compiler", daemon=True)
            _thread.start()
            atexit.register(_finish)


def _work() -> None:
    global _running_compile
    while True:
        item = _jobs.get()
        if item is None:
            return
        future, job, wait_at_exit = item
        with _state_lock:  # against _finish: a job starts before it, or not at all
            if _closing or not future.set_running_or_notify_cancel():
                future.cancel()
                continue
            _running_compile = wait_at_exit
        try:
            result = job()
        except BaseException as error:  # the future carries it to whoever asks
            future.set_exception(error)
        else:
            future.set_result(result)
        finally:
            _running_compile = False


def _after_fork_in_child() -> None:
    """A forked child has no compiler thread: it starts its own when asked.
    The parent's jobs are not its own: their futures end cancelled (those
    specialisations stay on the interpreter in the child)."""
    global _jobs, _thread, _start_lock, _state_lock, _closing, _running_compile
    unfinished = list(_unfinished)
    _jobs, _thread, _closing, _running_compile = queue.SimpleQueue(), None, False, False
    _start_lock, _state_lock = threading.Lock(), threading.Lock()
    _unfinished.clear()
    for future in unfinished:
        if not future.cancel() and not future.done():  # running on the parent's thread
            future.set_exception(concurrent.futures.CancelledError())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _finish() -> None:
    """At exit: drop the jobs not started, wait for a running compile."""
    global _closing
    with _state_lock:
        _closing = True
        wait = _running_compile
    while True:
        try:
            item = _jobs.get_nowait()
        except queue.Empty:
            break
        if item is not None:
            item[0].cancel()
    _jobs.put(None)
    if wait:
        _thread.join(EXIT_WAIT)
