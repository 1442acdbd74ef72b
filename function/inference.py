"""Where torch runs: on one thread of its own whenever it runs more than one thread.

torch's OpenMP runtime (libgomp) keeps a pool of threads for every thread that starts
parallel work, and once the process holds more of them than it has CPUs it makes them
sleep after every parallel region. The model warmed up on the main thread at import and
then classified on the server's request threads did exactly that: 6.8-7.2 instead of 5.1 ms
a face at 2 threads. So the model is loaded, warmed up and run on one thread. With one
torch thread no parallel work starts, and requests run on the server's threads side by
side (`make run`'s SLOTS).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch
from fastapi.concurrency import run_in_threadpool

T = TypeVar("T")


class Inference:
    def __init__(self, torch_threads: int) -> None:
        # OpenMP's thread count is each thread's own: set again on the new thread.
        self._thread = (ThreadPoolExecutor(1, thread_name_prefix="torch",
                                           initializer=torch.set_num_threads,
                                           initargs=(torch_threads,))
                        if torch_threads > 1 else None)

    def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` where torch work belongs, waiting for it."""
        return fn(*args) if self._thread is None else self._thread.submit(fn, *args).result()

    async def arun(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` where torch work belongs, off the event loop."""
        if self._thread is None:
            return await run_in_threadpool(fn, *args)
        return await asyncio.wrap_future(self._thread.submit(fn, *args))
