"""`warden`: the embedded world on the command line (README, "The embedded world and `warden`")."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_DEMO_FAILED = 1  # the bundled story did not run as it should (a dead letter, an unrouted input)
# The kinds of configuration documents (warden.runtime.documents.DOCUMENTS), without importing the layer here.
DOCUMENTS = ("approvers", "artifacts", "escalation", "freeze", "ledger", "rollback", "routing")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one clear line, not a usage dump
        print(f"warden: {message} (see warden --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="warden", description="Pipeline Warden on an embedded AWS (no account needed).")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    demo = sub.add_parser("demo", help="replay the bundled story and print its timeline")
    demo.add_argument("--json", action="store_true", help="print the replay document instead")
    demo.add_argument("--verbose", action="store_true",
                      help="also show Warden's own bookkeeping (state and idempotency writes, mid-run ledger updates)")
    demo.add_argument("--show", choices=("slack", "email", "pagerduty"),
                      help="print what that channel receives instead of the timeline (every step, or --step N)")
    demo.add_argument("--step", type=int, metavar="N", help="with --show: only step N of the timeline")
    rep = sub.add_parser("replay", help="feed events and scenarios through the routes of template.yaml")
    rep.add_argument("--json", action="store_true", help="print one JSON document (contract/replay.schema.json)")
    rep.add_argument("--verbose", action="store_true", help="also show Warden's own bookkeeping writes")
    rep.add_argument("inputs", nargs="+", metavar="INPUT")
    config = sub.add_parser("config", help="configuration documents")
    config_sub = config.add_subparsers(dest="config_command", required=True, parser_class=_Parser)
    validate = config_sub.add_parser(
        "validate", help="validate configuration documents offline, as the functions parse them: each FILE is "
                         "the value of one SSM parameter, or `aws ssm get-parameter` output")
    validate.add_argument("files", nargs="+", metavar="FILE")
    validate.add_argument("--name", metavar="PARAMETER",
                          help="the SSM parameter the value is stored as, <ConfigPrefix>/<kind> (for example "
                               "/pipeline-warden/prod/routing)")
    validate.add_argument("--kind", choices=sorted(DOCUMENTS),
                          help="which document the value is (default: from --name, from the file's name, e.g. "
                               "routing.json, or the only kind its keys fit)")
    from warden_local import ledger_cli

    ledger_cli.add_parser(sub)
    from warden_local import artifacts_cli

    artifacts_cli.add_parser(sub)
    from warden_local import freeze_cli

    freeze_cli.add_parser(sub)
    return parser


@contextlib.contextmanager
def _local_env(args: argparse.Namespace) -> Iterator[None]:
    """The embedded world's region and dummy credentials, for the commands that run in it, and only while
    they run (a caller in the same process, a test, keeps its own environment). `--stack` reads a real
    account: there the caller's own credential chain and region apply, untouched (a `testing` key or session
    token set here would take precedence over their profile, or be sent beside their real keys)."""
    if getattr(args, "stack", None):
        yield
        return
    from warden_local.world import LOCAL_ENV, environment

    with environment(LOCAL_ENV, keep_set=True):
        yield


def _print_document(doc: dict[str, Any], as_json: bool, verbose: bool = False) -> None:
    if as_json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        from warden_local.timeline import render

        print(render(doc, verbose=verbose))


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    with _local_env(args):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from warden_local.replay import InputError, replay

    try:
        if args.command == "replay":
            _print_document(replay(args.inputs), args.json, args.verbose)
        elif args.command == "demo":
            from warden_local.demo import STORY, failures

            if args.step is not None and not args.show:
                return _fail("--step N goes with --show slack|email|pagerduty")
            doc = replay([os.path.relpath(STORY)])
            if args.show:
                from warden_local.channels import StepError, show

                try:
                    print(show(doc, args.show, args.step))
                except StepError as exc:
                    return _fail(str(exc))
            else:
                _print_document(doc, args.json, args.verbose)
            for failure in failures(doc):
                print(f"warden: demo failed at {failure}", file=sys.stderr)
            return EXIT_DEMO_FAILED if failures(doc) else 0
        elif args.command == "config":
            return _validate([Path(f) for f in args.files], args.kind, args.name)
        elif args.command == "ledger":
            from warden_local import ledger_cli

            return ledger_cli.run(args)
        elif args.command == "artifacts":
            from warden_local import artifacts_cli

            return artifacts_cli.run(args)
        elif args.command == "freeze":
            from warden_local import freeze_cli

            return freeze_cli.run(args)
    except InputError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 (every error is one line and exit 2, never a traceback)
        return _fail(f"{type(exc).__name__}: {exc}")
    return 0


def _fail(message: str) -> int:
    """One line on stderr, exit status 2."""
    print("warden: " + " ".join(message.split())[:1000], file=sys.stderr)
    return EXIT_BAD_INPUT


def _validate(paths: list[Path], kind: str | None, name: str | None = None) -> int:
    """Every error of every file, one line each on stderr (`warden: FILE: where: what`); exit 2 if any. Each
    file is parsed exactly as the functions parse the parameter's value (warden.runtime.documents.parse_value)."""
    from warden.runtime.documents import ConfigError, parse_value
    from warden_local.replay import InputError, read_json

    failed = False
    for path in paths:
        try:
            data = read_json(path)  # InputError for a missing file or invalid JSON
            doc_kind, parameter, raw = _one_document(path, data, kind, name)
            try:
                parse_value(doc_kind, raw)
            except ConfigError as exc:
                raise ConfigError(exc.args[0], [*exc.problems, *_wrapped_hint(doc_kind, raw)]) from None
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                print(f"warden: {path}: {' '.join(problem.split())}", file=sys.stderr)
            continue
        except InputError as exc:  # the message names the file already
            failed = True
            print(f"warden: {' '.join(str(exc).split())}", file=sys.stderr)
            continue
        print(f"{path}: valid ({doc_kind}{', ' + parameter if parameter else ''})")
    return EXIT_BAD_INPUT if failed else 0


def _kind_of_parameter(name: str) -> str:
    """`routing` of `/pipeline-warden/prod/routing`: the parameter must be `<ConfigPrefix>/<kind>`."""
    import re

    from warden.runtime.documents import ConfigError

    prefix, _, kind = name.rpartition("/")
    if kind not in DOCUMENTS or not re.fullmatch(r"(/[A-Za-z0-9_.-]+)+", prefix):
        raise ConfigError(f"parameter {name}: not a configuration document (<ConfigPrefix>/{{{','.join(DOCUMENTS)}}})")
    return kind


def _one_document(path: Path, data: Any, kind: str | None, name: str | None) -> tuple[str, str | None, str]:
    """(kind, parameter name if known, the value as stored) of one file: the value of one SSM parameter, or the
    output of `aws ssm get-parameter` (or `get-parameters-by-path` that found exactly one). Anything that holds
    several documents is refused: each is validated as its own parameter."""
    from warden.runtime.documents import ConfigError, is_bundle, kinds_fitting

    if isinstance(data, dict) and ("Parameter" in data or "Parameters" in data):
        found = data.get("Parameters") if "Parameters" in data else [data.get("Parameter")]
        if not isinstance(found, list) or len(found) != 1:
            names = [p.get("Name") for p in found if isinstance(p, dict)] if isinstance(found, list) else []
            raise ConfigError(f"{len(names)} parameters ({', '.join(map(str, names)) or 'none'}): validate one "
                              "document at a time (aws ssm get-parameter --name <ConfigPrefix>/<kind>, or each "
                              "value saved as <kind>.json)")
        [parameter] = found
        if not (isinstance(parameter, dict) and isinstance(parameter.get("Name"), str)
                and isinstance(parameter.get("Value"), str)):
            raise ConfigError("a Parameter without a Name and a string Value")
        stored_kind = _kind_of_parameter(parameter["Name"])
        for given in (kind, name and _kind_of_parameter(name)):
            if given and given != stored_kind:
                raise ConfigError(f"parameter {parameter['Name']} holds the {stored_kind} document, not {given}")
        return stored_kind, parameter["Name"], parameter["Value"]
    raw = path.read_text()
    named = _kind_of_parameter(name) if name else None
    if kind and named and kind != named:
        raise ConfigError(f"--kind {kind} but parameter {name} holds the {named} document")
    kind = kind or named or (path.stem if path.stem in DOCUMENTS else None)
    if kind is None:
        if is_bundle(data):
            raise ConfigError(
                f"it holds documents keyed by kind ({', '.join(data)}), as a scenario's \"config\" does; an SSM "
                "parameter holds one document itself: save the value under each key as <kind>.json")
        fitting = kinds_fitting(data)
        if len(fitting) != 1:
            raise ConfigError(
                "cannot tell which document this is "
                + (f"(it fits {', '.join(fitting)}): " if fitting else "(its keys fit none): ")
                + f"name the file after its parameter ({'.json, '.join(DOCUMENTS)}.json), or use --name or --kind")
        kind = fitting[0]
    return kind, name, raw


def _wrapped_hint(kind: str, raw: str) -> list[str]:
    """A value wrapped as {"<kind>": {...}} fails as it would in SSM; say what to store instead."""
    try:
        data = json.loads(raw)
    except ValueError:
        return []
    if isinstance(data, dict) and list(data) == [kind]:
        return [f"{kind}: the value is wrapped in {{\"{kind}\": ...}}, as in a scenario's \"config\"; the parameter "
                f"holds the document itself: store the value of \"{kind}\""]
    return []


if __name__ == "__main__":
    sys.exit(main())
