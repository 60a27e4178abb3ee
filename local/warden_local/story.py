"""Words for a replay: what each input is, who it names, and short forms of AWS principals.

Pure functions over inputs and replay documents (no world, no AWS): `warden replay` stores `what` on each
step from `describe`, and the timeline, the channel views and the ledger tables print `short_principal`.
Anything unrecognised still gets a description (its kind, from its keys), so a new kind of input in a
scenario prints as something, never as a crash.
"""

from __future__ import annotations

import re
from typing import Any

# arn:aws:sts::111122223333:assumed-role/release-approver/maria.garcia -> release-approver/maria.garcia;
# arn:aws:iam::111122223333:user/jdoe -> user/jdoe; arn:aws:iam::…:role/path/name -> role/name.
_ASSUMED = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[^/]+)/(?P<session>.+)$")
_IAM = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::\d{12}:(?P<kind>user|role)/(?:.*/)?(?P<name>[^/]+)$")
_FEDERATED = re.compile(r"^arn:aws[a-z-]*:sts::\d{12}:federated-user/(?P<name>.+)$")
# A person who decided from chat, as the ledger says it (warden.ledger.view.person_text).
_CHAT_PERSON = re.compile(r"^(?P<name>.+?) <[^<>]*> \(Slack (?P<id>[^()\s]+)\)( in #\S+)?$")


def short_principal(value: Any) -> str:
    """An AWS principal as a person reads it: role/session for an assumed role (an Identity Center role by its
    permission set, an e-mail session by its name before the @), user/name for a user, a person who decided
    from chat by name and Slack id; anything else (a name already, `unknown`) unchanged. The full ARN (the
    person's e-mail and channel) stays in `--json` output."""
    text = "" if value is None else str(value)
    if m := _CHAT_PERSON.match(text):
        return f"{m['name']} (Slack {m['id']})"
    if m := _ASSUMED.match(text):
        return f"{_sso(m['role'])}/{m['session'].partition('@')[0] or m['session']}"
    if m := _IAM.match(text):
        return f"{m['kind']}/{m['name']}"
    if m := _FEDERATED.match(text):
        return f"federated/{m['name']}"
    return text


def _sso(role: str) -> str:
    """IAM Identity Center's role names as their permission set: AWSReservedSSO_ReleaseApprovers_0f1e… ->
    ReleaseApprovers."""
    m = re.fullmatch(r"AWSReservedSSO_(?P<set>.+)_[0-9a-f]{16}", role)
    return m["set"] if m else role


_DETAIL_TYPES = {
    "CodePipeline Pipeline Execution State Change": "pipeline",
    "CodePipeline Stage Execution State Change": "stage",
    "CodePipeline Action Execution State Change": "action",
}


def describe(event: Any, home: str | None = None) -> str:
    """One line naming an input by its kind and what it is about (not by where it sits in a file); an event of
    another account than `home` (the tools account) says which."""
    if not isinstance(event, dict):
        return f"a JSON {type(event).__name__}"
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    detail_type = str(event.get("detail-type", ""))
    if detail_type in _DETAIL_TYPES:
        where = "/".join(str(detail[k]) for k in ("pipeline", "stage", "action") if detail.get(k))
        return f"CodePipeline {_DETAIL_TYPES[detail_type]} {where} {detail.get('state', '?')}{_account(event, home)}"
    if detail_type == "CodeDeploy Deployment State-change Notification":
        group = "/".join(str(detail[k]) for k in ("application", "deploymentGroup") if detail.get(k))
        return f"CodeDeploy deployment {group} {detail.get('state', '?')}{_account(event, home)}"
    if detail_type == "CloudWatch Alarm State Change":
        state = (detail.get("state") or {}).get("value", "?") if isinstance(detail.get("state"), dict) else "?"
        return f"alarm {detail.get('alarmName', '?')} goes {state}{_account(event, home)}"
    if detail_type == "AWS API Call via CloudTrail":
        who = short_principal((detail.get("userIdentity") or {}).get("arn")) \
            if isinstance(detail.get("userIdentity"), dict) else ""
        target = _cloudtrail_target(detail.get("requestParameters"))
        return (f"CloudTrail: {who or 'someone'} called {detail.get('eventSource', '?').split('.')[0]}:"
                f"{detail.get('eventName', '?')}{' on ' + target if target else ''}{_account(event, home)}")
    if detail_type == "Scheduled Event":
        return "schedule"
    if detail_type:
        return f"{event.get('source', '?')} {detail_type}{_account(event, home)}"
    if isinstance(event.get("approval"), dict):
        a = event["approval"]
        return f"approval request for {a.get('pipelineName', '?')}/{a.get('stageName', '?')}/{a.get('actionName', '?')}"
    if "AlarmName" in event and "NewStateValue" in event:
        return f"alarm message: {event['AlarmName']} goes {event['NewStateValue']}"
    if "DeploymentId" in event and "LifecycleEventHookExecutionId" in event:
        return f"CodeDeploy lifecycle hook for deployment {event['DeploymentId']}"
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict) and records[0].get("Sns"):
        topic = str(records[0]["Sns"].get("TopicArn", "?")).rpartition(":")[2]
        return f"SNS message on {topic}"
    return "an input with keys " + ", ".join(sorted(map(str, event))[:5])


def _account(event: dict[str, Any], home: str | None) -> str:
    account = event.get("account")
    return f" (account {account})" if home and isinstance(account, str) and account != home else ""


def _cloudtrail_target(params: Any) -> str:
    if not isinstance(params, dict):
        return ""
    if isinstance(params.get("bucketName"), str):
        return params["bucketName"]
    pipeline = params.get("pipeline")
    if isinstance(pipeline, dict) and isinstance(pipeline.get("name"), str):
        return pipeline["name"]
    return str(params.get("name", "")) if isinstance(params.get("name"), str) else ""


def short_ids(ids: Any, length: int = 8) -> dict[str, str]:
    """Each id by its first `length` characters, or, where another id of the same set starts alike, those
    characters, an ellipsis and the shortest distinct ending (3c59dc04…0a02): short and still unambiguous."""
    unique = sorted({str(i) for i in ids if i})
    out: dict[str, str] = {}
    for value in unique:
        alike = [o for o in unique if o != value and o[:length] == value[:length]]
        if not alike or len(value) <= length:
            out[value] = value[:length]
            continue
        tail = 4
        while tail < len(value) and any(o.endswith(value[-tail:]) for o in alike):
            tail += 1
        out[value] = f"{value[:length]}…{value[-tail:]}"
    return out
