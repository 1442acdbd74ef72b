"""Run the Lambda handler through the real Lambda runtime path, without Docker.

The AWS Lambda Runtime Interface Emulator (RIE, the binary ``sam local`` puts in its
containers; it ships inside the aws-sam-cli wheel) serves the Invoke API and the Runtime
API; AWS's Python runtime client (awslambdaric, what the Lambda base image runs) polls it
and calls ``function.handler.handler``, exactly as in the deployed container.

    python -m tools.lambda_local invoke events/face-http-api.json   # prints the response
    python -m tools.lambda_local serve --port 9000                   # then POST events to
        http://127.0.0.1:9000/2015-03-31/functions/function/invocations
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from function.settings import FUNCTION_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
HANDLER = "function.handler.handler"
FUNCTION_NAME = "emotion-api"
# What infra/template.yaml deploys (MemorySize, Timeout); keep them in step.
MEMORY_MB = 3008
TIMEOUT_S = 15
# RIE counts the init phase (imports, model load) inside the first invoke's timeout, while
# Lambda gives init its own 10 s; locally the first invoke gets both.
INIT_ALLOWANCE_S = 10
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
# Settings of the caller that reach the function (everything else starts clean, as in Lambda):
# the variables the function reads (function/settings.py), and where to find libraries.
PASS_THROUGH = (*FUNCTION_VARIABLES, "LD_LIBRARY_PATH")


class EmulatorError(RuntimeError):
    """The emulator did not start, died, or gave no answer."""


class LambdaError(RuntimeError):
    """The function failed (init error, unhandled exception, timeout): Lambda's error payload."""

    def __init__(self, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


def rie_path() -> Path | None:
    """The emulator binary inside the installed samcli package, for this machine; None if
    aws-sam-cli is not installed."""
    try:
        import samcli
    except ImportError:
        return None
    arch = "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"
    path = Path(samcli.__file__).parent / "local" / "rapid" / f"aws-lambda-rie-{arch}"
    return path if path.is_file() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lambda_env(memory_mb: int = MEMORY_MB, timeout_s: float = TIMEOUT_S,
               extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Lambda gives the function (base image + template), with the repo root
    as the task root, plus PASS_THROUGH from ours and ``extra``."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8", "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(ROOT), "PYTHONPATH": str(ROOT),
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(timeout_s)),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{FUNCTION_NAME}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "local",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "POWERTOOLS_SERVICE_NAME": "emotion-api",
        "POWERTOOLS_METRICS_NAMESPACE": "EmotionEvaluator",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # No X-Ray daemon here; `sam local` disables the tracer the same way.
        "AWS_SAM_LOCAL": "true", "POWERTOOLS_TRACE_DISABLED": "true",
    }
    env.update({k: os.environ[k] for k in PASS_THROUGH if k in os.environ})
    env.update({k: v for k, v in os.environ.items() if k.startswith("POWERTOOLS_")})
    env.update(extra or {})
    return env


class LocalLambda:
    """The emulator plus the runtime client, as a context manager that always stops them.

    ``timeout_s`` is the function timeout RIE enforces (init included, see INIT_ALLOWANCE_S).
    """

    def __init__(self, handler: str = HANDLER, *, memory_mb: int = MEMORY_MB,
                 timeout_s: float = TIMEOUT_S + INIT_ALLOWANCE_S, startup_timeout_s: float = 10,
                 env: dict[str, str] | None = None, log_level: str = "error",
                 port: int = 0, capture_logs: bool = True) -> None:
        self.handler, self.timeout_s, self.startup_timeout_s = handler, timeout_s, startup_timeout_s
        self.env = lambda_env(memory_mb, timeout_s, env)
        self.log_level, self.capture_logs = log_level, capture_logs
        self.port = port               # 0: a free one
        self.started_at = 0.0          # perf_counter() just before the emulator was spawned
        self._proc: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The emulator's process id while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    def __enter__(self) -> LocalLambda:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def start(self) -> None:
        rie = rie_path()
        if rie is None:
            raise EmulatorError("the Lambda Runtime Interface Emulator is not installed: "
                                "`.venv/bin/pip install -r requirements-dev.txt` (aws-sam-cli)")
        self.port = self.port or free_port()
        cmd = [str(rie), "--log-level", self.log_level,
               "--runtime-interface-emulator-address", f"127.0.0.1:{self.port}",
               # Its own Runtime API port too (default 9001), so emulators can run side by side.
               "--runtime-api-address", f"127.0.0.1:{free_port()}",
               sys.executable, "-m", "awslambdaric", self.handler]
        if self._log is not None:
            self._log.close()
        # A file, not a pipe: nobody has to drain it while the function runs. It stays
        # readable after close(), for a post-mortem.
        self._log = tempfile.TemporaryFile() if self.capture_logs else None
        self.started_at = time.perf_counter()
        # A session of its own: close() can then stop the runtime child with it.
        self._proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                      stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True, preexec_fn=_die_with_parent)
        atexit.register(self.close)
        try:
            self._wait_ready()
        except BaseException:
            self.close()
            raise

    def _wait_ready(self) -> None:
        """Poll until the Invoke API accepts connections. The runtime itself (and so the
        model load) starts on the first invoke, as a Lambda cold start does."""
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise EmulatorError(f"the emulator exited at start:\n{self.logs()[-4000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EmulatorError(f"the emulator did not listen on 127.0.0.1:{self.port} "
                                    f"within {self.startup_timeout_s:.0f} s:\n"
                                    f"{self.logs()[-4000:]}")
            time.sleep(0.05)

    def invoke(self, event: dict | str | bytes, timeout_s: float | None = None) -> dict:
        """One synchronous invocation; the function's return value (an API Gateway response
        for this handler). Raises LambdaError with Lambda's error payload if the function
        failed, EmulatorError if nothing answered."""
        if self._proc is None:
            raise EmulatorError("the emulator is not running: use `with LocalLambda() as fn:`")
        data = event if isinstance(event, bytes) else (
            event.encode() if isinstance(event, str) else json.dumps(event).encode())
        req = urllib.request.Request(self.url, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        # A little over the function timeout: RIE answers "Task timed out" itself first.
        wait = (timeout_s or self.timeout_s) + 5
        try:
            with urllib.request.urlopen(req, timeout=wait) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:   # RIE: 502 when init or the runtime failed
            body = exc.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise EmulatorError(f"no answer from the emulator: {exc}\n"
                                f"{self.logs()[-4000:]}") from exc
        try:
            payload = json.loads(body)
        except ValueError:
            raise LambdaError(body.decode(errors="replace").strip(), body) from None
        if isinstance(payload, dict) and "errorType" in payload and "statusCode" not in payload:
            raise LambdaError(f"{payload['errorType']}: {payload.get('errorMessage')}", payload)
        return payload

    def wait(self) -> int:
        """Block until the emulator exits; its exit status."""
        if self._proc is None:
            raise EmulatorError("the emulator is not running")
        return self._proc.wait()

    def logs(self) -> str:
        """What the emulator and the function wrote so far (START/END/REPORT lines, the
        function's JSON logs and metrics)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        text = self._log.read().decode(errors="replace")
        self._log.seek(0, os.SEEK_END)
        return text

    def close(self) -> None:
        """Stop the emulator and whatever is left of its process group (the runtime)."""
        proc, self._proc = self._proc, None
        atexit.unregister(self.close)
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)   # RIE then SIGKILLs its runtime
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(5)
        _signal_group(proc.pid, signal.SIGKILL)   # a runtime that outlived its emulator


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if this process dies without closing (killed,
    crashed), so no emulator outlives its test run. Linux only; elsewhere close() alone.
    (The signal fires when the thread that started it ends: start from a lasting thread.)"""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def read_event(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _invoke(args: argparse.Namespace) -> int:
    event = read_event(args.event)
    with LocalLambda(memory_mb=args.memory, timeout_s=args.timeout) as fn:
        try:
            result = fn.invoke(event)
        except LambdaError as exc:
            print(fn.logs(), file=sys.stderr, end="")
            print(f"the function failed: {exc}", file=sys.stderr)
            return 1
        if not args.quiet:
            print(fn.logs(), file=sys.stderr, end="")
    if args.body and isinstance(result, dict) and "body" in result:
        text = result["body"]
        try:
            text = json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
        print(text)
    else:
        print(json.dumps(result, indent=2))
    return 0


def _serve(args: argparse.Namespace) -> int:
    # Stop cleanly on Ctrl-C and on kill (TERM), also when started in the background, where
    # SIGINT arrives ignored: either way the with-block below stops the emulator.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    fn = LocalLambda(memory_mb=args.memory, timeout_s=args.timeout, port=args.port,
                     capture_logs=False, log_level="info")
    with fn:
        print(f"POST events to {fn.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
        try:
            fn.wait()
        except KeyboardInterrupt:
            pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lambda_local",
                                     description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inv = sub.add_parser("invoke", help="invoke the handler once with an event file and print "
                                        "its response (logs on stderr)")
    inv.add_argument("event", help="event JSON file (events/*.json), or - for stdin")
    inv.add_argument("--body", action="store_true", help="print only the response body")
    inv.add_argument("-q", "--quiet", action="store_true", help="no logs on stderr")
    srv = sub.add_parser("serve", help="keep the emulator up for your own invocations")
    srv.add_argument("--port", type=int, default=9000)
    for p in (inv, srv):
        p.add_argument("--memory", type=int, default=MEMORY_MB, help="MB (reported only)")
        p.add_argument("--timeout", type=float, default=TIMEOUT_S + INIT_ALLOWANCE_S,
                       help="function timeout in s, init included")
    args = parser.parse_args(argv)
    try:
        return _invoke(args) if args.command == "invoke" else _serve(args)
    except EmulatorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
