"""Over a running API (`make run`, or the deployed API Gateway URL): frames posted as JPEG,
several in flight, answers taken back in order. Throttling (429), server errors (5xx) and
dropped connections are retried with backoff, a bounded number of times, so a server that
restarts mid-run loses no frame; any other 4xx fails the input with the API's own words."""

from __future__ import annotations

import io
import random
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx

from emotion.decoding import Frame
from emotion.engine import AnalysisError, Face, describe

# Deployed, the API takes 25 requests a second (ThrottlingRateLimit) and a frame takes
# ~150 ms there and back: 4 in flight keep it busy without being throttled.
DEFAULT_WORKERS = 4
DEFAULT_RETRIES = 8         # ~45 s of backoff in all: a restart of the server fits
MAX_BACKOFF_S = 10.0
JPEG_QUALITY = 90
TIMEOUT_S = 30.0


class ApiUnreachable(Exception):
    """The URL does not answer as the emotion API: the whole run stops at once."""


def backoff_s(attempt: int) -> float:
    """Seconds to wait before try ``attempt + 2``: 0.5, 1, 2, 4, 8, 10, 10... with jitter
    so that workers do not come back all at once."""
    return min(MAX_BACKOFF_S, 0.5 * 2 ** attempt) * random.uniform(0.8, 1.2)


class Api:
    mode = "api"

    def __init__(self, url: str, workers: int = DEFAULT_WORKERS,
                 retries: int = DEFAULT_RETRIES, timeout_s: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.workers = max(1, workers)
        self.retries = max(0, retries)
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=5.0),
            limits=httpx.Limits(max_connections=self.workers,
                                max_keepalive_connections=self.workers))
        self.model_id = self._health()
        self.retried = 0        # tries that were retried, for the run's report

    def _health(self) -> str:
        where = f"the emotion API at {self.url}"
        try:
            r = self.client.get(self.url + "/health", timeout=10.0)
        except httpx.HTTPError as e:
            raise ApiUnreachable(f"cannot reach {where}: {e or type(e).__name__}") from None
        try:
            body = r.json()
        except ValueError:
            body = None
        if r.status_code != 200 or not isinstance(body, dict) or "model" not in body:
            raise ApiUnreachable(f"{self.url} does not answer as the emotion API "
                                 f"(GET /health: HTTP {r.status_code})")
        return str(body["model"])

    def answers(self, frames: Iterable[Frame]) -> Iterator[tuple[Frame, list[Face]]]:
        """Each frame with its faces, in order, up to 2 x workers requests ahead."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="api")
        stop = threading.Event()       # set when this input ends early: no more tries
        pending: deque[tuple[Frame, Future]] = deque()
        try:
            for frame in frames:
                pending.append((frame, pool.submit(self._post, frame, stop)))
                while len(pending) >= 2 * self.workers:
                    frame, future = pending.popleft()
                    yield frame, future.result()
            while pending:
                frame, future = pending.popleft()
                yield frame, future.result()
        finally:
            stop.set()
            for _, future in pending:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    def _post(self, frame: Frame, stop: threading.Event) -> list[Face]:
        if frame.data is not None:
            body, mime = frame.data, frame.mime or "image/jpeg"
        else:
            buf = io.BytesIO()
            frame.image.save(buf, "JPEG", quality=JPEG_QUALITY)
            body, mime = buf.getvalue(), "image/jpeg"
        last = ""
        for attempt in range(self.retries + 1):
            if stop.is_set():
                raise AnalysisError("stopped")
            if attempt:
                self.retried += 1
            try:
                r = self.client.post(self.url + "/face", params={"detect": "true"},
                                     content=body, headers={"Content-Type": mime})
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                if r.status_code == 200:
                    return self._faces(r, frame)
                if r.status_code != 429 and r.status_code < 500:
                    raise AnalysisError(f"the API refused {describe(frame)}: "
                                        f"{_error_text(r)}")
                last = _error_text(r)
            if attempt < self.retries:
                stop.wait(backoff_s(attempt))
        raise AnalysisError(f"the API gave no answer for {describe(frame)} after "
                            f"{self.retries + 1} tries (last: {last})")

    @staticmethod
    def _faces(r: httpx.Response, frame: Frame) -> list[Face]:
        try:
            faces = r.json()["faces"]
            return [{"box": f["box"], "predictions": f["predictions"]} for f in faces]
        except (ValueError, KeyError, TypeError):
            raise AnalysisError(f"the API's answer for {describe(frame)} is not the emotion "
                                "API's JSON") from None

    def close(self) -> None:
        self.client.close()


def _error_text(r: httpx.Response) -> str:
    """HTTP 413 too_many_pixels: the image is ... (the API's error body, where it sent one)."""
    try:
        error = r.json().get("error") or {}
        code, message = error.get("code", ""), error.get("message", "")
    except (ValueError, AttributeError):
        code, message = "", ""
    if not message:
        try:
            message = str(r.json().get("message", "")) or r.reason_phrase
        except (ValueError, AttributeError):
            message = r.reason_phrase
    return f"HTTP {r.status_code}" + (f" {code}" if code else "") + (
        f": {message}" if message else "")
