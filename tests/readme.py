"""README.md read as a user reads it: its fenced blocks, and the shell commands of its shell blocks, in order.

A shell block is ```sh (or ```bash), or an unlabelled ``` block whose first word is a command a user runs
(`aws`, `make`, `.venv/bin/...`, `warden`, `sam`, `echo`). Commands are split as a shell splits them:
continuation lines (`\\`, a trailing `&&`) joined, comments dropped, `&&` and `;` separating commands.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from tests.conftest import ROOT

FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<body>.*?)^```\s*$", re.S | re.M)
PROGRAMS = ("aws", "make", "warden", "sam", "echo")


@dataclass(frozen=True)
class Block:
    line: int  # of the block's first line of content, 1-based
    lang: str
    body: str
    marker: str | None  # `<!-- config... -->` right before the fence, if any


@dataclass(frozen=True)
class Command:
    line: int
    argv: tuple[str, ...]
    redirect: str | None = None  # `> FILE`

    @property
    def program(self) -> str:
        return self.argv[0].rpartition("/")[2] if self.argv else ""

    def __str__(self) -> str:
        return f"README.md:{self.line}: {shlex.join(self.argv)}" + (f" > {self.redirect}" if self.redirect else "")

    def option(self, name: str) -> list[str]:
        """The values after `--name` (up to the next option)."""
        values, taking = [], False
        for token in self.argv:
            if token.startswith("--"):
                taking = token == name
                continue
            if taking:
                values.append(token)
        return values

    def flags(self) -> list[str]:
        return [token for token in self.argv if token.startswith("--")]


def readme_text() -> str:
    return (ROOT / "README.md").read_text()


def blocks(text: str | None = None) -> list[Block]:
    text = readme_text() if text is None else text
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rpartition("\n")[2].strip()
        marker = before if before.startswith("<!-- config") else None
        found.append(Block(text.count("\n", 0, match.start("body")) + 1, match.group("lang"), match.group("body"),
                           marker))
    return found


def is_shell(block: Block) -> bool:
    if block.lang in ("sh", "bash", "shell"):
        return True
    if block.lang:
        return False
    first = block.body.strip().split(None, 1)[0] if block.body.strip() else ""
    return first.rpartition("/")[2] in PROGRAMS and not first.startswith("$")


def commands(text: str | None = None) -> list[Command]:
    """Every command of every shell block, in README order."""
    return [command for block in blocks(text) if is_shell(block) for command in commands_of(block)]


def commands_of(block: Block) -> list[Command]:
    found = []
    logical: list[tuple[int, str]] = []
    pending, start = "", block.line
    for offset, raw in enumerate(block.body.splitlines()):
        line = raw.rstrip()
        if not pending:
            start = block.line + offset
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        if line.endswith("&&"):
            pending += line + " "
            continue
        logical.append((start, pending + line))
        pending = ""
    for line, source in logical:
        tokens = shlex.split(source, comments=True)
        current: list[str] = []
        for token in [*tokens, "&&"]:
            if token in ("&&", ";"):
                if current:
                    redirect = None
                    if ">" in current:
                        at = current.index(">")
                        redirect, current = current[at + 1], current[:at]
                    found.append(Command(line, tuple(current), redirect))
                current = []
            else:
                current.append(token)
    return found
