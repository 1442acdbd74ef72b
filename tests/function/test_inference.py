"""Torch work runs where function/inference.py says: one thread of its own when torch runs
several threads, the caller's (or the server's pool) when it runs one."""

from __future__ import annotations

import asyncio
import threading

import torch

from function.inference import Inference


def where() -> tuple[str, int]:
    return threading.current_thread().name, torch.get_num_threads()


def run_async(coro):
    # Not asyncio.run: it leaves the main thread without an event loop, which Mangum (the
    # Lambda tests) expects to find.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_several_torch_threads_share_one_thread_of_their_own():
    inference = Inference(3)
    first, second = inference.run(where), run_async(inference.arun(where))
    assert first == second                       # the same thread every time
    assert first[0].startswith("torch") and first[0] != threading.current_thread().name
    assert first[1] == 3                         # with the thread count asked for


def test_one_torch_thread_runs_where_it_is_called():
    inference = Inference(1)
    assert inference.run(where)[0] == threading.current_thread().name
    name, _ = run_async(inference.arun(where))
    assert name != threading.current_thread().name      # off the event loop


def test_errors_reach_the_caller():
    def boom() -> None:
        raise ValueError("bad image")

    for inference in (Inference(1), Inference(2)):
        try:
            inference.run(boom)
        except ValueError as exc:
            assert str(exc) == "bad image"
        else:
            raise AssertionError("no error")
