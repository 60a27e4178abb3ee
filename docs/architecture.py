"""Draws docs/architecture.svg: event sources -> Warden's seven functions -> what they send and change.

    .venv/bin/python docs/architecture.py        # rewrites docs/architecture.svg

The functions are read from template.yaml (a test checks that the picture names every one and is up to
date); what feeds each and what each affects is listed below, beside its one-line description.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "architecture.svg"

SOURCES = {
    "pipeline": ("CodePipeline", "pipeline, stage, action state changes"),
    "deploy": ("CodeDeploy", "deployment state changes"),
    "approval": ("SNS approval topic", "manual approval actions publish here"),
    "schedule": ("Schedules", "every 5 minutes; daily"),
    "cloudtrail": ("CloudTrail via EventBridge", "pipeline and bucket configuration calls"),
    "alarm": ("CloudWatch alarms", "going into ALARM (or via SNS)"),
    "hook": ("CodeDeploy lifecycle hook", "appspec Hooks invoke it"),
}
EFFECTS = {
    "sns": ("SNS topics", "OnCall, Approvers, Team, Chat", False),
    "pagerduty": ("PagerDuty", "Events API v2, one page per incident", False),
    "ledger": ("DynamoDB LedgerTable", "executions, releases, what runs where", False),
    "state": ("DynamoDB StateTable", "incidents, approvals, claims, findings", False),
    "s3": ("S3 artifact buckets", "settings merged in (enforce mode)", True),
    "rollback": ("CodePipeline / CodeDeploy", "RollbackStage, StopDeployment", True),
    "hookstatus": ("CodeDeploy hook status", "Failed: CodeDeploy rolls back", False),
}
# function -> (one line, sources, effects)
FUNCTIONS = {
    "NotificationRouter": ("classifies events; routes messages and pages", ["pipeline", "deploy"],
                           ["sns", "pagerduty", "state"]),
    "ApprovalTracker": ("records pending approvals, tells approvers", ["approval", "pipeline"], ["sns", "state"]),
    "ApprovalEscalator": ("reminds and escalates stale approvals; slow runs", ["schedule"],
                          ["sns", "pagerduty", "state"]),
    "DeploymentTracker": ("the ledger: commit, author, approver, DORA", ["pipeline"], ["ledger"]),
    "ArtifactGuard": ("audits artifact buckets; fixes by merging", ["schedule", "cloudtrail"], ["s3", "sns", "state"]),
    "RollbackTrigger": ("rolls back what a firing alarm guards", ["alarm", "pipeline"],
                        ["rollback", "sns", "pagerduty", "state", "ledger"]),
    "DeploymentValidationHook": ("fails a deployment while its alarms fire", ["hook"], ["hookstatus"]),
    "DeploymentGate": ("stage-entry gate: freezes, overrides", ["hook"], ["sns", "state", "ledger"]),
}

WIDTH, ROW, TOP = 1200, 78, 100
COL = {"source": (20, 250), "function": (420, 330), "effect": (920, 260)}
BOX_H = 52


def template_functions() -> list[str]:
    sys.path.insert(0, str(ROOT / "local"))
    from warden_local.template import Template

    return list(Template(ROOT / "template.yaml").functions)


def _box(x: float, y: float, w: float, title: str, line: str, kind: str) -> str:
    return (f'<g class="{kind}"><rect x="{x}" y="{y}" width="{w}" height="{BOX_H}" rx="8"/>'
            f'<text x="{x + 12}" y="{y + 21}" class="title">{escape(title)}</text>'
            f'<text x="{x + 12}" y="{y + 40}" class="line">{escape(line)}</text></g>')


def _edge(x1: float, y1: float, x2: float, y2: float, kind: str) -> str:
    middle = (x1 + x2) / 2
    return (f'<path d="M{x1:.0f},{y1:.0f} C{middle:.0f},{y1:.0f} {middle:.0f},{y2:.0f} {x2 - 4:.0f},{y2:.0f}" '
            f'class="edge {kind}" marker-end="url(#arrow-{kind})"/>')


def draw(functions: list[str]) -> str:
    missing = set(functions) ^ set(FUNCTIONS)
    if missing:
        raise SystemExit(f"template.yaml and docs/architecture.py disagree on functions: {sorted(missing)}")
    functions = list(FUNCTIONS)  # this order keeps the lines apart
    rows = max(len(SOURCES), len(FUNCTIONS), len(EFFECTS))
    height = TOP + rows * ROW + 80

    def ys(items: dict) -> dict[str, float]:
        offset = (rows - len(items)) * ROW / 2
        return {key: TOP + offset + i * ROW for i, key in enumerate(items)}

    src_y, fn_y, eff_y = ys(SOURCES), ys({f: None for f in functions}), ys(EFFECTS)
    (sx, sw), (fx, fw), (ex, ew) = COL["source"], COL["function"], COL["effect"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        'role="img" aria-label="Pipeline Warden: event sources, its seven functions, and what they send and change">',
        "<title>Pipeline Warden: event sources, its seven functions, and what they send and change</title>",
        "<style>"
        "text{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;fill:#1f2328}"
        ".title{font-size:14px;font-weight:600}.line{font-size:11.5px;fill:#57606a}"
        ".head{font-size:13px;font-weight:600;fill:#57606a;letter-spacing:.04em}"
        ".source rect{fill:#f6f8fa;stroke:#afb8c1}.function rect{fill:#ddf4ff;stroke:#54aeff}"
        ".effect rect{fill:#f6f8fa;stroke:#afb8c1}.change rect{fill:#fff1e5;stroke:#fb8f44}"
        ".edge{fill:none;stroke-width:1.4}.edge.in{stroke:#8c959f}.edge.out{stroke:#0969da;opacity:.55}"
        ".edge.changes{stroke:#e16f24;stroke-width:2}.legend{font-size:12px;fill:#57606a}"
        "</style>",
        "<defs>" + "".join(
            f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for k, c in (("in", "#8c959f"), ("out", "#0969da"), ("changes", "#e16f24"))) + "</defs>",
        f'<text x="{sx}" y="{TOP - 40}" class="head">EVENTS</text>',
        f'<text x="{sx}" y="{TOP - 20}" class="line">this account\'s, and those workload accounts forward</text>',
        f'<text x="{fx}" y="{TOP - 40}" class="head">WARDEN FUNCTIONS</text>',
        f'<text x="{fx}" y="{TOP - 20}" class="line">Lambda, one per concern, wired in template.yaml</text>',
        f'<text x="{ex}" y="{TOP - 40}" class="head">SENDS AND CHANGES</text>',
        f'<text x="{ex}" y="{TOP - 20}" class="line">orange: changes resources outside Warden</text>',
    ]
    for fn in functions:
        _, sources, effects = FUNCTIONS[fn]
        for source in sources:
            parts.append(_edge(sx + sw, src_y[source] + BOX_H / 2, fx, fn_y[fn] + BOX_H / 2, "in"))
        for effect in effects:
            kind = "changes" if EFFECTS[effect][2] else "out"
            parts.append(_edge(fx + fw, fn_y[fn] + BOX_H / 2, ex, eff_y[effect] + BOX_H / 2, kind))
    parts += [_box(sx, src_y[k], sw, *SOURCES[k], "source") for k in SOURCES]
    parts += [_box(fx, fn_y[fn], fw, fn, FUNCTIONS[fn][0], "function") for fn in functions]
    parts += [_box(ex, eff_y[k], ew, title, line, "change" if changes else "effect")
              for k, (title, line, changes) in EFFECTS.items()]
    legend_y = height - 48
    parts += [
        f'<path d="M{sx},{legend_y} h36" class="edge changes"/>',
        f'<text x="{sx + 44}" y="{legend_y + 4}" class="legend">changes your resources; none with artifacts mode '
        '"audit" and rollback mode "dry_run", which report what they would have done</text>',
        f'<path d="M{sx},{legend_y + 22} h36" class="edge out"/>',
        f'<text x="{sx + 44}" y="{legend_y + 26}" class="legend">messages, pages, Warden\'s own tables, and the '
        'hook\'s verdict CodeDeploy asked for</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    OUT.write_text(draw(template_functions()))
    print(f"wrote {OUT.relative_to(ROOT)}")
