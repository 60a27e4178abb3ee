"""`warden`: the embedded world on the command line (README, "The embedded world and `warden`")."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_DEMO_FAILED = 1  # the bundled story did not run as it should (a dead letter, an unrouted input)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not a usage dump
        print(f"warden: {message} (see warden --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="warden", description="Pipeline Warden on an embedded AWS (no account needed).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser("demo", help="replay the bundled story and print its timeline")
    demo.add_argument("--json", action="store_true", help="print the replay document instead")
    rep = sub.add_parser("replay", help="feed events and scenarios through the routes of template.yaml")
    rep.add_argument("--json", action="store_true", help="print one JSON document (contract/replay.schema.json)")
    rep.add_argument("inputs", nargs="+", metavar="INPUT")
    config = sub.add_parser("config", help="configuration documents")
    config_sub = config.add_subparsers(dest="config_command", required=True, parser_class=_Parser)
    validate = config_sub.add_parser("validate", help="validate a configuration file offline")
    validate.add_argument("file")
    from warden_local import ledger_cli

    ledger_cli.add_parser(sub)
    from warden_local import artifacts_cli

    artifacts_cli.add_parser(sub)
    return parser


def _local_env() -> None:
    from warden_local.world import LOCAL_ENV

    for name, value in LOCAL_ENV.items():
        os.environ.setdefault(name, value)


def _print_document(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        from warden_local.timeline import render

        print(render(doc))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _local_env()
    from warden_local.replay import InputError, replay

    try:
        if args.command == "replay":
            _print_document(replay(args.inputs), args.json)
        elif args.command == "demo":
            from warden_local.demo import STORY, failures

            doc = replay([os.path.relpath(STORY)])
            _print_document(doc, args.json)
            for failure in failures(doc):
                print(f"warden: demo failed at {failure}", file=sys.stderr)
            return EXIT_DEMO_FAILED if failures(doc) else 0
        elif args.command == "config":
            return _validate(Path(args.file))
        elif args.command == "ledger":
            from warden_local import ledger_cli

            return ledger_cli.run(args)
        elif args.command == "artifacts":
            from warden_local import artifacts_cli

            return artifacts_cli.run(args)
    except InputError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 (every error is one line and exit 2, never a traceback)
        return _fail(f"{type(exc).__name__}: {exc}")
    return 0


def _fail(message: str) -> int:
    """One line on stderr, exit status 2."""
    print("warden: " + " ".join(message.split())[:1000], file=sys.stderr)
    return EXIT_BAD_INPUT


def _validate(path: Path) -> int:
    from warden.aws.config import ConfigError, parse_documents
    from warden_local.replay import read_json

    try:
        docs = parse_documents(read_json(path))  # InputError for a missing file or invalid JSON
    except ConfigError as exc:
        print(f"warden: {path}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"{path}: valid ({', '.join(sorted(docs)) or 'no documents'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
