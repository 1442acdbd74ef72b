"""The `emotion` command. `emotion analyse --help` is the reference; the README's
"Analyse files" section has worked examples."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from emotion import api as api_module
from emotion.analysis import analyse_input
from emotion.inputs import find_inputs
from emotion.outputs import SUMMARY_CSV, Result, existing, finished, write_input, write_summary
from emotion.tracking import MAX_FACES

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_FPS = 5.0
API_MAX_FACES = 16      # function.limits.MAX_FACES: the most faces one answer holds


def fps_value(text: str) -> float | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number or 'all'") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError("must be more than 0 (or 'all')")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emotion", description="The emotion evaluator for files: which of eight "
        "emotions each face shows, in recorded videos and photos.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser(
        "analyse", aliases=["analyze"], help="analyse videos, photos and folders of them",
        description="Analyse videos (anything FFmpeg decodes: MP4, MOV, WebM, AVI, MKV...), "
        "photos (JPEG, PNG, WebP) and folders of them (searched recursively). Per input: "
        "DIR/<name>.csv (the page's export columns plus frame), DIR/<name>.json (the "
        "page's JSON export), DIR/<name>.png (timeline and share of time per emotion); "
        "DIR/summary.csv, one row per input. Exit code: 0 when every input was analysed, "
        "1 when any failed, 2 for a usage error or an API that cannot be reached, 130 "
        "when interrupted.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="video, photo or folder")
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="folder for the outputs")
    p.add_argument("--fps", type=fps_value, default=DEFAULT_FPS, metavar="N",
                   help=f"frames analysed per second of video (default {DEFAULT_FPS:g}); "
                   "'all' for every frame")
    p.add_argument("--api", metavar="URL", help="send frames to the emotion API at URL "
                   "(make run's http://127.0.0.1:8000, or the deployed API Gateway URL) "
                   "instead of analysing them in this process")
    p.add_argument("--workers", type=positive_int, default=api_module.DEFAULT_WORKERS,
                   metavar="N", help="with --api: requests in flight (default "
                   f"{api_module.DEFAULT_WORKERS}, within the deployed API's 25 requests/s)")
    p.add_argument("--retries", type=int, default=api_module.DEFAULT_RETRIES, metavar="N",
                   help="with --api: tries again after a 429, a 5xx or a dropped connection, "
                   f"with backoff (default {api_module.DEFAULT_RETRIES}, about 45 s)")
    again = p.add_mutually_exclusive_group()
    again.add_argument("--resume", action="store_true",
                       help="skip inputs whose outputs in DIR are complete")
    again.add_argument("--force", action="store_true", help="overwrite outputs in DIR")
    p.add_argument("--max-faces", type=positive_int, default=MAX_FACES, metavar="N",
                   help=f"faces followed per frame, the largest (default {MAX_FACES}, as the "
                   f"page; at most {API_MAX_FACES})")
    p.add_argument("--model", metavar="FILE", help="in-process: another model file "
                   "(default: MODEL_PATH, else the one in models/)")
    p.add_argument("--no-plots", action="store_true", help="no PNG pictures")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")
    p.add_argument("--json-log", action="store_true",
                   help="one JSON object per line on stdout for each input and at the end "
                   "(no progress bar)")
    return parser


class Report:
    """What the person (or the script) sees: a progress bar over frames, one line per
    finished input; or JSON lines; or nothing."""

    def __init__(self, args: argparse.Namespace, total_inputs: int) -> None:
        self.json = args.json_log
        self.quiet = args.quiet
        self.total = total_inputs
        self.done = 0
        self.bar = None
        if not (self.quiet or self.json):
            from tqdm import tqdm

            self.bar = tqdm(total=0, unit="frame", desc=f"0/{total_inputs} files",
                            dynamic_ncols=True, mininterval=0.5, file=sys.stderr)

    def event(self, **fields: object) -> None:
        if self.json:
            print(json.dumps(fields), flush=True)

    def expect(self, frames: int) -> None:
        if self.bar is not None:
            self.bar.total += frames
            self.bar.refresh()

    def frame(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def line(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        elif not (self.quiet or self.json):
            print(text, file=sys.stderr)

    def finished(self, result: Result, skipped: bool = False) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_description(f"{self.done}/{self.total} files")
        r = result
        if r.status == "ok":
            text = (f"{r.frames} frame{'s' * (r.frames != 1)}, {r.faces} "
                    f"face{'s' * (r.faces != 1)}" + (f", top {r.top_emotion}"
                                                       if r.top_emotion else ""))
        else:
            text = r.error
        self.line(f"{'skip' if skipped else r.status:6} {r.input.given}: {text}")
        self.event(event="input", skipped=skipped, **r.row())

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fail(message: str) -> int:
    print(f"emotion: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def make_engine(args: argparse.Namespace):
    if args.api:
        return api_module.Api(args.api, args.workers, args.retries)
    from emotion.engine import InProcess

    return InProcess(args.model, args.max_faces)


def analyse(args: argparse.Namespace) -> int:
    if args.max_faces > API_MAX_FACES:
        return fail(f"--max-faces is at most {API_MAX_FACES} (faces in one API answer)")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        return fail(f"--out {out} is a file, not a folder")
    inputs = find_inputs(args.paths, skip=out)
    if not args.resume and not args.force:
        clash = existing(out, inputs) if out.is_dir() else []
        if clash:
            names = ", ".join(p.name for p in clash[:4]) + (" ..." if len(clash) > 4 else "")
            return fail(f"{out} already holds outputs of these inputs ({names}): pass "
                        "--resume to keep finished ones and do the rest, or --force to "
                        "overwrite them")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return fail(f"cannot make {out}: {e.strerror or e}")
    plot = not args.no_plots
    try:
        engine = make_engine(args)
    except api_module.ApiUnreachable as e:
        return fail(str(e))
    except (OSError, ValueError) as e:
        return fail(f"cannot load the model: {e}")
    report = Report(args, len(inputs))
    report.event(event="start", mode=engine.mode, model=engine.model_id, inputs=len(inputs),
                 out=str(out))
    results: list[Result] = []
    started = time.perf_counter()
    try:
        for inp in inputs:
            before = finished(out, inp, plot) if args.resume else None
            if before is not None:
                results.append(before)
                report.finished(before, skipped=True)
                continue
            result = analyse_input(inp, engine, args.fps, args.max_faces,
                                   opened=lambda s: report.expect(s.estimated_frames),
                                   progress=report.frame)
            write_input(out, result, plot)
            results.append(result)
            report.finished(result)
    except KeyboardInterrupt:
        done = {id(r.input) for r in results}
        rest = [Result(i, "failed", "interrupted before it was finished; run again with "
                       "--resume") for i in inputs if id(i) not in done]
        write_summary(out, results + rest, plot=False)
        report.close()
        engine.close()
        report.event(event="interrupted", finished=len(results), inputs=len(inputs))
        if not args.quiet:
            print(f"\nInterrupted: {len(results)} of {len(inputs)} inputs finished and kept "
                  f"in {out}; the same command with --resume does the rest.", file=sys.stderr)
        return EXIT_INTERRUPTED
    engine.close()
    write_summary(out, results, plot)
    report.close()
    failed = sum(r.status != "ok" for r in results)
    frames = sum(r.frames for r in results)
    seconds = time.perf_counter() - started
    report.event(event="done", ok=len(results) - failed, failed=failed, frames=frames,
                 seconds=round(seconds, 2), summary=str(out / SUMMARY_CSV),
                 **({"retried": engine.retried} if args.api else {}))
    if not (args.quiet or args.json_log):
        print(f"{len(results) - failed} of {len(results)} inputs analysed, {frames} frames in "
              f"{seconds:.1f} s" + (f"; {failed} failed" if failed else "")
              + f": {out / SUMMARY_CSV}", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    if args.command in ("analyse", "analyze"):
        try:
            return analyse(args)
        except KeyboardInterrupt:   # before the first input (loading): nothing to keep
            print("\nInterrupted before any input was analysed.", file=sys.stderr)
            return EXIT_INTERRUPTED
    return EXIT_USAGE   # argparse refuses other commands before this


if __name__ == "__main__":
    sys.exit(main())
