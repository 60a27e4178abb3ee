"""`warden` commands for the tests, in one process of their own that replays each input once.

A `warden ledger ...` command replays its inputs (the demo by default) into a fresh embedded world, reads the
ledger and exits: seconds of replay for milliseconds of reading, and the tests run dozens of such commands over
a few inputs. This process runs each command as `python -m warden_local.cli` does (cli.main: its parser, its
exit code, its stdout and stderr), one request a line on stdin and one answer a line on stdout, except that
the ledger's world of the last inputs stays open: the next `ledger` command over the same inputs (same files,
same bytes) reads that world instead of replaying them again. Reading changes nothing, and a command that
makes any call that may write (observe.RECORDER counts them) closes the world after it, so every command
reads exactly what its own fresh replay would give.

`Session.run(*args, cwd=None)` -> subprocess.CompletedProcess, like the subprocess.run the tests used.
tests/integration/local/test_cli.py still runs `python -m warden_local.cli` itself, as a user does.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ANSWER = "\x00warden-cli-session\x00"  # marks the answer line; any other output line belongs to the command
TIMEOUT_S = 180


class Session:
    """The tests' side: starts the process on first use, one command at a time."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._env: dict[str, str] = {}

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.stdin.close()  # type: ignore[union-attr]
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def run(self, *args: str, cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        if self._proc is not None and (self._proc.poll() is not None or self._env != os.environ):
            self.close()  # a test changed the environment: the command runs in it, as its own process would
        if self._proc is None:
            self._env = dict(os.environ)
            self._proc = subprocess.Popen([sys.executable, "-m", "tests.cli_session"], cwd=ROOT, text=True,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        proc = self._proc
        proc.stdin.write(json.dumps({"argv": list(args), "cwd": str(cwd or os.getcwd())}) + "\n")  # type: ignore
        proc.stdin.flush()  # type: ignore[union-attr]
        watchdog = threading.Timer(TIMEOUT_S, proc.kill)
        watchdog.start()
        stray = []
        try:
            while True:
                line = proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise RuntimeError(f"the warden CLI session ended (code {proc.wait()}) running {args}: "
                                       f"{''.join(stray)[-2000:]}")
                if line.startswith(ANSWER):
                    answer = json.loads(line[len(ANSWER):])
                    break
                stray.append(line)  # written past sys.stdout: a fresh process would have printed it too
        finally:
            watchdog.cancel()
        return subprocess.CompletedProcess([sys.executable, "-m", "warden_local.cli", *args], answer["returncode"],
                                           "".join(stray) + answer["stdout"], answer["stderr"])


# -- the process's side --------------------------------------------------------------------------------------
_open: dict[str, Any] = {"key": None, "stack": None, "source": None}


def _close() -> None:
    if _open["stack"] is not None:
        _open["stack"].close()
    _open.update(key=None, stack=None, source=None)


def _key(args: Any) -> tuple | None:
    """The inputs by path and content; None (never shared) when one is not a plain file."""
    paths = [Path(p) for p in args.replay or []]
    if not all(p.is_file() for p in paths):
        return None
    return tuple((str(p.resolve()), hashlib.sha256(p.read_bytes()).hexdigest()) for p in paths)


def _shared(real: Any) -> Any:
    @contextlib.contextmanager
    def source(args: Any) -> Iterator[Any]:
        from warden_local.observe import RECORDER

        key = None if args.stack else _key(args)
        if key is None or key != _open["key"]:
            _close()
            stack = contextlib.ExitStack()
            try:
                opened = stack.enter_context(real(args))
            except BaseException:
                stack.close()
                raise
            _open.update(key=key, stack=stack, source=opened)
        writes = sum(RECORDER.changes.values())
        try:
            yield _open["source"]
        finally:
            if key is None or sum(RECORDER.changes.values()) != writes:
                _close()  # not shareable, or the command wrote: the next one replays afresh

    return source


def _command(argv: list[str]) -> dict[str, Any]:
    from warden_local import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse, as `sys.exit(main())` would end the process
            if isinstance(exc.code, str):
                print(exc.code, file=sys.stderr)
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Exception:  # noqa: BLE001 (what the interpreter prints when a process dies of it)
            traceback.print_exc()
            code = 1
    return {"returncode": code or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main() -> None:
    from warden_local import ledger_cli

    ledger_cli._source = _shared(ledger_cli._source)
    answers = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        os.chdir(request["cwd"])
        answer = _command(request["argv"])
        answers.write(ANSWER + json.dumps(answer) + "\n")
        answers.flush()
    _close()


if __name__ == "__main__":
    main()
