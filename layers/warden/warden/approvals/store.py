"""Pending manual approvals: one item per approval in the state table, and how they are told.

Item: pk `approval#<account>#<region>#<pipeline>`, sk `<stage>#<action>#<execution id>#<action
execution id>` (else `#<token>`; items written before carry no suffix), so same-named pipelines of two
accounts, PARALLEL executions waiting at the same action, and a request made again in one execution
(the stage retried) are separate approvals. An approval SNS message names no account: it is this account's, since the
approval topic lives here. While pending, the item is in the sparse index
gsi1 (gsi1pk `approvals#pending`, gsi1sk = requested at): the sweep reads what is pending, never the
account. Resolution removes it from the index and keeps the outcome for a month (TTL).

Both inputs (the approval SNS message, the action STARTED event) update the same item; whichever
claims `needed_owner` first sends the one approval.needed. Every transition is a conditional write,
so redeliveries, races between inputs and concurrent sweeps cannot send anything twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from warden.approvals.tiers import DEFAULT_APPROVAL_TIMEOUT
from warden.core import links
from warden.core.clock import iso, now, parse_iso
from warden.core.text import LIMITS, clean
from warden.notify.effects import CLAIM_SECONDS, EffectLog
from warden.notify.notice import Notice
from warden.notify.notifier import Notifier

PENDING_INDEX = "gsi1"
PENDING = "approvals#pending"
PENDING_STATUS = "pending"
UNVERIFIED = "approval-unverified"  # pk prefix of approval messages that could not be verified
TIER = "tier_"  # claim flags of escalation tiers: tier_<name>_owner, tier_<name>_sent
KEEP_RESOLVED = timedelta(days=30)
KEEP_TRIGGER = timedelta(days=8)  # longer than any approval can wait
TRANSACTION_ITEMS = 100  # DynamoDB's limit of one TransactWriteItems


def approval_pk(account: str, region: str, pipeline: str) -> str:
    return f"approval#{account}#{region}#{pipeline}"


def gate(stage: str, action: str) -> str:
    return f"{stage}#{action}#"


def _epoch(moment: datetime) -> str:
    return str(int(moment.timestamp()))


def _value(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (set, frozenset)):
        return {"SS": sorted(value)}
    return {"S": str(value)}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item as Python values (strings, booleans, sets)."""
    out: dict[str, Any] = {}
    for name, typed in item.items():
        (kind, value), = typed.items()
        out[name] = set(value) if kind == "SS" else value
    return out


class Approvals:
    """The approval items of the state table."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _conditional(self) -> type[Exception]:
        return self._ddb.exceptions.ConditionalCheckFailedException

    def at_gate(self, account: str, region: str, pipeline: str, stage: str, action: str) -> list[dict[str, Any]]:
        """Every approval (pending or recently resolved) of one approval action."""
        return self._query(KeyConditionExpression="pk = :pk AND begins_with(sk, :gate)", ConsistentRead=True,
                           ExpressionAttributeValues={":pk": {"S": approval_pk(account, region, pipeline)},
                                                      ":gate": {"S": gate(stage, action)}})

    def of_execution(self, account: str, region: str, pipeline: str, execution_id: str, *,
                     pk: str | None = None) -> list[dict[str, Any]]:
        """The pending approvals of one execution (a pipeline's approvals are few: one key, bounded by TTL);
        `pk`: the pipeline's approval key, when an item is at hand."""
        return self._query(KeyConditionExpression="pk = :pk", ConsistentRead=True,
                           FilterExpression="execution_id = :e AND #s = :pending",
                           ExpressionAttributeNames={"#s": "status"},
                           ExpressionAttributeValues={":pk": {"S": pk or approval_pk(account, region, pipeline)},
                                                      ":e": {"S": execution_id},
                                                      ":pending": {"S": PENDING_STATUS}})

    def heal_release(self, account: str, region: str, pipeline: str, execution_id: str,
                     facts: dict[str, Any]) -> list[str]:
        """An approval of this execution recorded before its STARTED event arrived, with the release
        unknown, gets the STARTED event's facts (whatever its status): the item then reads as if the
        events had come in order. Conditional on the unknown still being there: a redelivery is a no-op."""
        facts = {k: v for k, v in facts.items() if v}
        if not (facts.get("commit") and facts.get("author")):
            return []
        healed = []
        for item in self._query(KeyConditionExpression="pk = :pk", ConsistentRead=True,
                                FilterExpression="execution_id = :e AND attribute_exists(release_unknown)",
                                ExpressionAttributeValues={":pk": {"S": approval_pk(account, region, pipeline)},
                                                           ":e": {"S": execution_id}}):
            names = {f"#f{n}": k for n, k in enumerate(facts)}
            values = {f":f{n}": _value(v) for n, v in enumerate(facts.values())}
            try:
                self._ddb.update_item(
                    TableName=self._table, Key=_key(key_of(item)),
                    UpdateExpression="SET " + ", ".join(f"#f{n} = :f{n}" for n in range(len(facts)))
                                     + " REMOVE release_unknown",
                    ConditionExpression="attribute_exists(release_unknown)",
                    ExpressionAttributeNames=names, ExpressionAttributeValues=values)
            except self._conditional():
                continue  # healed meanwhile by a redelivery
            healed.append(item["sk"])
        return healed

    def pending(self) -> list[dict[str, Any]]:
        """Every pending approval, oldest first, through the sparse index (no scan)."""
        return self._query(IndexName=PENDING_INDEX, KeyConditionExpression="gsi1pk = :p",
                           ExpressionAttributeValues={":p": {"S": PENDING}})

    def _query(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [plain(i) for i in self._pages(TableName=self._table, **kwargs)]

    def _pages(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        while True:
            page = self._ddb.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def record(self, key: dict[str, str], fields: dict[str, Any], *, since: datetime | None,
               keep: frozenset[str] = frozenset(), first: tuple[str, str] | None = None,
               claim: tuple[str, str] | None = None) -> dict[str, Any] | None:
        """Create or merge a pending approval; None when it is already resolved (a late input), or when
        `first` = (attribute, value) is given and the item already holds another value there (the first
        approval message for a token wins: a later, different one changes nothing).

        `since` (the action's start) is authoritative when given; otherwise the first input's time
        stays. Fields in `keep` do not overwrite what the other input already set. `claim` = (flag, owner):
        in the same write, claim that notification for `owner` when nobody holds it yet (see `claim`; the
        item returned says who holds it), which saves the claim's own write on every first input.
        """
        names, values, sets = {"#s": "status"}, {":pending": {"S": PENDING_STATUS}, ":p": {"S": PENDING}}, []
        condition = "(attribute_not_exists(pk) OR #s = :pending)"
        if first is not None:
            names["#first"], values[":first"] = first[0], {"S": first[1]}
            sets.append("#first = :first")
            condition += " AND (attribute_not_exists(#first) OR #first = :first)"
        for n, (name, value) in enumerate(fields.items()):
            if value is None:
                continue
            names[f"#f{n}"], values[f":f{n}"] = name, _value(value)
            sets.append(f"#f{n} = if_not_exists(#f{n}, :f{n})" if name in keep else f"#f{n} = :f{n}")
        if claim is not None:
            flag, owner = claim
            names |= {"#co": f"{flag}_owner", "#cs": f"{flag}_sent", "#ca": f"{flag}_claimed_at"}
            values |= {":co": {"S": owner}, ":cs": {"BOOL": False}, ":ca": {"S": iso(now())}}
            sets += ["#co = if_not_exists(#co, :co)", "#cs = if_not_exists(#cs, :cs)",
                     "#ca = if_not_exists(#ca, :ca)"]
        values[":since"] = {"S": iso(since or now())}
        values[":ttl"] = {"N": _epoch((since or now()) + DEFAULT_APPROVAL_TIMEOUT + KEEP_RESOLVED)}
        when = ":since" if since else "if_not_exists(since, :since)"
        sets += ["#s = :pending", "gsi1pk = :p", f"since = {when}", f"gsi1sk = {when}",
                 "expires_at = if_not_exists(expires_at, :ttl)"]
        try:
            out = self._ddb.update_item(
                TableName=self._table, Key=_key(key), UpdateExpression="SET " + ", ".join(sets),
                ConditionExpression=condition,
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except self._conditional():
            self._complete_decided(key, fields, since)
            return None
        return plain(out["Attributes"])

    def _complete_decided(self, key: dict[str, str], fields: dict[str, Any], since: datetime | None) -> None:
        """A late input of an approval already decided still adds what only it knows (the message's expiry
        and console link, the action's start as `since`), so the decided record does not depend on which of
        its inputs came before the decision. Nothing there is overwritten (`if_not_exists`; `since` only
        moves back), the status, claims and index stay, nobody is told; a redelivery changes nothing more."""
        names, values, sets = {"#s": "status"}, {":pending": {"S": PENDING_STATUS}}, []
        for n, (name, value) in enumerate(fields.items()):
            if value is not None:
                names[f"#f{n}"], values[f":f{n}"] = name, _value(value)
                sets.append(f"#f{n} = if_not_exists(#f{n}, :f{n})")
        decided = "attribute_exists(pk) AND #s <> :pending"
        requests = [(sets, decided, values)] if sets else []
        if since is not None:
            requests.append((["since = :since"], f"{decided} AND (attribute_not_exists(since) OR since > :since)",
                             {":pending": values[":pending"], ":since": {"S": iso(since)}}))
        for parts, condition, params in requests:
            try:
                self._ddb.update_item(TableName=self._table, Key=_key(key), UpdateExpression="SET " + ", ".join(parts),
                                      ConditionExpression=condition, ExpressionAttributeValues=params,
                                      ExpressionAttributeNames={k: v for k, v in names.items()
                                                                if k in " ".join(parts) + condition})
            except self._conditional():
                pass  # pending after all (its own path merges it), or nothing earlier to say

    def get(self, key: dict[str, str]) -> dict[str, Any]:
        return plain(self._ddb.get_item(TableName=self._table, Key=_key(key), ConsistentRead=True).get("Item", {}))

    def claim(self, key: dict[str, str], flag: str, owner: str) -> dict[str, Any] | None:
        """Claim a one-time notification (`needed`, or a tier) for `owner`; the item when claimed.

        The owner may claim again until it marks the notification sent, so that a failed publish
        is retried with the same delivery (Lambda's retry) instead of being lost or doubled. A claim
        older than any invocation lives (CLAIM_SECONDS) belongs to a delivery that died: the next
        input or sweep takes it over, and finishes what the item's `<flag>_done` says is missing.
        """
        try:
            out = self._ddb.update_item(**self._claim_request(key, flag, owner), ReturnValues="ALL_NEW")
        except self._conditional():
            return None
        return plain(out["Attributes"])

    def _claim_request(self, key: dict[str, str], flag: str, owner: str) -> dict[str, Any]:
        stale = iso(now() - timedelta(seconds=CLAIM_SECONDS))
        return {"TableName": self._table, "Key": _key(key),
                "UpdateExpression": "SET #o = :me, #sent = :false, #at = :now",
                "ConditionExpression": "#s = :pending AND (attribute_not_exists(#o) OR (#sent = :false AND "
                                       "(#o = :me OR attribute_not_exists(#at) OR #at < :stale)))",
                "ExpressionAttributeNames": {"#s": "status", "#o": f"{flag}_owner", "#sent": f"{flag}_sent",
                                             "#at": f"{flag}_claimed_at"},
                "ExpressionAttributeValues": {":pending": {"S": PENDING_STATUS}, ":me": {"S": owner},
                                              ":false": {"BOOL": False}, ":now": {"S": iso(now())},
                                              ":stale": {"S": stale}}}

    def effects(self, key: dict[str, str], flag: str, item: dict[str, Any]) -> EffectLog:
        """Where the effects of one notification of the approval (`needed`, `told`, a tier) are recorded."""
        attr = f"{flag}_done"
        return EffectLog(self._ddb, self._table, key, set(item.get(attr) or ()), attr=attr)

    def sent(self, key: dict[str, str], flag: str, **fields: Any) -> None:
        self._ddb.update_item(**self._sent_request(key, flag, fields))

    def _sent_request(self, key: dict[str, str], flag: str, fields: dict[str, Any]) -> dict[str, Any]:
        names = {"#sent": f"{flag}_sent"} | {f"#f{n}": k for n, k in enumerate(fields)}
        values = {":true": {"BOOL": True}} | {f":f{n}": _value(v) for n, v in enumerate(fields.values())}
        sets = ["#sent = :true"] + [f"#f{n} = :f{n}" for n in range(len(fields))]
        if flag.startswith(TIER):
            names["#fired"], values[":tier"] = "fired", {"SS": [flag.removeprefix(TIER)]}
        return {"TableName": self._table, "Key": _key(key),
                "UpdateExpression": "SET " + ", ".join(sets) + (" ADD #fired :tier" if "#fired" in names else ""),
                "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}

    def claim_many(self, keys: list[dict[str, str]], flag: str, owner: str) -> list[dict[str, str]]:
        """`claim` for the approvals of one notification (a tier of one execution), in transactions of up
        to 100 (one call instead of one a key); returns the keys claimed. When any condition fails (one was
        resolved, or another sweep holds it) the transaction changes nothing and each key is claimed on its
        own, so that the others still go out."""
        claimed: list[dict[str, str]] = []
        for chunk in _chunks(keys, TRANSACTION_ITEMS):
            if len(chunk) == 1:  # a transaction of one costs twice the write
                claimed += [k for k in chunk if self.claim(k, flag, owner) is not None]
                continue
            try:
                self._ddb.transact_write_items(TransactItems=[{"Update": self._claim_request(k, flag, owner)}
                                                              for k in chunk])
                claimed += chunk
            except self._ddb.exceptions.TransactionCanceledException:
                claimed += [k for k in chunk if self.claim(k, flag, owner) is not None]
        return claimed

    def sent_many(self, keys: list[dict[str, str]], flag: str, **fields: Any) -> None:
        """`sent` for every approval of one notification, in transactions of up to 100."""
        for chunk in _chunks(keys, TRANSACTION_ITEMS):
            if len(chunk) == 1:
                self.sent(chunk[0], flag, **fields)
                continue
            self._ddb.transact_write_items(TransactItems=[{"Update": self._sent_request(k, flag, fields)}
                                                          for k in chunk])

    def mark_paged(self, key: dict[str, str], page: str | None = None) -> None:
        """The approval has a page open (resolved with it); `page`: its dedup key, when it is its execution's."""
        values = {":t": {"BOOL": True}} | ({":k": {"S": page}} if page else {})
        self._ddb.update_item(TableName=self._table, Key=_key(key),
                              UpdateExpression="SET paged = :t" + (", page_key = :k" if page else ""),
                              ExpressionAttributeValues=values)

    def resolve(self, key: dict[str, str], outcome: str, fields: dict[str, Any], *, owner: str,
                tell: bool) -> dict[str, Any] | None:
        """Pending (or never seen) -> `outcome`. Returns the item as it was ({} if new); None if it was
        resolved already, so that only one delivery tells of the outcome (`told`, as for `claim`)."""
        at = now()
        fields = {k: v for k, v in fields.items() if v is not None} | {"resolved_at": iso(at)}
        names = {"#s": "status", "#by": "resolved_by", "#told": "told_sent"} | {
            f"#f{n}": k for n, k in enumerate(fields)}
        values = {":pending": {"S": PENDING_STATUS}, ":outcome": {"S": outcome}, ":me": {"S": owner},
                  ":false": {"BOOL": False}, ":told": {"BOOL": not tell},
                  **({":closed": {"S": "closed"}} if tell else {}),
                  ":ttl": {"N": _epoch(at + KEEP_RESOLVED)}} | {
            f":f{n}": _value(v) for n, v in enumerate(fields.values())}
        sets = ["#s = :outcome", "expires_at = :ttl", "#by = :me", "#told = :told"] + [
            f"#f{n} = :f{n}" for n in range(len(fields))]
        try:
            out = self._ddb.update_item(
                TableName=self._table, Key=_key(key),
                # A told outcome replacing a silent close drops the close's reason: the item reads as in order.
                UpdateExpression="SET " + ", ".join(sets) + " REMOVE gsi1pk, gsi1sk"
                                 + (", reason" if tell and "reason" not in fields else ""),
                # An outcome to tell also replaces a silent close by the execution's end (delivered first).
                ConditionExpression="attribute_not_exists(pk) OR #s = :pending OR (#by = :me AND #told = :false)"
                                    + (" OR #s = :closed" if tell else ""),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_OLD")
        except self._conditional():
            return None
        return plain(out.get("Attributes", {}))

    def set_aside(self, item: dict[str, Any], reason: str) -> None:
        """An item the sweep cannot read leaves the pending index (status `unreadable`, with the reason),
        so that it is dead-lettered once, not by every sweep; it stays in the table for whoever looks."""
        self._ddb.update_item(
            TableName=self._table, Key=_key(key_of(item)),
            UpdateExpression="SET #s = :s, #r = :r REMOVE gsi1pk, gsi1sk",
            ExpressionAttributeNames={"#s": "status", "#r": "unreadable_reason"},
            ExpressionAttributeValues={":s": {"S": "unreadable"}, ":r": {"S": clean(reason, LIMITS["other"])}})

    def unverified(self, region: str, pipeline: str, stage: str, action: str, *, token: str, reason: str,
                   digest: str, delivery: str) -> dict[str, str]:
        """Keep an approval message that could not be verified (warden.approvals.tracker), for a month,
        outside the pending index: no sweep sees it, nobody is told. Keyed by the message's digest: a
        redelivery writes the same item."""
        key = {"pk": f"{UNVERIFIED}#{region}#{pipeline}", "sk": gate(stage, action) + digest[:32]}
        self._ddb.put_item(TableName=self._table, Item=_key(key) | {
            "status": {"S": "unverified"}, "reason": {"S": clean(reason, LIMITS["other"])},
            "token": {"S": clean(token, LIMITS["id"])}, "region": {"S": region}, "pipeline": {"S": pipeline},
            "stage": {"S": stage}, "action": {"S": action}, "delivery": {"S": clean(delivery, LIMITS["id"])},
            "received_at": {"S": iso(now())}, "expires_at": {"N": _epoch(now() + KEEP_RESOLVED)}})
        return key

    # -- who is waiting: the trigger of each execution, from its STARTED event ---------------------
    def save_trigger(self, account: str, region: str, pipeline: str, execution_id: str,
                     trigger: dict[str, Any], *, only_if_absent: bool = False) -> None:
        """`only_if_absent`: a cache of what GetPipelineExecution said (warden.notify.release), which
        must never replace what the STARTED event said. Event text is stored cleaned and clipped
        (warden.core.text), like the ledger's copy."""
        limits = {"commit_message": LIMITS["stored_commit_message"], "author": LIMITS["author"]}
        item = {k: _value(clean(v, limits.get(k, LIMITS["other"]), one_line=k != "commit_message"))
                for k, v in trigger.items() if v}
        key = _trigger_key(account, region, pipeline, execution_id)
        extra = {"ConditionExpression": "attribute_not_exists(pk)"} if only_if_absent else {}
        try:
            self._ddb.put_item(TableName=self._table, Item=_key(key) | item | {
                "expires_at": {"N": _epoch(now() + KEEP_TRIGGER)}}, **extra)
        except self._conditional():
            pass  # the STARTED event's facts got there first: they stay

    def trigger(self, account: str, region: str, pipeline: str, execution_id: str) -> dict[str, Any]:
        item = self._ddb.get_item(TableName=self._table,
                                  Key=_key(_trigger_key(account, region, pipeline, execution_id)))
        return plain(item.get("Item", {}))


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _trigger_key(account: str, region: str, pipeline: str, execution_id: str) -> dict[str, str]:
    return {"pk": f"trigger#{account}#{region}#{pipeline}", "sk": execution_id}


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {"pk": {"S": key["pk"]}, "sk": {"S": key["sk"]}}


def key_of(item: dict[str, Any]) -> dict[str, str]:
    return {"pk": item["pk"], "sk": item["sk"]}


# -- what the pipeline's definition says -----------------------------------------------------------
def approval_definition(definition: dict[str, Any], stage: str, action: str) -> dict[str, Any] | None:
    """What the pipeline's own definition (GetPipeline) says of an approval action: `custom_data`
    (CustomData) and `external_link` (ExternalEntityLink, when it is a safe https link); None when the
    pipeline has no such approval action. What approvers are shown comes from here, never from an
    approval message, which anyone allowed to publish to the topic could have written."""
    for stage_def in definition.get("stages", []):
        if stage_def.get("name") != stage:
            continue
        for action_def in stage_def.get("actions", []):
            if action_def.get("name") == action and action_def.get("actionTypeId", {}).get("category") == "Approval":
                config = action_def.get("configuration") or {}
                return {"custom_data": clean(config["CustomData"], LIMITS["note"]) if config.get("CustomData")
                        else None, "external_link": links.safe(config.get("ExternalEntityLink"))}
    return None


# -- messages --------------------------------------------------------------------------------------
def age_text(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    return (f"{days}d " if days else "") + f"{minutes // 60}h {minutes % 60:02d}m"


def expires_of(item: dict[str, Any]) -> datetime:
    """When CodePipeline expires it: the message says; otherwise the default timeout."""
    return parse_iso(item["expires"]) if item.get("expires") else parse_iso(item["since"]) + DEFAULT_APPROVAL_TIMEOUT


def notice_of(item: dict[str, Any], event: str, *, event_id: str, state: str = "PENDING",
              unconfirmed: str | None = None) -> Notice:
    """`unconfirmed`: why CodePipeline could not confirm that the approval is still pending."""
    at = now()
    notice = Notice(
        event=event, event_id=event_id, time=at, account=item.get("account", ""), region=item["region"],
        state=state, pipeline=item["pipeline"], execution_id=item.get("execution_id"), stage=item["stage"],
        action=item["action"], trigger=item.get("trigger"), commit=item.get("commit"),
        commit_message=item.get("commit_message"), author=item.get("author"),
        custom_data=item.get("custom_data"), approver=item.get("approver"), comment=item.get("comment"),
        unconfirmed=unconfirmed,
        release_unknown=item.get("release_unknown"),
    )
    if state == "PENDING":
        if event == "approval.needed":
            notice.approval_token = item.get("token") or None  # for chat buttons only (warden.notify.render)
        notice.age = age_text(at - parse_iso(item["since"]))
        notice.expires = iso(expires_of(item))
        if item.get("review_link"):
            notice.links["review"] = item["review_link"]
        if item.get("external_link"):
            notice.links["details"] = item["external_link"]
    if item.get("commit_link"):
        notice.links["commit"] = item["commit_link"]
    if item.get("execution_id"):
        url = links.execution(item["region"], item["pipeline"], item["execution_id"])
        if url:
            notice.links["execution"] = url
    else:
        url = links.pipeline(item["region"], item["pipeline"])
        if url:
            notice.links["pipeline"] = url
    return notice


def page_key(item: dict[str, Any]) -> str:
    """The dedup key of an approval's page: its execution's (the escalation tiers page once per pipeline
    execution, listing its pending approvals), or the approval's own when it names no execution."""
    if item.get("execution_id"):
        return f"pipeline-warden/{item['pk']}/{item['execution_id']}"
    return f"pipeline-warden/{item['pk']}/{item['sk']}"


def resolve_page(notifier: Notifier, item: dict[str, Any], approvals: Approvals | None = None) -> None:
    """Resolve the page of an approval that is no longer pending; called before the item is resolved,
    so that a PagerDuty failure is retried with the event. Only while the item is still pending: once it
    was resolved (its execution's end came first, then its own outcome), its page was resolved with it.
    A page of the execution stays open while another approval it lists still waits (`approvals` tells);
    the last one to leave resolves it. Items paged before pages were per execution keep their own key."""
    if not item.get("paged") or item.get("status", PENDING_STATUS) != PENDING_STATUS:
        return
    key = item.get("page_key") or f"pipeline-warden/{item['pk']}/{item['sk']}"
    if approvals is not None and item.get("execution_id") and item.get("page_key"):
        others = [i for i in approvals.of_execution("", "", "", item["execution_id"], pk=item["pk"])
                  if i["sk"] != item["sk"] and i.get("paged") and i.get("page_key") == key]
        if others:
            return
    notifier.settle(key).check()
