"""ArtifactGuard: audit (and in enforce mode fix) every pipeline artifact bucket, and tell people once.

A scheduled pass refreshes the pipeline -> bucket map, audits each bucket once (O(buckets) calls, however
many pipelines share them), and keeps rollback targets restorable. A CloudTrail event re-audits only what
it touched: the pipeline's buckets (CreatePipeline / UpdatePipeline; a definition the event does not carry
is read with GetPipeline) or the one bucket (S3 configuration calls), when a pipeline names it (a bucket
not in the map yet is resolved by refreshing the map first). Only proven artifact stores of this account
are changed (`eligibility`); any other bucket a pipeline names is a finding, never read or written.
Throttling and server errors that outlast botocore's retries are not a refusal: the bucket is "could not
confirm", nothing is told for it, and the invocation fails after the other buckets so that Lambda retries
it (then the dead-letter queue and its alarm). Every step converges under redelivery and
reordering: the audit is a function of what S3 answers now, the fixes are merges that change nothing on a
compliant bucket (Warden's own writes, coming back as events, write nothing), and a finding is told when
its fingerprint differs from the one last told (claimed with a conditional write before sending, released
if sending fails, so a lost message is retried and a duplicate delivery sends nothing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from warden.artifacts import checks, discovery, eligibility, keys, policy, protect, remediation
from warden.artifacts.config import ArtifactsConfig, BucketPolicy
from warden.core import clock
from warden.core.errors import Skip, one_by_one
from warden.core.log import logger
from warden.notify.notice import Notice

PIPELINE_CALLS = {"CreatePipeline", "UpdatePipeline"}
BUCKET_CALLS = {"PutBucketPolicy", "DeleteBucketPolicy", "PutBucketLifecycle", "DeleteBucketLifecycle",
                "PutBucketEncryption", "DeleteBucketEncryption", "PutBucketVersioning",
                "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock"}
NOT_AUDITABLE = "bucket.not-auditable"
NOT_ELIGIBLE = "bucket.not-an-artifact-store"
NOT_ELIGIBLE_MODE = "not-eligible"
TRANSIENT = {"SlowDown", "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled",
             "RequestThrottledException", "RequestLimitExceeded", "TooManyRequestsException", "ServiceUnavailable",
             "InternalError", "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
             "ProvisionedThroughputExceededException", "500", "502", "503", "504"}
SLACK_SECONDS = 1  # CloudTrail's eventTime has whole seconds
ONE_KEY_REPORTED = ("reported only: Warden never chooses between the pipelines' keys; give them one key, or "
                    "set kms_key_arn in a buckets override for this bucket")
POLICY_HISTORY = 4  # recent policy writes kept per bucket (a bucket policy is up to 20 KB)
POLICY_HISTORY_SECONDS = 24 * 3600  # EventBridge retries an event for up to 24 hours
TARGETS_CHECK = "rollback-target.kept"
TARGETS_PART = "rollback-targets"
TARGETS_NOT_KEPT = ("Warden could not keep it from expiring: a rollback to that execution fails once it has "
                    "expired")


class ArtifactsUnconfirmed(RuntimeError):
    """Some buckets could not be read or fixed for a transient reason: raised after the others are done,
    so that Lambda retries the invocation."""


def transient(exc: Exception) -> str | None:
    """The error code when `exc` is throttling, a server error or a connection failure (worth retrying)."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code or str(status) if code in TRANSIENT or status >= 500 else None
    if isinstance(exc, BotoCoreError):
        return type(exc).__name__
    return None


@dataclass
class Report:
    """One bucket's audit: what failed, what was fixed, what could not be and why."""

    bucket: str
    account: str
    region: str
    pipelines: list[str]
    mode: str  # enforce | audit | excluded | not-auditable | not-eligible
    checks: list[checks.Check] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    not_fixed: dict[str, str] = field(default_factory=dict)
    writes: int = 0
    told: bool = False
    reason: str | None = None
    state: checks.BucketState | None = None  # what S3 answered, for the protection step of a sweep
    unconfirmed: str | None = None  # a transient failure: retried, nothing told yet
    restored: bool = False  # a policy edit that Warden's write had overwritten was written back

    @property
    def failed(self) -> list[checks.Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def compliant(self) -> bool:
        return self.mode not in ("not-auditable", NOT_ELIGIBLE_MODE) and not self.failed and not self.unconfirmed

    def lines(self) -> list[str]:
        """One line per failed check: what is wrong, and what was done about it."""
        if self.mode == "not-auditable":
            return [f"{NOT_AUDITABLE}: {self.reason}"]
        if self.mode == NOT_ELIGIBLE_MODE:
            return [f"{NOT_ELIGIBLE}: {self.reason}"]
        out = []
        for c in self.failed:
            if c.id in self.fixed:
                out.append(f"{c.id}: {c.text} — fixed")
            elif c.id in self.not_fixed:
                out.append(f"{c.id}: {c.text} — not fixed: {self.not_fixed[c.id]}")
            elif self.mode == "enforce":
                out.append(f"{c.id}: {c.text} — being fixed")
            else:
                out.append(f"{c.id}: {c.text} — not fixed: audit mode")
        return out

    @property
    def resolved(self) -> bool:
        return self.mode == "enforce" and not self.not_fixed and all(c.id in self.fixed for c in self.failed)

    def found(self) -> list[str]:
        """What was found (not what was done about it), so that it is known before any fix is tried."""
        return [f"{c.id}: {c.text}" for c in self.failed] or (
            self.lines() if self.mode in ("not-auditable", NOT_ELIGIBLE_MODE) else [])

    def fingerprint(self) -> str:
        found = self.found()
        return hashlib.sha256("\n".join([self.mode, *found]).encode()).hexdigest()[:16] if found else "compliant"

    def as_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "account": self.account, "region": self.region,
                "pipelines": self.pipelines, "mode": self.mode, "compliant": self.compliant,
                "checks": {c.id: {"ok": c.ok, "text": c.text} for c in self.checks},
                "fixed": self.fixed, "not_fixed": self.not_fixed, "writes": self.writes, "told": self.told,
                **({"reason": self.reason} if self.reason else {}),
                **({"unconfirmed": self.unconfirmed} if self.unconfirmed else {}),
                **({"restored": True} if self.restored else {})}


class ArtifactGuard:
    def __init__(self, *, artifact_map: discovery.ArtifactMap, codepipeline: Any, s3_in: Callable[[str, str], Any],
                 kms_in: Callable[[str], Any], config: Callable[[], ArtifactsConfig], notifier: Any,
                 account: str, region: str, ledger: tuple[Any, str] | None = None,
                 workload_s3: Callable[[str, str], Any | None] | None = None, partition: str = "aws",
                 allowed: tuple[str, ...] = (), config_fallback: Callable[[], str | None] | None = None,
                 skip: Skip | None = None) -> None:
        """`s3_in(region, account)` / `kms_in(region)`: this account's clients; `workload_s3(account, region)`:
        an S3 client through the workload read role, None without one; `ledger`: (dynamodb, table);
        `allowed`: bucket name globs that are artifact stores besides CodePipeline's default naming;
        `config_fallback()`: why the configuration just read is the defaults ("unreadable", "invalid");
        `skip(bucket, error)`: a bucket the scheduled pass cannot handle is dead-lettered with its reason
        (warden.core.errors.one_by_one) and the pass goes on with the others."""
        self._skip = skip
        self._map = artifact_map
        self._codepipeline = codepipeline
        self._s3_in = s3_in
        self._kms_in = kms_in
        self._config = config
        self._notifier = notifier
        self._account = account
        self._region = region
        self._ledger = ledger
        self._workload_s3 = workload_s3 or (lambda account, region: None)
        self._partition = partition
        self._allowed = allowed
        self._config_fallback = config_fallback or (lambda: None)

    # -- entry points -------------------------------------------------------------------------------
    def sweep(self) -> dict[str, Any]:
        self._rules()  # first: a document that cannot be read or does not validate stops the pass before any bucket
        snapshot = self._map.load()
        reads = discovery.refresh(self._codepipeline, self._map, snapshot, self._account, self._region)
        reports: list[Report] = []
        skip = self._skip
        skipped = one_by_one(list(snapshot.buckets().values()), lambda b: reports.append(self.audit(b, snapshot)),
                             (lambda bucket, exc: skip(asdict(bucket), exc)) if skip else None)
        result = self._result(reports) | {"pipelines": len(snapshot.pipelines), "get_pipeline": reads,
                                          **({"skipped": len(skipped)} if skipped else {})}
        try:
            result["protection"] = self._protect(reports, snapshot)
        finally:
            self._confirmed(reports)
        return result

    def handle(self, event: Any) -> dict[str, Any]:
        """A CloudTrail "AWS API Call" event: CodePipeline definitions or S3 bucket configuration."""
        self._rules()  # first, as in `sweep`
        detail = event.detail
        if not detail.succeeded:
            return {"status": "ignored", "reason": f"the call failed ({detail.error_code})"}
        name = detail.event_name
        snapshot = self._map.load()
        buckets = snapshot.buckets()
        region = detail.aws_region or event.region
        if detail.event_source == "codepipeline.amazonaws.com" and name in PIPELINE_CALLS:
            definition = event.pipeline_declaration() or {}
            if not definition.get("name"):
                return {"status": "ignored", "reason": "no pipeline structure in the event"}
            if not discovery.stores_of(definition, region):
                # The event does not carry the artifact stores: read them (a map without them would drop
                # the pipeline's buckets).
                if event.account != self._account:
                    return {"status": "ignored", "reason": f"no artifact store in the event for {definition['name']}"
                                                           f" of workload account {event.account}: the next pass "
                                                           "reads it"}
                definition = self._codepipeline.get_pipeline(name=definition["name"])["pipeline"]
            self._map.put_pipeline(snapshot, account=event.account, region=region, name=definition["name"],
                                   version=definition.get("version"), updated=clock.iso(event.time),
                                   stores=discovery.stores_of(definition, region), source="event",
                                   artifacts=discovery.artifacts_of(definition) if definition.get("stages") else None)
            buckets = snapshot.buckets()
            wanted = [b for b in buckets.values() if definition["name"] in b.pipelines and b.account == event.account]
        elif detail.event_source == "s3.amazonaws.com" and name in BUCKET_CALLS:
            bucket = detail.params.get("bucketName")
            wanted = [b for b in buckets.values() if b.name == bucket and b.account == event.account]
            if not wanted and event.account == self._account and bucket and \
                    eligibility.why_not(bucket, region, self._allowed) is None:
                # Named by a pipeline the map does not know yet (before the first pass, or a pipeline whose
                # event is still on its way): resolve it now rather than at the next scheduled pass.
                discovery.refresh(self._codepipeline, self._map, snapshot, self._account, self._region)
                wanted = [b for b in snapshot.buckets().values() if b.name == bucket and b.account == event.account]
            if not wanted:
                return {"status": "ignored", "reason": f"{bucket} is not an artifact bucket"}
            restored = name == "PutBucketPolicy" and isinstance(detail.params.get("bucketPolicy"), dict) and \
                self._restore(wanted[0], detail.params["bucketPolicy"], detail.event_time, snapshot,
                              getattr(detail, "event_id", "") or "")
        else:
            return {"status": "ignored", "reason": f"{detail.event_source} {name} is not watched"}
        reports = [self.audit(b, snapshot) for b in wanted]
        if detail.event_source == "s3.amazonaws.com" and restored:
            reports[0].restored = True
            reports[0].writes += 1
        self._confirmed(reports)
        return self._result(reports)

    @staticmethod
    def _confirmed(reports: list[Report]) -> None:
        unconfirmed = [r for r in reports if r.unconfirmed]
        if unconfirmed:
            raise ArtifactsUnconfirmed("could not confirm " + "; ".join(f"{r.bucket}: {r.unconfirmed}"
                                                                        for r in unconfirmed))

    # -- one bucket ---------------------------------------------------------------------------------
    def _rules(self) -> ArtifactsConfig:
        """The configuration; never defaults standing in for a document Warden could not read: a team that
        chose audit mode must not be enforced on because SSM throttled."""
        config = self._config()
        why = self._config_fallback()
        if why == "unreadable":
            raise ArtifactsUnconfirmed("the artifacts configuration could not be read from SSM: nothing is audited "
                                       "or changed on defaults; retried")
        if why == "invalid":  # told loudly by the configuration store; here, nothing is written
            return config.model_copy(update={"mode": "audit"})
        return config

    def audit(self, bucket: discovery.Bucket, snapshot: discovery.Snapshot) -> Report:
        config = self._rules()
        rules = config.for_bucket(bucket.name)
        report = Report(bucket.name, bucket.account, bucket.region, bucket.pipelines,
                        mode=rules.mode if rules else "excluded")
        if rules is None:
            return report
        own = bucket.account == self._account
        if own:
            why = eligibility.why_not(bucket.name, bucket.region, self._allowed)
            if why:  # a bucket a pipeline merely names: told, never read or written
                report.mode, report.reason = NOT_ELIGIBLE_MODE, why
                if self._claim(report, snapshot):
                    self._send(report.account, report.bucket, report.lines(), report.pipelines, report.region,
                               snapshot, report, resolved=False)
                return report
        s3 = self._s3_in(bucket.region, bucket.account) if own else self._workload_s3(bucket.account, bucket.region)
        state = None
        if s3 is None:
            report.mode = "not-auditable"
            report.reason = (f"bucket of workload account {bucket.account}: no read role configured "
                             "(WorkloadReadRoleName)")
        else:
            try:
                state = self._read(s3, report)
            except Exception as exc:
                code = transient(exc)
                if code is None:
                    raise
                report.unconfirmed = f"S3 answered {code} past its retries while reading the configuration"
                logger.warning("could not confirm the bucket (retried)",
                               extra={"bucket": bucket.name, "error": str(exc)})
                return report  # nothing told: the retry audits it
        target: tuple[str | None, str | None] = (None, None)
        if state is not None:
            verified = keys.Keys(self._kms_in, self._account, transient)
            try:
                audit = checks.judge(state, bucket.name, rules, partition=self._partition, owner=bucket.account,
                                     acknowledged=tuple(config.grant_accounts), prefixes=bucket.prefixes,
                                     customer_managed=lambda key: self._customer_managed(key, verified, bucket, own))
                if own:
                    conflict = self._conflict(bucket, verified)
                    audit.checks.insert(1, checks.Check(checks.ONE_KEY, conflict is None, conflict or
                                                        "the pipelines sharing the bucket name one key (or none)"))
                    target = self._key_for(bucket, rules, verified, conflict)
            except Exception as exc:
                code = transient(exc)
                if code is None:
                    raise
                report.unconfirmed = f"KMS answered {code} past its retries while describing a key"
                logger.warning("could not confirm a key (retried)", extra={"bucket": bucket.name, "error": str(exc)})
                return report  # nothing told: the retry audits it
            report.checks = audit.checks
            report.state = state
            if not own and audit.failed:
                report.not_fixed = {c.id: "bucket of a workload account: Warden only reports there"
                                    for c in audit.failed}
            if not audit.by_id(policy.GRANT_CHECK).ok:
                report.not_fixed[policy.GRANT_CHECK] = remediation.GRANT_REPORTED
            if own and not audit.by_id(checks.ONE_KEY).ok:
                report.not_fixed[checks.ONE_KEY] = ONE_KEY_REPORTED
        # Recorded before any fix: a run that fixes and then fails still leaves the story to tell.
        claimed = self._claim(report, snapshot)
        if state is not None and own and rules.mode == "enforce" and report.failed:
            key, key_problem = target
            outcome = remediation.Remediation()
            try:
                remediation.enforce(s3, bucket.name, bucket.account, state, audit, rules, key, self._partition,
                                    out=outcome, pipelines=bucket.pipelines, key_problem=key_problem,
                                    prefixes=bucket.prefixes, unknown=bucket.unknown)
            except Exception as exc:
                code = transient(exc)
                if code is not None:  # not a refusal: retried, and told then
                    report.unconfirmed = f"S3 answered {code} past its retries while fixing it"
                    logger.warning("could not confirm the fix (retried)",
                                   extra={"bucket": bucket.name, "error": str(exc)})
                    outcome.not_fixed |= {c.id: f"could not confirm: {report.unconfirmed}; retried"
                                          for c in report.failed
                                          if c.id not in outcome.fixed and c.id not in outcome.not_fixed}
                elif isinstance(exc, ClientError):  # a bucket policy or SCP refusing Warden: said, not retried
                    refused = f"S3 refused the fix ({exc.response['Error']['Code']})"
                    logger.error("fix refused", extra={"bucket": bucket.name, "error": str(exc)})
                    outcome.not_fixed |= {c.id: refused for c in report.failed
                                          if c.id not in outcome.fixed and c.id not in outcome.not_fixed}
                else:
                    raise
            if outcome.policy_writes:
                self._record_policy_writes(snapshot, bucket, outcome.policy_writes)
            report.fixed, report.not_fixed, report.writes = outcome.fixed, outcome.not_fixed, outcome.writes
        if claimed and not report.unconfirmed:
            self._send(report.account, report.bucket, report.lines(), report.pipelines, report.region, snapshot,
                       report, resolved=report.resolved)
        elif report.checks and not report.unconfirmed:
            self._settle(report, snapshot)
        return report

    def _settle(self, report: Report, snapshot: discovery.Snapshot) -> None:
        item = snapshot.findings.get(discovery.findings_sk(report.account, report.bucket))
        if not item or item.get("pending") or item.get("fingerprint") == "compliant" or item.get("resolved"):
            return
        still = [f"{c.id}: {c.text}" for c in report.failed if c.id not in report.fixed]
        if sorted(item.get("found") or []) != sorted(still):
            self._map.settle(snapshot, report.account, report.bucket, still)

    @staticmethod
    def _conflict(bucket: discovery.Bucket, verified: keys.Keys) -> str | None:
        """Why the pipelines sharing the bucket disagree on its key (a finding: Warden never picks one)."""
        named = {p: verified.verify(k, bucket.region) for p, k in sorted(bucket.named.items())}
        if len({v.arn or v.named for v in named.values()}) < 2:
            return None
        return ("the pipelines sharing the bucket name different artifact keys (" +
                "; ".join(f"{p}: {v.named}" for p, v in named.items()) + ")")

    def _key_for(self, bucket: discovery.Bucket, rules: BucketPolicy, verified: keys.Keys,
                 conflict: str | None) -> tuple[str | None, str | None]:
        """(the key ARN to set, None) or (None, why no key is set): the pipelines' own artifact key when they
        name one, else the configured one, and only a key DescribeKey shows usable. Pipelines that disagree
        get no key of theirs chosen for them: only a configured `kms_key_arn` is then set."""
        if bucket.keys and not conflict:
            candidate, source = bucket.keys[0], "named by " + ", ".join(sorted(bucket.named))
        elif rules.kms_key_arn:
            candidate, source = rules.kms_key_arn, "configured as kms_key_arn"
        elif conflict:
            return None, (f"{conflict}: Warden does not choose one; give them one key, or set kms_key_arn in a "
                          "buckets override for this bucket")
        else:
            return None, None
        key = verified.verify(candidate, bucket.region)
        if key.problem:
            return None, f"the key {candidate} ({source}) {key.problem}"
        return key.arn, None

    def _record_policy_writes(self, snapshot: discovery.Snapshot, bucket: discovery.Bucket,
                              records: list[dict[str, Any]]) -> None:
        """Keep the recent writes (a late edit event is matched against each), bounded in number and age: a
        bucket policy is up to 20 KB, and the state item must stay far below DynamoDB's 400 KB."""
        kept = discovery.ArtifactMap.policy_writes(snapshot, bucket.account, bucket.name) + records
        horizon = clock.now().timestamp() - POLICY_HISTORY_SECONDS
        kept = [r for r in kept if clock.parse_iso(r["written_at"]).timestamp() >= horizon][-POLICY_HISTORY:]
        self._map.record_policy_writes(snapshot, bucket.account, bucket.name, kept)

    def _restore(self, bucket: discovery.Bucket, edit: dict[str, Any], at: str | None,
                 snapshot: discovery.Snapshot, event_id: str = "") -> bool:
        """A policy edit whose CloudTrail event says it landed between Warden's read of the policy and its write
        (any of its recent writes): Warden's write overwrote it, so the person's changes are made again on what
        the bucket holds now, with Warden's statements merged in. Later changes by anyone stay (a statement
        changed since is kept as it is now, and logged); an edit already made again is not made twice."""
        import json

        if bucket.account != self._account or not at:
            return False
        records = discovery.ArtifactMap.policy_writes(snapshot, bucket.account, bucket.name)
        when = clock.parse_iso(at).timestamp()
        hit = []
        for record in records:
            read_at, written_at = clock.parse_iso(record["read_at"]), clock.parse_iso(record["written_at"])
            if not (read_at.timestamp() - SLACK_SECONDS <= when <= written_at.timestamp() + SLACK_SECONDS):
                continue
            if event_id and event_id in (record.get("restored") or []):
                return False  # made again already: a later change by anyone stands
            base, written = json.loads(record["base"]), json.loads(record["written"])
            if not (policy.same_policy(edit, base) or policy.same_policy(edit, written)):
                hit.append(record)  # (an edit equal to what Warden read or wrote is what Warden built on)
        if not hit:
            return False
        s3 = self._s3_in(bucket.region, bucket.account)
        common = {"Bucket": bucket.name, "ExpectedBucketOwner": bucket.account}
        read_at = clock.iso(clock.now())
        current, merged, conflicts = remediation.restore_policy(
            s3, common, bucket.name, self._partition, edit, [json.loads(r["base"]) for r in hit])
        if conflicts:
            logger.error("policy edit only partly made again: changed since by someone else",
                         extra={"bucket": bucket.name, "edit_time": at, "kept_as_now": conflicts})
        for record in hit:
            record["restored"] = [*(record.get("restored") or []), event_id or at][-5:]
        new = [{"base": json.dumps(current), "written": json.dumps(merged), "read_at": read_at,
                "written_at": clock.iso(clock.now())}] if merged is not None else []
        self._record_policy_writes(snapshot, bucket, new)  # (the `restored` marks on the records hit, too)
        if merged is None:
            return False
        logger.warning("policy edit made again", extra={"bucket": bucket.name, "edit_time": at})
        return True

    @staticmethod
    def _read(s3: Any, report: Report) -> checks.BucketState | None:
        """The bucket's configuration; None (and the report says why) when S3 will not show it."""
        from botocore.exceptions import ClientError

        try:
            return checks.read_state(s3, report.bucket, report.account)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code not in ("NoSuchBucket", "AccessDenied", "403", "AllAccessDisabled"):
                raise
            report.mode = "not-auditable"
            report.reason = ("the bucket does not exist: the pipelines' artifact uploads fail"
                             if code == "NoSuchBucket" else
                             f"S3 refused to show it ({code}): not owned by {report.account}, or no permission")
            return None

    @staticmethod
    def _customer_managed(key: str, verified: keys.Keys, bucket: discovery.Bucket, own: bool) -> bool | str:
        """True for a usable customer-managed key of this account, else why not (a workload bucket's key cannot
        be confirmed: Warden calls KMS only in this account)."""
        if not own:
            return (f"{keys.UNCONFIRMED} that it is a usable customer-managed key: Warden describes keys only in "
                    f"its own account, not in {bucket.account}")
        found = verified.verify(key, bucket.region)
        return True if found.usable else found.problem

    def _claim(self, report: Report, snapshot: discovery.Snapshot, part: str = "") -> bool:
        """Whether this run tells the report's findings (recorded as pending, before any fix). Findings equal
        to the open ones last told are not told again; a relapse after a fix is a new story. A message left
        pending by a failed run is sent first."""
        sk = discovery.findings_sk(report.account, report.bucket, part)
        previous = snapshot.findings.get(sk)
        if previous and previous.get("pending"):
            self._send(report.account, report.bucket, list(previous.get("lines") or []),
                       list(previous.get("pipelines") or []), previous.get("region") or report.region, snapshot,
                       report, resolved=False, part=part)
        fingerprint = report.fingerprint()
        open_before = bool(previous) and previous["fingerprint"] != "compliant" and not previous.get("resolved")
        if fingerprint == "compliant":
            if open_before:  # fixed by someone else: remembered, so that a relapse is told again
                self._map.claim(snapshot, report.account, report.bucket, "compliant", resolved=True,
                                at=clock.now(), lines=[], pipelines=report.pipelines, region=report.region,
                                part=part)
            return False
        if open_before and previous["fingerprint"] == fingerprint:
            return False  # the same open findings: told already
        found = report.found()
        if open_before and found and set(found) <= set(previous.get("found") or []):
            # Fewer findings than last told (the others were fixed): remembered without a message, so
            # that a relapse is told again.
            self._map.claim(snapshot, report.account, report.bucket, fingerprint, resolved=False, at=clock.now(),
                            lines=report.lines(), pipelines=report.pipelines, region=report.region, found=found,
                            quiet=True, part=part)
            return False
        return self._map.claim(snapshot, report.account, report.bucket, fingerprint, resolved=False,
                               at=clock.now(), lines=report.lines(), pipelines=report.pipelines,
                               region=report.region, found=found, part=part)

    def _send(self, account: str, bucket: str, lines: list[str], pipelines: list[str], region: str,
              snapshot: discovery.Snapshot, report: Report, *, resolved: bool, part: str = "") -> None:
        sk = discovery.findings_sk(account, bucket, part)
        notice = Notice(event="artifact.noncompliant",
                        event_id=f"artifacts:{account}:{bucket}:{snapshot.findings[sk]['fingerprint']}",
                        time=clock.now(), account=account, region=region, state="NONCOMPLIANT", bucket=bucket,
                        pipelines=pipelines, findings=lines)
        report.told = bool(self._notifier.send(notice)) or report.told  # raises: stays pending, retried
        still = [f"{c.id}: {c.text}" for c in report.failed if c.id not in report.fixed] \
            if report.bucket == bucket and report.checks else None
        self._map.sent(snapshot, account, bucket, lines=lines, resolved=resolved, found=still, part=part)

    # -- rollback targets ---------------------------------------------------------------------------
    def _protect(self, reports: list[Report], snapshot: discovery.Snapshot) -> dict[str, int]:
        """Keep rollback targets' artifacts, only in buckets this pass audited as enforced, proven artifact
        stores of this account; a location Warden could not keep is told (once per bucket and set of
        locations), and the pass goes on. Returns the counts; raises for transient failures, after."""
        if self._ledger is None:
            return {}
        config = self._rules()
        writable = {r.bucket: r for r in reports if r.account == self._account and r.mode == "enforce"
                    and r.state is not None and not r.unconfirmed
                    and eligibility.why_not(r.bucket, r.region, self._allowed) is None}

        def s3_for(bucket: str) -> Any:
            report = writable.get(bucket)
            return self._s3_in(report.region, report.account) if report else None

        def expire_days_of(bucket: str) -> int | None:
            rules: BucketPolicy | None = config.for_bucket(bucket)
            return rules.expire_days if rules and rules.mode == "enforce" else None

        def lifecycle_of(bucket: str) -> list[dict[str, Any]]:
            report = writable.get(bucket)
            return report.state.lifecycle if report and report.state else []

        ddb, table = self._ledger
        done = protect.protect(ddb=ddb, table=table, own_account=self._account, s3_for=s3_for,
                               lifecycle_of=lifecycle_of, expire_days_of=expire_days_of, transient=transient)
        for where in done.missing:
            logger.error("a rollback target's artifact has expired", extra=where)
        for name, report in sorted(writable.items()):
            failed = [f for f in done.failed if f["bucket"] == name]
            told = Report(name, report.account, report.region, report.pipelines, mode="enforce",
                          checks=[checks.Check(TARGETS_CHECK, False, f"{f['pipeline']} {f['stage']}: "
                                               f"s3://{name}/{f['key']}: {f['reason']}") for f in failed])
            if failed:
                told.not_fixed[TARGETS_CHECK] = TARGETS_NOT_KEPT
            if self._claim(told, snapshot, part=TARGETS_PART):
                self._send(told.account, name, told.lines(), told.pipelines, told.region, snapshot, told,
                           resolved=False, part=TARGETS_PART)
        if done.unconfirmed:
            raise ArtifactsUnconfirmed("could not confirm rollback targets: " + "; ".join(
                f"s3://{u['bucket']}/{u['key']}: {u['reason']}" for u in done.unconfirmed))
        return {"kept": len(done.kept), "refreshed": len(done.refreshed), "missing": len(done.missing),
                "skipped": len(done.skipped), "failed": len(done.failed)}

    @staticmethod
    def _result(reports: list[Report]) -> dict[str, Any]:
        return {"status": "audited", "audited": len([r for r in reports if r.mode in ("enforce", "audit")]),
                "noncompliant": len([r for r in reports if not r.compliant and r.mode != "excluded"]),
                "fixed": len([r for r in reports if r.fixed]),
                "writes": sum(r.writes for r in reports), "told": len([r for r in reports if r.told]),
                "buckets": [r.as_dict() for r in reports]}

