"""ApprovalGateway's domain: Slack's interactivity requests -> one PutApprovalResult, by a verified person.

Order of checks, each refusing with a reason that is logged, counted and told to the person (never with a
call to CodePipeline): the request's signature and age (warden.approvals.signing) on the raw body, before
anything is parsed; a replay of an accepted request (chat_store.SeenRequests); then, for a click, the
approval Warden recorded: unknown, already decided, expired, no longer pending in CodePipeline (superseded
by a newer execution, decided in the console, another token); then the person: Slack must know them
(users.info), the approvers policy must allow them (no policy: nobody), and they must not be the
execution's starter or commit author unless the policy says so (matched by e-mail, case-insensitively:
the ledger's `author_email`, and the IAM session name of a manual start, which is what SSO sessions carry).

A click on Approve or Reject (`block_actions`) only opens a confirmation modal (Reject asks for a reason): a
stray tap decides nothing. The modal's submission (`view_submission`) decides: the person's approval is
added to the approval once (a double click is one vote); when the policy's `required` approvals are there
(or at once, for a rejection) the decision is claimed with a conditional write, and only its claimant calls
PutApprovalResult (two people at once, two clicks, a retried request: one call). The claimant marks it
done after the call; a retry of the same person's request before that finds the call made (CodePipeline's
ApprovalAlreadyCompleted with this summary) and finishes the rest: the ledger's person
(warden.ledger.approvers) and the message updated in place for everyone (chat.update).

The approval token is read from the state table and goes to CodePipeline only: it is never in a Slack
message, a modal, a log line, a result or a dead letter (the gateway dead-letters nothing of a request's body).
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from warden.approvals.chat_store import ChatDecisions, SeenRequests, votes
from warden.approvals.policy import ApproverRule, ApproversConfig
from warden.approvals.signing import Refused, verify
from warden.approvals.slack import SlackApi, SlackError
from warden.approvals.store import PENDING_STATUS, expires_of, key_of
from warden.aws.codepipeline import CodePipelineGateway, Unknown
from warden.core import links
from warden.core.clock import iso, now
from warden.core.log import logger
from warden.core.text import LIMITS, clean
from warden.ledger.approvers import ChatApprovers

CALLBACK = "warden-approval"
DECISIONS = {"approve": "Approved", "reject": "Rejected"}
VERBS = {"approve": "Approved", "reject": "Rejected"}
MAX_BODY = 64 * 1024  # Slack's interactivity payloads are a few KiB


@dataclass(frozen=True)
class HttpRequest:
    """A Lambda function URL request (payload format 2.0): what the gateway reads of it."""

    method: str
    headers: dict[str, str]
    body: bytes
    request_id: str = ""

    @classmethod
    def of(cls, event: Any) -> HttpRequest:
        event = event if isinstance(event, dict) else {}
        http = (event.get("requestContext") or {}).get("http") or {}
        raw = event.get("body") or ""
        try:
            body = base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode()
        except (ValueError, TypeError):
            body = b""
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        return cls(str(http.get("method") or "POST"), headers, body,
                   str((event.get("requestContext") or {}).get("requestId") or ""))

    def redacted(self) -> dict[str, Any]:
        """What may be logged or dead-lettered of a request: never its body (Slack's payloads carry the
        deprecated verification token) nor its signature."""
        return {"request_id": self.request_id, "method": self.method, "bytes": len(self.body)}


@dataclass
class Outcome:
    """One request's result: `status` (opened, voted, decided, refused, ignored), `code` for a refusal's
    metric, and the HTTP answer for Slack."""

    status: str
    code: str | None = None
    reason: str | None = None
    http: dict[str, Any] = field(default_factory=lambda: {"statusCode": 200, "body": ""})
    detail: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        return {"status": self.status, **({"code": self.code} if self.code else {}),
                **({"reason": self.reason} if self.reason else {}), **self.detail}


class Refusal(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ApprovalGateway:
    def __init__(self, *, secret: Any, slack: SlackApi, seen: SeenRequests, decisions: ChatDecisions,
                 codepipeline: CodePipelineGateway, config: Any, ledger: ChatApprovers) -> None:
        """`secret`: has `signing_secret`; `config`: the documents (`approvers`)."""
        self._secret = secret
        self._slack = slack
        self._seen = seen
        self._decisions = decisions
        self._codepipeline = codepipeline
        self._config = config
        self._ledger = ledger

    # -- the request ---------------------------------------------------------------------------------
    def handle(self, request: HttpRequest) -> Outcome:
        try:
            payload = self._verified(request)
        except Refusal as refused:
            return self._refused(request, refused, http=401)
        kind = payload.get("type")
        try:
            if kind == "block_actions":
                return self._clicked(payload)
            if kind == "view_submission" and (payload.get("view") or {}).get("callback_id") == CALLBACK:
                return self._submitted(payload)
        except Refusal as refused:
            return self._refused(request, refused, payload=payload)
        return Outcome("ignored", reason=f"not an approval click: {str(kind)[:40]}")

    def _verified(self, request: HttpRequest) -> dict[str, Any]:
        if request.method != "POST":
            raise Refusal("bad_request", f"{request.method[:10]} is not how Slack calls")
        if len(request.body) > MAX_BODY:
            raise Refusal("bad_request", f"a body of {len(request.body)} bytes is not an interactivity request")
        try:
            timestamp, signature = verify(self._secret.signing_secret, request.headers, request.body,
                                          now=now().timestamp())
        except Refused as refused:
            raise Refusal(refused.code, str(refused)) from None
        if not self._seen.first(signature, timestamp):
            raise Refusal("replay", "this signed request was accepted before: a replay")
        # Parsed only now that it is Slack's.
        try:
            form = urllib.parse.parse_qs(request.body.decode(), strict_parsing=True)
            payload = json.loads(form["payload"][0])
        except (ValueError, KeyError, IndexError, UnicodeDecodeError):
            raise Refusal("bad_request", "a signed request without an interactivity payload") from None
        if not isinstance(payload, dict):
            raise Refusal("bad_request", "the interactivity payload is not an object")
        return payload

    def _refused(self, request: HttpRequest, refused: Refusal, *, http: int = 200,
                 payload: dict[str, Any] | None = None) -> Outcome:
        user = ((payload or {}).get("user") or {}).get("id")
        logger.warning("approval request refused", extra={"code": refused.code, "reason": refused.reason,
                                                          "user": user, **request.redacted()})
        if http != 200:  # not Slack's, or not fresh: no Slack answer beyond the status
            return Outcome("refused", refused.code, refused.reason, http={"statusCode": http, "body": ""})
        outcome = Outcome("refused", refused.code, refused.reason)
        if (payload or {}).get("type") == "view_submission":
            outcome.http = _json({"response_action": "update", "view": _notice_view("Not done", refused.reason)})
        elif payload and payload.get("trigger_id"):
            self._tell(payload["trigger_id"], "Not done", refused.reason)
        return outcome

    def _tell(self, trigger_id: str, title: str, text: str) -> None:
        try:
            self._slack.open_view(trigger_id, _notice_view(title, text))
        except SlackError as exc:
            logger.warning("could not tell the person in Slack", extra={"error": str(exc)})

    # -- a click: confirm first ------------------------------------------------------------------------
    def _clicked(self, payload: dict[str, Any]) -> Outcome:
        action = next(iter(payload.get("actions") or []), {})
        decision = str(action.get("action_id") or "").removeprefix("warden-")
        if decision not in DECISIONS:
            return Outcome("ignored", reason="not an Approve or Reject button")
        key = _ref(action.get("value"))
        item = self._pending(key)
        container = payload.get("container") or {}
        channel = payload.get("channel") or {}
        meta = {"ref": key, "decision": decision, "channel": channel.get("id") or container.get("channel_id"),
                "channel_name": channel.get("name"), "ts": container.get("message_ts")}
        if not item.get("slack_ts") and meta["channel"] and meta["ts"]:
            # Clicked on a request whose post lost its answer: Slack's signed click says where it is.
            self._decisions.posted(key, str(meta["channel"]), str(meta["ts"]))
        person = self._person(str((payload.get("user") or {}).get("id") or ""))
        rule = self._allowed(item, person)
        self._not_self(item, person, rule)
        try:
            self._slack.open_view(str(payload.get("trigger_id") or ""), _confirm_view(item, decision, meta, rule))
        except SlackError as exc:
            raise Refusal("slack_error", f"Slack did not open the confirmation ({exc.code})") from None
        return Outcome("opened", detail={"decision": decision, "approval": key["sk"]})

    # -- the confirmation: decide ------------------------------------------------------------------------
    def _submitted(self, payload: dict[str, Any]) -> Outcome:
        view = payload.get("view") or {}
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            key, decision = _ref(json.dumps(meta["ref"])), meta["decision"]
        except (ValueError, KeyError, TypeError):
            raise Refusal("bad_request", "the confirmation names no approval") from None
        if decision not in DECISIONS:
            raise Refusal("bad_request", "the confirmation names no decision")
        reason = _reason(view)
        if decision == "reject" and not reason:
            return Outcome("refused", "no_reason", "a rejection needs a reason",
                           http=_json({"response_action": "errors", "errors": {"reason": "Say why you reject it."}}))
        user_id = str((payload.get("user") or {}).get("id") or "")
        item = self._pending(key, resume_for=user_id)
        person = self._person(user_id)
        rule = self._allowed(item, person)
        self._not_self(item, person, rule)
        channel = meta.get("channel_name") or meta.get("channel") or "?"
        who = {"id": person["id"], "name": person["name"], "email": person["email"], "channel": channel,
               "decision": decision, "reason": reason}
        if self._resuming(item, user_id):  # this person's decision, its call made or not: finish it
            return self._decide(key, item, item["chat_decision"], who, reason, meta, votes(item))
        if decision == "approve":
            item = self._decisions.vote(key, who) or self._explain(key, person["id"])
            given = votes(item)
            if len(given) < rule.required:
                self._update_message(item, meta, given, None)
                text = f"Your approval is recorded: {len(given)} of {rule.required}. The approval waits for " \
                       f"{rule.required - len(given)} more."
                return Outcome("voted", detail={"approval": key["sk"], "votes": len(given), "required": rule.required},
                               http=_json({"response_action": "update", "view": _notice_view("Recorded", text)}))
        else:
            given = votes(item)
        return self._decide(key, item, decision, who, reason, meta, given)

    def _decide(self, key: dict[str, str], item: dict[str, Any], decision: str, who: dict[str, Any], reason: str,
                meta: dict[str, Any], given: list[dict[str, Any]]) -> Outcome:
        verb = VERBS[decision]
        summary = clean(f"{verb} by {who['name']} ({who['id']}, {who['email']}) in #{who['channel']}: "
                        f"{reason or 'no reason given'}", 512)
        if len(given) > 1:
            summary = clean(summary + f" (approvals: {', '.join(v['name'] for v in given)})", 512)
        claimed = self._decisions.claim(key, decision, who, summary)
        if claimed is None:
            self._explain(key, who["id"], deciding=True)
        token = claimed.get("token")
        if not token:
            self._decisions.release(key, who["id"])
            raise Refusal("no_token", "Warden has no approval token for this request yet: decide it in the console")
        at = self._codepipeline.put_approval_result(
            claimed.get("account") or None, claimed.get("region"), claimed["pipeline"], claimed["stage"],
            claimed["action"], token=token, status=DECISIONS[decision], summary=claimed.get("chat_summary") or summary)
        if isinstance(at, Unknown) and not self._ours(claimed, at):
            self._decisions.release(key, who["id"])
            if at.code == "throttled":
                raise Refusal("codepipeline_busy", "CodePipeline is busy: nothing was decided, try again")
            raise Refusal("codepipeline_refused", f"CodePipeline refused the decision ({at.code}): nothing changed")
        decided_at = now()  # Warden's clock, as the votes' times (CodePipeline's approvedAt agrees to the second)
        person = {"slack_id": who["id"], "email": who["email"], "name": who["name"], "channel": who["channel"],
                  "decision": decision, "reason": reason, "at": iso(decided_at),
                  "approvals": [{"slack_id": v["id"], "name": v["name"], "email": v["email"], "at": v["at"]}
                                for v in given] or None}
        if claimed.get("execution_id"):
            self._ledger.record(claimed["pipeline"], claimed["execution_id"], claimed["stage"], claimed["action"],
                                person)
        updated = self._update_message(claimed, meta, given, person)
        self._decisions.done(key, decided_at)
        text = f"{verb} {claimed['pipeline']} / {claimed['stage']} / {claimed['action']}." + (
            "" if updated else " (The channel's message could not be updated.)")
        logger.info("approval decided from chat", extra={"approval": key["sk"], "decision": decision,
                                                         "user": who["id"], "pipeline": claimed["pipeline"]})
        return Outcome("decided", detail={"approval": key["sk"], "decision": decision, "user": who["id"]},
                       http=_json({"response_action": "update", "view": _notice_view(verb, text)}))

    def _ours(self, item: dict[str, Any], answer: Unknown) -> bool:
        """CodePipeline says it is decided already: by this claim's earlier call (the summary is ours)?"""
        if answer.code != "ApprovalAlreadyCompletedException" or not item.get("execution_id"):
            return False
        run = self._codepipeline.action_run(item.get("account") or None, item.get("region"), item["pipeline"],
                                            item["execution_id"], item["stage"], item["action"],
                                            item.get("action_execution_id"))
        if isinstance(run, Unknown) or not run:
            return False
        result = (run.get("output") or {}).get("executionResult") or {}
        return bool(item.get("chat_summary")) and result.get("externalExecutionSummary") == item.get("chat_summary")

    # -- the checks ---------------------------------------------------------------------------------------
    @staticmethod
    def _resuming(item: dict[str, Any], user_id: str) -> bool:
        return bool(item.get("chat_decision") and not item.get("chat_done") and item.get("chat_decided_by") == user_id)

    def _pending(self, key: dict[str, str], resume_for: str = "") -> dict[str, Any]:
        """The approval, still waiting: in Warden's record, by its expiry, and in CodePipeline now; or this
        person's own decision not finished yet (its call may have been made: CodePipeline then shows it
        decided, and `_decide` recognises its own summary)."""
        item = self._decisions.get(key)
        if not item or item.get("kind") != "approval":
            raise Refusal("unknown_approval", "Warden has no such approval")
        if resume_for and item.get("status") == PENDING_STATUS and self._resuming(item, resume_for):
            return item
        status = item.get("status")
        if status != PENDING_STATUS or item.get("chat_done"):
            raise Refusal("already_decided", _decided_text(item))
        if expires_of(item) <= now():
            raise Refusal("expired", f"this approval expired at {iso(expires_of(item))}")
        if not item.get("token"):
            raise Refusal("no_token", "Warden has no approval token for this request yet: decide it in the console")
        found = self._codepipeline.approval(item.get("account") or None, item.get("region"), item["pipeline"],
                                            item["stage"], item["action"], execution_id=item.get("execution_id"),
                                            token=item.get("token"),
                                            action_execution_id=item.get("action_execution_id"))
        if isinstance(found, Unknown):
            raise Refusal("unconfirmed", f"CodePipeline cannot confirm the approval is still waiting: {found.reason}")
        if not found.pending:
            if found.execution_id and found.execution_id != item.get("execution_id"):
                why = f"superseded: execution {found.execution_id} is at {item['stage']} now"
            elif found.status == "InProgress":
                why = "CodePipeline asks for this approval again with another token: use the newer message"
            else:
                why = f"it is no longer waiting in CodePipeline ({found.status})"
            raise Refusal("not_pending", why)
        return item

    def _person(self, user_id: str) -> dict[str, Any]:
        if not user_id:
            raise Refusal("unknown_user", "the request names no Slack user")
        try:
            user = self._slack.user(user_id)
        except SlackError as exc:
            raise Refusal("unknown_user", f"Slack does not know user {user_id[:20]} ({exc.code})") from None
        profile = user.get("profile") or {}
        email = str(profile.get("email") or "").lower()
        if user.get("deleted") or user.get("is_bot") or not email:
            raise Refusal("unknown_user", f"{user_id} is not a person with an e-mail in Slack")
        name = clean(profile.get("display_name") or profile.get("real_name") or user.get("real_name")
                     or user.get("name") or user_id, LIMITS["author"])
        return {"id": str(user.get("id") or user_id), "name": name, "email": clean(email, LIMITS["email"])}

    def _allowed(self, item: dict[str, Any], person: dict[str, Any]) -> ApproverRule:
        policy: ApproversConfig = self._config.require("approvers")
        rule = policy.rule_for(item["pipeline"], item["stage"], item["action"])
        if rule is None:
            raise Refusal("no_policy", f"nobody may decide {item['pipeline']} / {item['stage']} from chat: "
                                       "use the console")
        if person["id"] in rule.users or person["email"] in rule.emails:
            return rule
        for group in rule.groups:
            try:
                if person["id"] in self._slack.group_members(group):
                    return rule
            except SlackError as exc:
                logger.warning("Slack user group unreadable", extra={"group": group, "error": exc.code})
        raise Refusal("not_allowed", f"{person['name']} is not an approver of {item['pipeline']} / {item['stage']}")

    def _not_self(self, item: dict[str, Any], person: dict[str, Any], rule: ApproverRule) -> None:
        if rule.allow_self_approval:
            return
        people = self._people(item)
        if people is None:
            raise Refusal("unconfirmed", "Warden cannot tell who started this execution or wrote its commit, so it "
                                         "cannot rule out a self-approval: use the console")
        if person["email"] in people:
            raise Refusal("self_approval", "you started this execution or wrote its commit: someone else decides it")

    def _people(self, item: dict[str, Any]) -> set[str] | None:
        """The e-mail addresses of the execution's starter and commit author (lower case); None when neither
        the ledger nor CodePipeline can say who they are."""
        found: set[str] = set()
        known = False
        execution_id = item.get("execution_id")
        if execution_id:
            record = self._ledger.people(item["pipeline"], execution_id)
            if record:
                known = bool(record.get("author") or record.get("author_email") or record.get("trigger_detail"))
                found |= {_identity(record.get(k)) for k in ("author", "author_email", "trigger_detail")}
            execution = self._codepipeline.execution(item.get("account") or None, item.get("region"),
                                                     item["pipeline"], execution_id)
            if not isinstance(execution, Unknown):
                known = True
                found.add(_identity((execution.get("trigger") or {}).get("triggerDetail")))
        found.add(_identity(item.get("author")))
        return {f for f in found if f} if known or item.get("author") else None

    def _explain(self, key: dict[str, str], user_id: str, *, deciding: bool = False) -> dict[str, Any]:
        """Why a vote or a claim did not take: raised as the person's answer."""
        item = self._decisions.get(key)
        if item.get("status") != PENDING_STATUS or item.get("chat_done"):
            raise Refusal("already_decided", _decided_text(item))
        if item.get("chat_decision"):
            who = json.loads(item.get("chat_decider") or "{}").get("name") or item.get("chat_decided_by")
            raise Refusal("already_decided", f"{who} is deciding this approval ({item['chat_decision']})")
        if user_id in (item.get("chat_voters") or set()) and not deciding:
            raise Refusal("already_voted", "your approval is recorded already")
        raise Refusal("already_decided", "the approval changed meanwhile: look at the message again")

    # -- the channel's message -----------------------------------------------------------------------------
    def _update_message(self, item: dict[str, Any], meta: dict[str, Any], given: list[dict[str, Any]],
                        person: dict[str, Any] | None) -> bool:
        channel, ts = item.get("slack_channel") or meta.get("channel"), item.get("slack_ts") or meta.get("ts")
        if not (channel and ts):
            return False
        text, blocks = approval_message(item, given=given, decided=person)
        try:
            self._slack.update(str(channel), str(ts), text, blocks)
        except SlackError as exc:
            logger.warning("could not update the approval's message", extra={"error": exc.code})
            return False
        return True


# -- messages and views (also what ApprovalTracker posts: warden.approvals.posting) --------------------------
def _mrkdwn(text: Any) -> str:
    return clean(text, LIMITS["other"]).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def approval_message(item: dict[str, Any], *, given: list[dict[str, Any]] | None = None,
                     decided: dict[str, Any] | None = None) -> tuple[str, list[dict[str, Any]]]:
    """The approval request as a Slack message: what waits, who is waiting, the approvals so far, and the
    buttons while it is undecided; once decided, who decided it, when and why (no buttons). Never the token."""
    where = f"{item['pipeline']} / {item['stage']} / {item['action']}"
    lines = [f"*Approval needed:* {_mrkdwn(where)}"]
    if item.get("commit") or item.get("author"):
        lines.append(f"Commit {_mrkdwn(str(item.get('commit') or '?')[:12])} by {_mrkdwn(item.get('author') or '?')}"
                     + (f": {_mrkdwn(item['commit_message'])}" if item.get("commit_message") else ""))
    if item.get("custom_data"):
        lines.append(f"Note: {_mrkdwn(item['custom_data'])}")
    url = item.get("execution_id") and links.execution(item["region"], item["pipeline"], item["execution_id"])
    if url:
        lines.append(f"<{url}|Execution {_mrkdwn(item['execution_id'][:8])}>")
    for vote in given or []:
        lines.append(f"Approved by {_mrkdwn(vote.get('name'))} (<@{vote.get('id')}>) at {vote.get('at')}")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    ref = json.dumps(key_of(item), separators=(",", ":"))
    if decided:
        verb = VERBS[decided["decision"]]
        said = f": {_mrkdwn(decided['reason'])}" if decided.get("reason") else ""
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                       f"*{verb}* by {_mrkdwn(decided['name'])} (<@{decided['slack_id']}>) at {decided['at']}{said}"}]})
        return f"{verb}: {where} by {decided['name']}", blocks
    blocks.append({"type": "actions", "block_id": "warden-decision", "elements": [
        {"type": "button", "action_id": "warden-approve", "text": {"type": "plain_text", "text": "Approve"},
         "style": "primary", "value": ref},
        {"type": "button", "action_id": "warden-reject", "text": {"type": "plain_text", "text": "Reject"},
         "style": "danger", "value": ref}]})
    return f"Approval needed: {where}", blocks


def _confirm_view(item: dict[str, Any], decision: str, meta: dict[str, Any], rule: ApproverRule) -> dict[str, Any]:
    where = f"{item['pipeline']} / {item['stage']} / {item['action']}"
    verb = "Approve" if decision == "approve" else "Reject"
    need = f" ({rule.required} approvals are required)" if rule.required > 1 and decision == "approve" else ""
    return {"type": "modal", "callback_id": CALLBACK, "private_metadata": json.dumps(meta, separators=(",", ":")),
            "title": {"type": "plain_text", "text": f"{verb}?"},
            "submit": {"type": "plain_text", "text": verb}, "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"{verb} *{_mrkdwn(where)}*{need}?"}},
                       {"type": "input", "block_id": "reason", "optional": decision == "approve",
                        "label": {"type": "plain_text", "text": "Reason"},
                        "element": {"type": "plain_text_input", "action_id": "reason", "max_length": 300}}]}


def _notice_view(title: str, text: str) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": title[:24]},
            "close": {"type": "plain_text", "text": "Close"},
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": _mrkdwn(text)}}]}


def _json(body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def _reason(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get("reason") or {}
    return clean((values.get("reason") or {}).get("value") or "", 300)


def _ref(value: Any) -> dict[str, str]:
    try:
        ref = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        ref = None
    if not (isinstance(ref, dict) and isinstance(ref.get("pk"), str) and isinstance(ref.get("sk"), str)
            and ref["pk"].startswith("approval#")):
        raise Refusal("unknown_approval", "the button names no approval Warden knows")
    return {"pk": ref["pk"][:400], "sk": ref["sk"][:400]}


def _identity(value: Any) -> str:
    """An e-mail address to compare, from an author, an e-mail, or the session name of an IAM ARN."""
    text = str(value or "").strip().lower()
    if text.startswith("arn:"):
        text = text.rsplit("/", 1)[-1]
    return text if "@" in text else ""


def _decided_text(item: dict[str, Any]) -> str:
    if item.get("chat_done") and item.get("chat_decider"):
        who = json.loads(item["chat_decider"]).get("name")
        return f"already {VERBS.get(item.get('chat_decision', ''), 'decided').lower()} by {who}"
    status = item.get("status")
    if status == "closed":
        return f"this approval is closed ({item.get('reason') or 'its execution ended'})"
    return f"already {status or 'decided'}" + (f" by {item['approver']}" if item.get("approver") else "")
