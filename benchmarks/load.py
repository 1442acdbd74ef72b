"""Load test of the local server: concurrent clients sending face crops and webcam frames.

    python -m benchmarks.load [--model PATH] [--duration 60] [--requests 10000] [--clients 16]
                              [--config threadpool --config workers2 ...] [--rate R]

Starts `python -m function.serve` on a free loopback port as a second process, then for
--duration seconds runs --clients closed-loop clients (each sends its next request when
the answer comes, as the page does): half post 160 px face crops as the page does
(the JPEG itself to /face?detect=false), half raw 640x480 JPEG frames with detection.
With --rate, requests go out at that fixed rate instead (an open loop), which shows the
latency at a given load rather than at saturation.
Then it sends --requests more and samples the server's memory (RSS of the server and its
worker processes) at the start, every 1000 requests and at the end: it must stay flat.
Exits non-zero on any error or when memory grew more than --max-growth-mib.

Everything is bounded: loopback only, a time limit per phase and per request.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from benchmarks.common import (
    CROP_HEADERS,
    CROP_PATH,
    face_crop_jpeg,
    machine,
    percentile,
    webcam_frame,
)

ROOT = Path(__file__).resolve().parent.parent

# Server set-ups compared by --config: environment of `python -m function.serve`
# (TORCH_THREADS 0: every CPU).
CONFIGS: dict[str, dict[str, str]] = {
    # whatever function.serve picks when nothing is set
    "default": {},
    # one process, Starlette's 40-thread pool, torch on every CPU
    "threadpool": {"WORKERS": "1", "SLOTS": "0", "TORCH_THREADS": "0"},
    # one process per CPU (2 here), one torch thread each
    "workers2": {"WORKERS": "2", "TORCH_THREADS": "1"},
    # one process, one request's image work at a time, torch on every CPU
    "slots1": {"WORKERS": "1", "SLOTS": "1", "TORCH_THREADS": "0"},
    # one process, two requests at a time, one torch thread each
    "slots2": {"WORKERS": "1", "SLOTS": "2", "TORCH_THREADS": "1"},
}


@dataclass
class Payload:
    kind: str
    body: bytes
    headers: dict[str, str]
    path: str = "/face"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"face": [], "frame": []})
    errors: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + len(self.errors)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict[str, str], port: int, model: str | None,
                 wait_s: float = 180) -> subprocess.Popen:
    child_env = {**os.environ, **env, "PORT": str(port), "HOST": "127.0.0.1"}
    if model:
        child_env["MODEL_PATH"] = str(Path(model).resolve())
    # The per-request log lines go nowhere: printing them here would only slow the run.
    proc = subprocess.Popen([sys.executable, "-m", "function.serve"], cwd=ROOT, env=child_env,
                            stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with code {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the server did not answer /health within {wait_s:.0f} s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def rss_mib(pid: int) -> float:
    """The server and its worker processes together."""
    root = psutil.Process(pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def check_answer(p: Payload, r: httpx.Response) -> str | None:
    if r.status_code != 200:
        return f"{p.kind}: HTTP {r.status_code} {r.text[:120]}"
    body = r.json()
    if len(body.get("faces", [])) != 1:
        return f"{p.kind}: {len(body.get('faces', []))} faces instead of 1"
    return None


async def send(http: httpx.AsyncClient, payload: Payload, tally: Tally,
               since: float | None = None) -> None:
    """One request; latency counts from ``since`` (its scheduled time) when given."""
    t0 = time.perf_counter() if since is None else since
    try:
        r = await http.post(payload.path, content=payload.body, headers=payload.headers)
        problem = check_answer(payload, r)
    except httpx.HTTPError as exc:
        problem = f"{payload.kind}: {type(exc).__name__} {exc}"
    if problem:
        tally.errors.append(problem)
    else:
        tally.latencies[payload.kind].append((time.perf_counter() - t0) * 1e3)


async def client(http: httpx.AsyncClient, payload: Payload, tally: Tally,
                 keep_going) -> None:
    while keep_going():
        await send(http, payload, tally)


async def open_loop(http: httpx.AsyncClient, payloads: list[Payload], tally: Tally,
                    keep_going, rate: float, cap: int) -> None:
    """Requests at a fixed rate whatever the answers do; at most ``cap`` in flight. Latency
    runs from the scheduled time, so a server falling behind shows as queueing."""
    slots, running = asyncio.Semaphore(cap), set()
    start, i = time.perf_counter(), 0

    async def one(payload: Payload, due: float) -> None:
        try:
            await send(http, payload, tally, since=due)
        finally:
            slots.release()

    while keep_going():
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await slots.acquire()
        task = asyncio.create_task(one(payloads[i % len(payloads)], due))
        running.add(task)
        task.add_done_callback(running.discard)
        i += 1
    await asyncio.gather(*running)


async def run_phase(port: int, payloads: list[Payload], clients: int, *, seconds: float,
                    requests: int = 0, rate: float = 0, on_progress=None,
                    timeout_s: float = 30) -> tuple[Tally, float]:
    """Closed-loop clients (or, with ``rate``, an open loop) until ``seconds`` pass or
    (if given) ``requests`` are answered."""
    tally = Tally()
    deadline = time.monotonic() + seconds

    def keep_going() -> bool:
        if requests and tally.done >= requests:
            return False
        return time.monotonic() < deadline

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                 timeout=timeout_s) as http:
        t0 = time.perf_counter()
        if rate > 0:
            tasks = [asyncio.create_task(open_loop(http, payloads, tally, keep_going, rate,
                                                   clients))]
        else:
            tasks = [asyncio.create_task(client(http, payloads[i % len(payloads)], tally,
                                                keep_going)) for i in range(clients)]
        if on_progress:
            tasks.append(asyncio.create_task(on_progress(tally, keep_going)))
        await asyncio.gather(*tasks)
    return tally, time.perf_counter() - t0


def summarise(name: str, tally: Tally, elapsed: float) -> dict:
    every = tally.latencies["face"] + tally.latencies["frame"]
    row = {"config": name, "requests": tally.done, "errors": len(tally.errors),
           "rps": len(every) / elapsed, "p50": percentile(every, 50), "p99": percentile(every, 99)}
    for kind, v in tally.latencies.items():
        row[f"{kind}_rps"] = len(v) / elapsed
        row[f"{kind}_p50"], row[f"{kind}_p99"] = percentile(v, 50), percentile(v, 99)
    return row


async def memory_phase(port: int, pid: int, payloads: list[Payload], clients: int,
                       requests: int, max_seconds: float) -> tuple[list[tuple[int, float]],
                                                                   Tally, float]:
    samples = [(0, rss_mib(pid))]

    async def sampler(tally: Tally, keep_going) -> None:
        next_at = 1000
        while keep_going():
            if tally.done >= next_at:
                samples.append((tally.done, rss_mib(pid)))
                next_at += 1000
            await asyncio.sleep(0.05)

    tally, elapsed = await run_phase(port, payloads, clients, seconds=max_seconds,
                                     requests=requests, on_progress=sampler)
    samples.append((tally.done, rss_mib(pid)))
    return samples, tally, elapsed


def print_row(row: dict) -> None:
    print(f"| {row['config']} | {row['requests']} | {row['errors']} | {row['rps']:.1f} | "
          f"{row['p50']:.0f} | {row['p99']:.0f} | {row['face_rps']:.1f} | {row['face_p50']:.0f} "
          f"/ {row['face_p99']:.0f} | {row['frame_rps']:.1f} | {row['frame_p50']:.0f} / "
          f"{row['frame_p99']:.0f} |")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model file (default: the one in models/)")
    p.add_argument("--duration", type=float, default=60, help="seconds of the timed phase")
    p.add_argument("--requests", type=int, default=10000,
                   help="requests of the memory phase (0: skip it)")
    p.add_argument("--max-seconds", type=float, default=1200,
                   help="time limit of the memory phase")
    p.add_argument("--clients", type=int, default=16,
                   help="closed-loop clients (with --rate: the most requests in flight)")
    p.add_argument("--rate", type=float, default=0,
                   help="open loop: this many requests/s in all, instead of closed-loop clients")
    p.add_argument("--mix", choices=("both", "face", "frame"), default="both")
    p.add_argument("--config", action="append", choices=sorted(CONFIGS),
                   help="server set-up(s) to run, one after the other (default: default)")
    p.add_argument("--max-growth-mib", type=float, default=50)
    return p


def main(args: argparse.Namespace) -> int:
    clients = max(1, min(args.clients, 64))
    face = Payload("face", face_crop_jpeg(), CROP_HEADERS, CROP_PATH)
    frame = Payload("frame", webcam_frame(), {"Content-Type": "image/jpeg"})
    payloads = {"both": [face, frame], "face": [face], "frame": [frame]}[args.mix]
    shape = f"open loop at {args.rate:g}/s" if args.rate else "closed loop"
    print(f"{clients} clients ({shape}), mix {args.mix}; before: {machine()}")
    rows, failed = [], False
    for name in args.config or ["default"]:
        port = free_port()
        proc = start_server(CONFIGS[name], port, args.model)
        try:
            # A few requests first: the first calls specialise the TorchScript graph.
            asyncio.run(run_phase(port, payloads, clients, seconds=30, requests=4 * clients))
            tally, elapsed = asyncio.run(run_phase(port, payloads, clients,
                                                   seconds=args.duration, rate=args.rate))
            rows.append(summarise(name, tally, elapsed))
            failed |= bool(tally.errors)
            for e in tally.errors[:5]:
                print(f"  error ({name}): {e}")
            if args.requests > 0:
                samples, mtally, melapsed = asyncio.run(memory_phase(
                    port, proc.pid, payloads, clients, args.requests, args.max_seconds))
                growth = samples[-1][1] - samples[0][1]
                print(f"{name}: RSS over {mtally.done} requests ({melapsed:.0f} s, "
                      f"{len(mtally.errors)} errors): "
                      + ", ".join(f"{n}: {m:.0f}" for n, m in samples)
                      + f" MiB; growth {growth:+.1f} MiB")
                rows.append(summarise(f"{name}, memory phase", mtally, melapsed))
                if mtally.done < args.requests:
                    print(f"  only {mtally.done} requests within --max-seconds")
                failed |= bool(mtally.errors) or growth > args.max_growth_mib
                failed |= mtally.done < args.requests
        finally:
            stop_server(proc)
    print(f"\nload average {os.getloadavg()[0]:.1f} after; latencies in ms, throughput in "
          f"answers/s (timed phase: {args.duration:.0f} s)")
    print("| config | requests | errors | total /s | p50 | p99 | face /s | face p50 / p99 | "
          "frame /s | frame p50 / p99 |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print_row(row)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
