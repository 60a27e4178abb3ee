"""README.md followed as a user follows it, top to bottom: every shell command is run or checked, every
configuration example is saved under its natural file name, and what the commands name must exist.

`follow(text)` returns the problems, one line each (`README.md:LINE: command: what is wrong`); none means
every step works. Per command:

- `make TARGET [VAR=VALUE]`: the target exists in the Makefile; `ENV=` names a samconfig.toml environment.
  A target whose prerequisites build `.venv` (or `.venv-sam`) makes the commands that use it possible.
- `echo '...' > FILE`: writes FILE in the reader's directory (a temporary one).
- `.venv/bin/warden config validate ...`: run, in that directory; it must succeed. Other `warden` commands
  are checked against the CLI's parser (subcommands, options; files they name must exist); a synopsis line
  (`[--json]`, `FILE...`, `REF`) only for its subcommand and options.
- `aws ssm put-parameter`: the name is `<ConfigPrefix>/<kind>` for a ConfigPrefix that a samconfig.toml
  environment deploys, `--overwrite` is given (the first screen's documents are replaced later, and a rerun
  must work), and the value, stored in the embedded world's SSM, is read by the functions' configuration
  store as written (no defaults, no last valid version in its place).
- `aws cloudformation create-stack-set`: the template file exists (its parameters are checked by
  tests/integration/template/test_workload_template.py).
- `NAME() { aws cloudformation describe-stacks --stack-name STACK ... }` (a shell helper reading the tools
  stack's outputs): STACK is a stack that a samconfig.toml environment deploys.
- `aws sns subscribe`: `<Output>` placeholders are outputs of template.yaml; a FilterPolicy filters on
  message attributes Warden sets, with values Warden sends.
- any other `aws SERVICE OPERATION`: the operation exists in botocore's model of the service, and every
  option is one of its parameters or one of the AWS CLI's own.
- `.venv-sam/bin/sam deploy`: options sam has, `--config-env` a samconfig.toml environment,
  `--parameter-overrides` names template.yaml parameters.

Anything else is a problem too ("no check for it"), so a new kind of step cannot slip past unchecked.
A configuration example (```json after `<!-- config: KIND -->`) is saved as KIND.json, as the README asks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.readme import Block, Command, blocks, commands_of, is_shell

DOCUMENTS = ("approvers", "artifacts", "escalation", "ledger", "rollback", "routing")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_]*(\.\.\.)?$|\[|\]|\.\.\.$")
# Message attributes Warden sets on every SNS message (warden.notify.render.attributes).
ATTRIBUTES = {"severity", "event", "pipeline", "account", "stage"}
SEVERITIES = {"critical", "high", "warning", "info"}
# `sam deploy` options (SAM CLI 1.170 `sam deploy --help`) a README may use.
SAM_DEPLOY_OPTIONS = {"--guided", "--config-env", "--config-file", "--parameter-overrides", "--stack-name",
                      "--region", "--profile", "--capabilities", "--no-confirm-changeset", "--confirm-changeset",
                      "--resolve-s3", "--s3-bucket", "--tags", "--template-file", "--no-execute-changeset"}


# The AWS CLI's own options, which any `aws` command may take besides its operation's parameters.
AWS_CLI_OPTIONS = {"query", "output", "region", "profile", "no-cli-pager", "cli-input-json", "debug",
                   "endpoint-url", "no-paginate"}


def makefile_rules() -> dict[str, list[str]]:
    """target -> prerequisites, of every rule of the Makefile (variables as written: `$(VENV)/.installed`)."""
    rules: dict[str, list[str]] = {}
    for line in (ROOT / "Makefile").read_text().splitlines():
        match = re.match(r"^([^\s#:=][^:=]*?):(?!=)(.*)$", line)
        if match and not line.startswith("\t"):
            for target in match.group(1).split():
                rules[target] = match.group(2).replace("|", " ").split()
    return rules


def builds(target: str, rules: dict[str, list[str]], wanted: str) -> bool:
    seen, todo = set(), [target]
    while todo:
        name = todo.pop()
        if name == wanted:
            return True
        if name not in seen:
            seen.add(name)
            todo += rules.get(name, [])
    return False


def samconfig_environments() -> dict[str, dict[str, str]]:
    """environment -> its deploy parameters with `parameter_overrides` split (only environments that deploy)."""
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    found = {}
    for env, sections in config.items():
        if isinstance(sections, dict) and "parameters" in sections.get("deploy", {}):
            params = dict(sections["deploy"]["parameters"])
            overrides = dict(pair.split("=", 1) for pair in shlex.split(params.get("parameter_overrides", "")))
            found[env] = params | {"overrides": overrides}
    return found


def template_parameters() -> set[str]:
    from warden_local.template import Template

    return set(Template(ROOT / "template.yaml").parameters)


def template_outputs() -> set[str]:
    from warden_local.template import Template

    return set(Template(ROOT / "template.yaml").doc.get("Outputs", {}))


class Reader:
    """One reader of the README: a directory of their own, what they built so far, an AWS account (embedded)."""

    def __init__(self, workdir: Path, world: Any) -> None:
        self.workdir = workdir
        self.world = world
        self.rules = makefile_rules()
        self.environments = samconfig_environments()
        self.built: set[str] = set()  # ".venv", ".venv-sam"
        self.problems: list[str] = []

    def problem(self, command: Command | str, what: str) -> None:
        self.problems.append(f"{command}: {what}")

    # -- blocks ---------------------------------------------------------------------------------------
    def read(self, block: Block) -> None:
        if block.marker and block.lang == "json":
            kind = re.search(r"config:\s*(\w+)", block.marker)
            if kind:
                (self.workdir / f"{kind.group(1)}.json").write_text(block.body)
            return
        if is_shell(block):
            for command in commands_of(block):
                self.run(command)

    def run(self, command: Command) -> None:
        program, argv = command.program, command.argv
        if program == "make":
            self.make(command)
        elif program == "echo":
            if not command.redirect:
                self.problem(command, "echo without `> FILE` does nothing a later step can use")
            else:
                (self.workdir / command.redirect).write_text(" ".join(argv[1:]) + "\n")
        elif program == "warden":
            self.warden(command)
        elif program == "sam":
            self.sam(command)
        elif argv[:3] == ("aws", "ssm", "put-parameter"):
            self.put_parameter(command)
        elif argv[0].endswith("()") and "describe-stacks" in argv:
            stacks = {env.get("stack_name") for env in self.environments.values()}
            if command.option("--stack-name")[:1] and command.option("--stack-name")[0] not in stacks:
                self.problem(command, f"{command.option('--stack-name')[0]}: no samconfig.toml environment "
                                      "deploys this stack")
        elif argv[:2] == ("aws", "cloudformation"):
            for value in command.option("--template-body"):
                if not (ROOT / value.removeprefix("file://")).is_file():
                    self.problem(command, f"{value}: no such file in the repository")
        elif argv[:3] == ("aws", "sns", "subscribe"):
            self.subscribe(command)
        elif argv[:1] == ("aws",) and len(argv) > 2:
            self.aws_call(command)
        else:
            self.problem(command, "no check for this command: teach tests/readme_steps.py what it must satisfy")

    # -- commands -------------------------------------------------------------------------------------
    def make(self, command: Command) -> None:
        for arg in command.argv[1:]:
            if "=" in arg:
                name, _, value = arg.partition("=")
                if name == "ENV" and value not in self.environments:
                    self.problem(command, f"ENV={value}: samconfig.toml has no such environment "
                                          f"({', '.join(sorted(self.environments))})")
                continue
            if arg not in self.rules:
                self.problem(command, f"no target {arg!r} in the Makefile")
                continue
            if builds(arg, self.rules, "$(VENV)/.installed"):
                self.built.add(".venv")
            if builds(arg, self.rules, "$(SAM_VENV)/.installed"):
                self.built.add(".venv-sam")

    def needs(self, command: Command, venv: str) -> bool:
        if not command.argv[0].startswith(f"{venv}/bin/"):
            self.problem(command, f"`{command.program}` is not on PATH on a fresh clone: run {venv}/bin/"
                                  f"{command.program}")
            return False
        if venv not in self.built:
            self.problem(command, f"{venv} does not exist yet: no earlier step runs a make target that builds it "
                                  "(make venv)")
            return False
        return True

    def warden(self, command: Command) -> None:
        if not self.needs(command, ".venv"):
            return
        from warden_local.cli import _parser

        args = list(command.argv[1:])
        synopsis = any(PLACEHOLDER.search(a) for a in args)
        parser, path = _parser(), []
        while args and not args[0].startswith("-"):
            sub = _subparsers(parser)
            if not sub or args[0] not in sub:
                break
            parser = sub[args.pop(0)]
            path.append(parser)
        options = set(parser._option_string_actions)
        for arg in args:
            flag = arg.strip("[]").split("=", 1)[0]
            if flag.startswith("--") and flag not in options:
                self.problem(command, f"{flag}: no such option of `warden {' '.join(command.argv[1:3])}`")
        if synopsis or not path:
            return
        if command.argv[1:3] == ("config", "validate"):
            from warden_local.cli import main

            with _cwd(self.workdir), _captured() as err:
                status = main(list(command.argv[1:]))
            if status != 0:
                self.problem(command, f"exit status {status}: {err.getvalue().strip()}")
            return
        for arg in args:
            if arg.endswith(".json") and not (ROOT / arg).is_file() and not (self.workdir / arg).is_file():
                self.problem(command, f"{arg}: no such file")

    def sam(self, command: Command) -> None:
        if not self.needs(command, ".venv-sam"):
            return
        if command.argv[1:2] != ("deploy",):
            self.problem(command, "no check for this sam command")
            return
        for flag in command.flags():
            if flag not in SAM_DEPLOY_OPTIONS:
                self.problem(command, f"{flag}: not a `sam deploy` option")
        for env in command.option("--config-env"):
            if env not in self.environments:
                self.problem(command, f"--config-env {env}: samconfig.toml has no such environment")
        for pair in command.option("--parameter-overrides"):
            name = pair.split("=", 1)[0].removeprefix("ParameterKey=").split(",")[0]
            if name not in template_parameters():
                self.problem(command, f"{name}: not a parameter of template.yaml")

    def put_parameter(self, command: Command) -> None:
        [name] = command.option("--name") or [""]
        prefix, _, kind = name.rpartition("/")
        prefixes = {env: p["overrides"].get("ConfigPrefix") for env, p in self.environments.items()}
        if kind not in DOCUMENTS or prefix not in prefixes.values():
            self.problem(command, f"--name {name}: not <ConfigPrefix>/<kind> of a samconfig.toml environment "
                                  f"({', '.join(f'{e}: {p}' for e, p in sorted(prefixes.items()))}); no stack "
                                  "reads it")
            return
        if "--overwrite" not in command.argv:
            self.problem(command, "no --overwrite: it fails where the parameter exists (a rerun, a document put "
                                  "earlier in this README)")
        if command.option("--type") != ["String"]:
            self.problem(command, "--type String: the functions read the documents as plain strings")
        [value] = command.option("--value") or [""]
        if value.startswith("file://"):
            path = self.workdir / value.removeprefix("file://")
            if not path.is_file():
                self.problem(command, f"{value}: no earlier step of the README writes {path.name}")
                return
            value = path.read_text()
        from warden.runtime.documents import ConfigStore, InvalidConfig

        ssm = self.world.client("ssm")
        ssm.put_parameter(Name=name, Type="String", Value=value, Overwrite=True)
        heard = []
        store = ConfigStore(ssm, prefix, max_age=0, on_invalid=heard.append)
        with contextlib.suppress(InvalidConfig):
            store.require(kind)
        if heard:
            self.problem(command, f"the functions would not read it: {heard[0].error}")

    def aws_call(self, command: Command) -> None:
        """Any other `aws SERVICE OPERATION --option ...`: the operation exists in botocore's model of the
        service, and every option is one of its parameters (kebab-case, `--no-` for a boolean false) or one
        of the CLI's own (--query, --output, --region, ...), so a README command cannot name a call or an
        option AWS does not have."""
        import botocore.session
        from botocore import xform_name

        service, operation = command.argv[1], command.argv[2]
        try:
            model = botocore.session.get_session().get_service_model(service)
        except Exception:  # noqa: BLE001 (an unknown service is the README's problem, said as one)
            self.problem(command, f"no AWS service {service!r}")
            return
        names = {xform_name(op, "-"): op for op in model.operation_names}
        if operation not in names:
            self.problem(command, f"{service} has no operation {operation!r}")
            return
        shape = model.operation_model(names[operation]).input_shape
        params = {xform_name(p, "-") for p in (shape.members if shape else {})}
        for flag in command.flags():
            name = flag[2:]
            if name in AWS_CLI_OPTIONS or name in params or name.removeprefix("no-") in params:
                continue
            self.problem(command, f"{flag}: not an option of aws {service} {operation}")

    def subscribe(self, command: Command) -> None:
        for arn in command.option("--topic-arn"):
            output = arn.strip("<>")
            if arn.startswith("<") and output not in template_outputs():
                self.problem(command, f"{arn}: template.yaml has no output {output}")
        for attributes in command.option("--attributes"):
            policy = json.loads(json.loads(attributes).get("FilterPolicy", "{}"))
            for key, values in policy.items():
                if key not in ATTRIBUTES:
                    self.problem(command, f"FilterPolicy on {key!r}: Warden sets no such message attribute "
                                          f"({', '.join(sorted(ATTRIBUTES))})")
                if key == "severity" and not set(v for v in values if isinstance(v, str)) <= SEVERITIES:
                    self.problem(command, f"FilterPolicy severity {values}: Warden sends {sorted(SEVERITIES)}")


def _subparsers(parser: Any) -> dict[str, Any]:
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return action.choices
    return {}


@contextlib.contextmanager
def _cwd(path: Path):
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _captured():
    import io
    import sys

    err, before = io.StringIO(), sys.stderr
    sys.stderr = err
    try:
        yield err
    finally:
        sys.stderr = before


def follow(text: str | None = None) -> list[str]:
    """Every problem a reader following `text` (README.md by default) would meet."""
    from warden_local.world import World

    with tempfile.TemporaryDirectory() as workdir, World() as world:
        reader = Reader(Path(workdir), world)
        for block in blocks(text):
            reader.read(block)
        return reader.problems
