"""Which pipeline stage or CodeDeploy deployment group an alarm guards, from three sources, merged:

1. the alarm's tags `pipeline-warden:pipeline` + `pipeline-warden:stage` (and `pipeline-warden:deployment-group`
   as APPLICATION/GROUP), read with ListTagsForResource in the alarm's account;
2. the `rollback` document's rules (alarm name globs, optionally accounts);
3. the CloudWatchAlarm rules of the pipelines' own stage conditions (beforeEntry, onSuccess, onFailure): Warden
   keeps watching those alarms after the condition's wait is over (for pipelines that ran in the last day).

A deployment group that a recently active pipeline stage deploys (a CodeDeploy action of that stage) is that
stage's target: an alarm mapped to the group and another mapped to the stage claim the same release once,
and page once (one incident per release).

Tags are claims made by whoever can tag the alarm. They name a pipeline or group in the alarm's own account
and region only (a tag can never reach another account or region), and only within the `rollback` document's
`tag_grants` (an allow list the platform team owns): each thing a tag names, the pipeline stage and the
deployment group, is checked against the grants on its own, and what no grant covers is dropped, logged and
said (a `denied` target, and `dropped` on the targets that do act). Without `tag_grants`, tags map nothing.
In an account shared by teams, one team's alarm cannot roll back another team's pipeline or deployment group
by tagging itself, nor reach one through the stage that deploys a granted group.

Regions: a target lives in a region. Tags name the alarm's own region; a rule's target is in the alarm's region
unless the rule names `target_region`; a stage condition's alarm is in its pipeline's region unless the
condition's rule names another. An alarm of eu-west-1 never maps to a us-east-1 stage by name alone.

Reads are cached per container (tags 5 minutes, active pipelines 5 minutes, definitions 15 minutes):
mappings change rarely, and a flapping alarm must not cost a read per flap. Nothing here writes, so
redelivery and order do not matter.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from warden.core.log import logger
from warden.rollback.config import RollbackConfig

TAG_PIPELINE = "pipeline-warden:pipeline"
TAG_STAGE = "pipeline-warden:stage"
TAG_GROUP = "pipeline-warden:deployment-group"
TAGS_SOURCE = "alarm tags"
TAGS_SECONDS = 300
CONDITIONS_SECONDS = 900
ACTIVE_SECONDS = 300
ACTIVE_WINDOW = timedelta(days=1)  # a pipeline that started nothing for a day has no stage to roll back now
CONDITION_KINDS = ("beforeEntry", "onSuccess", "onFailure")


@dataclass(frozen=True)
class Target:
    """One thing an alarm guards: a pipeline stage, a deployment group, or a stage deployed through a group."""

    account: str
    pipeline: str | None = None
    stage: str | None = None
    application: str | None = None
    group: str | None = None
    sources: tuple[str, ...] = ()
    mode: str | None = None  # a rule's own mode, over the document's
    region: str = ""  # where the pipeline or group is ("" when unknown: the caller's own region)
    denied: str | None = None  # named by alarm tags that no grant covers: told, never acted on
    dropped: tuple[str, ...] = ()  # what the alarm's tags named and no grant covers, said with this target

    @property
    def key(self) -> str:
        """The cooldown unit: one stage, or one deployment group. Not keyed by region (as the ledger keys a
        pipeline by account and name): same-named stages of two regions of one account share a cooldown,
        which can only hold a second rollback back, never add one. The incident key names the region."""
        if self.pipeline:
            return f"{self.account}/pipeline/{self.pipeline}/{self.stage}"
        return f"{self.account}/codedeploy/{self.application}/{self.group}"

    @property
    def name(self) -> str:
        return f"{self.pipeline}/{self.stage}" if self.pipeline else f"{self.application}/{self.group}"

    @property
    def deployment_group(self) -> str | None:
        return f"{self.application}/{self.group}" if self.group else None

    @property
    def title(self) -> str:
        """Every thing this target may act on: the stage, and the deployment group riding along with it."""
        if self.pipeline and self.group:
            return f"{self.pipeline}/{self.stage} and deployment group {self.deployment_group}"
        return self.name


class Targets(list):
    """The targets of one alarm; `dropped` says what its tags named that no grant covers."""

    dropped: tuple[str, ...] = ()


def _group(value: str | None) -> tuple[str | None, str | None]:
    if not value or value.count("/") != 1:
        return None, None
    app, group = value.split("/")
    return (app, group) if app and group else (None, None)


def merge(found: list[Target]) -> list[Target]:
    """One target per stage (a group named for that stage rides along) and per group not tied to a stage."""
    stages: dict[tuple[str, str, str], Target] = {}
    groups: dict[tuple[str, str, str], Target] = {}
    for t in found:
        if t.pipeline and t.stage:
            known = stages.get((t.region, t.pipeline, t.stage))
            if known is None:
                stages[(t.region, t.pipeline, t.stage)] = t
            else:
                stages[(t.region, t.pipeline, t.stage)] = replace(
                    known, application=known.application or t.application, group=known.group or t.group,
                    sources=known.sources + t.sources, mode=known.mode or t.mode)
        elif t.group:
            key = (t.region, t.application or "", t.group)
            known = groups.get(key)
            groups[key] = t if known is None else replace(
                known, sources=known.sources + t.sources, mode=known.mode or t.mode)
    tied = {(t.region, t.application, t.group) for t in stages.values() if t.group}
    return [*stages.values(), *(t for k, t in groups.items() if k not in tied)]


@dataclass
class _Cached:
    until: float
    value: Any = field(default=None)


class AlarmMap:
    def __init__(self, *, ledger: Any = None, bake_minutes: Callable[[], float] = lambda: 60,
                 clock: Any = time.monotonic) -> None:
        """`ledger`: a LedgerReader, whose time index names the recently active pipelines."""
        self._ledger = ledger
        self._bake = bake_minutes
        self._clock = clock
        self._tags: dict[str, _Cached] = {}
        self._conditions: dict[str, _Cached] = {}
        self._recent: dict[str, _Cached] = {}

    @property
    def _bake_minutes(self) -> float:
        return self._bake()

    def targets(self, transition: Any, config: RollbackConfig, access: Any | None) -> Targets:
        """`access`: the AccountClients of the alarm's account, None when Warden cannot read it (then only the
        configuration's rules can map the alarm). Targets no grant covers come back `denied` (to be told), the
        others carry what was dropped (`dropped`)."""
        found: list[Target] = []
        denied: list[Target] = []
        account, region = transition.account, transition.region
        if access is not None:
            for tagged in self._from_tags(transition, access):
                kept, refused = self._granted(transition, tagged, config)
                denied += refused
                found += [kept] if kept is not None else []
        for rule in config.matching(transition.alarm, account, region):
            app, group = _group(rule.deployment_group)
            found.append(Target(account, rule.pipeline, rule.stage, app, group, (f"rule {rule.name}",), rule.mode,
                                region=rule.target_region or region))
        if access is not None:
            home = getattr(access, "region", None) or region
            for pipeline, stage, kind, where in self._conditions_of(transition, access).get(transition.alarm, ()):
                if (where or home) == region:  # the condition's alarm is this one, not a namesake elsewhere
                    found.append(Target(account, pipeline, stage, sources=(f"{kind} condition of {pipeline}/{stage}",),
                                        region=home))
            if any(t.group and not t.pipeline and t.region == home for t in found):
                deployed_by = self._groups_of(transition, access)
                found = [self._tied(t, deployed_by, home, transition, config) for t in found]
        merged = merge(found)
        covered = {(t.region, t.pipeline, t.stage) for t in merged if t.pipeline} | {
            (t.region, t.application, t.group) for t in merged if t.group}
        # A part no grant covers, which a rule or stage condition maps anyway, is mapped: nothing to tell.
        denied = [t for t in denied if ((t.region, t.pipeline, t.stage) if t.pipeline
                                        else (t.region, t.application, t.group)) not in covered]
        dropped = tuple(f"{t.name} ({t.denied})" for t in denied)
        result = Targets([replace(t, dropped=dropped) for t in merged] + denied)
        result.dropped = dropped
        return result

    @staticmethod
    def _tied(target: Target, deployed_by: dict[tuple[str, str], tuple[str, str]], home: str, transition: Any,
              config: RollbackConfig) -> Target:
        """A group-only target whose group a recently active stage deploys becomes that stage's target (when
        the group came only from tags, only if a grant covers that pipeline too)."""
        if target.pipeline or not target.group or target.region != home:
            return target
        stage = deployed_by.get((target.application or "", target.group))
        if stage is None:
            return target
        if set(target.sources) == {TAGS_SOURCE} and not config.grants_pipeline(
                transition.alarm, transition.account, transition.region, stage[0]):
            return target  # the group alone: the tags' grant does not reach the pipeline that deploys it
        return replace(target, pipeline=stage[0], stage=stage[1],
                       sources=(*target.sources, f"deployed by {stage[0]}/{stage[1]}"))

    @staticmethod
    def _granted(transition: Any, target: Target, config: RollbackConfig) -> tuple[Target | None, list[Target]]:
        """The part of a tag target the grants cover, and a denied target for each part they do not."""
        alarm, account, region = transition.alarm, transition.account, transition.region
        why = ("no tag grant covers it" if config.tag_grants
               else "the rollback document lists no tag_grants, so alarm tags map nothing")
        stage_ok = not target.pipeline or config.grants_pipeline(alarm, account, region, target.pipeline)
        group_ok = not target.group or config.grants_group(alarm, account, region, target.deployment_group or "")
        denied = []
        if not stage_ok:
            denied.append(Target(account, target.pipeline, target.stage, sources=target.sources, region=region,
                                 denied=f"alarm tags name stage {target.pipeline}/{target.stage}: {why}"))
        if not group_ok:
            denied.append(Target(account, None, None, target.application, target.group, sources=target.sources,
                                 region=region, denied=f"alarm tags name deployment group "
                                                       f"{target.deployment_group}: {why}"))
        if denied:
            logger.warning("alarm tags name targets no tag grant covers: dropped", extra={
                "alarm": alarm, "account": account, "region": region, "dropped": [t.name for t in denied]})
        kept = replace(target, pipeline=target.pipeline if stage_ok else None, stage=target.stage if stage_ok else None,
                       application=target.application if group_ok else None, group=target.group if group_ok else None)
        return (kept if kept.pipeline or kept.group else None), denied

    # -- tags ---------------------------------------------------------------------------------------
    def _from_tags(self, transition: Any, access: Any) -> list[Target]:
        tags = self._tags_of(transition.alarm_arn, access, transition.region)
        app, group = _group(tags.get(TAG_GROUP))
        pipeline, stage = tags.get(TAG_PIPELINE), tags.get(TAG_STAGE)
        if not (pipeline and stage) and not group:
            return []
        if bool(pipeline) != bool(stage):
            logger.warning("alarm tags name a pipeline without a stage (or the reverse): ignored",
                           extra={"alarm": transition.alarm, "tags": tags})
            pipeline = stage = None
            if not group:
                return []
        return [Target(transition.account, pipeline, stage, app, group, (TAGS_SOURCE,), region=transition.region)]

    def _tags_of(self, arn: str, access: Any, region: str | None = None) -> dict[str, str]:
        cached = self._tags.get(arn)
        if cached and cached.until > self._clock():
            return cached.value
        from botocore.exceptions import ClientError

        try:
            answer = access.client("cloudwatch", region).list_tags_for_resource(ResourceARN=arn)
            tags = {t["Key"]: t["Value"] for t in answer.get("Tags", [])}
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code != "ResourceNotFoundException":
                raise  # cannot tell what the alarm guards: let Lambda retry rather than stay silent
            tags = {}
        self._tags[arn] = _Cached(self._clock() + TAGS_SECONDS, tags)
        return tags

    # -- stage conditions -----------------------------------------------------------------------------
    def _conditions_of(self, transition: Any, access: Any) -> dict[str, list[tuple[str, str, str, str | None]]]:
        """alarm name -> [(pipeline, stage, condition kind, the alarm's region if the condition names one)] over
        the account's recently active pipelines.

        Only a pipeline that ran within the last day (plus the bake window) can have a stage to roll back or
        to stop, so only those are read: the ledger's time index names them (one query, cached 5 minutes),
        and each one's definition is read once per 15 minutes. An account with 10,000 idle pipelines costs
        nothing more than one with ten."""
        index: dict[str, list[tuple[str, str, str, str | None]]] = {}
        for name in self._active(transition):
            for stage, kind, alarm, region in self._pipeline_conditions(access, name)[0]:
                index.setdefault(alarm, []).append((name, stage, kind, region))
        return index

    def _groups_of(self, transition: Any, access: Any) -> dict[tuple[str, str], tuple[str, str]]:
        """(application, group) -> (pipeline, stage) over the account's recently active pipelines."""
        found: dict[tuple[str, str], tuple[str, str]] = {}
        for name in self._active(transition):
            for stage, app, group in self._pipeline_conditions(access, name)[1]:
                found.setdefault((app, group), (name, stage))
        return found

    def deploying(self, account: str, at: Any, access: Any, application: str, group: str) -> list[tuple[str, str]]:
        """(pipeline, stage) of the account's recently active pipelines whose stage deploys `application`/`group`."""
        moment = SimpleNamespace(account=account, at=at)
        return [(name, stage) for name in self._active(moment)
                for stage, app, grp in self._pipeline_conditions(access, name)[1] if (app, grp) == (application, group)]

    def _active(self, transition: Any) -> list[str]:
        if self._ledger is None:
            return []
        key = transition.account
        cached = self._recent.get(key)
        if cached and cached.until > self._clock():
            return cached.value
        since = transition.at - timedelta(minutes=self._bake_minutes) - ACTIVE_WINDOW
        page = self._ledger.started_between(since, transition.at + timedelta(minutes=5))
        own = getattr(self._ledger, "_own_account", "")
        names = sorted({v.get("pipeline_name") or v.get("pipeline") for v in page.items
                        if (v.get("account") or own) == key or (not v.get("account") and key == own)})
        self._recent[key] = _Cached(self._clock() + ACTIVE_SECONDS, names)
        return names

    def _pipeline_conditions(self, access: Any, name: str) -> tuple[list[tuple[str, str, str, str | None]],
                                                                     list[tuple[str, str, str]]]:
        """([(stage, condition kind, alarm, alarm region)], [(stage, application, group)]) of one pipeline."""
        key = f"{access.account}/{name}"
        cached = self._conditions.get(key)
        if cached and cached.until > self._clock():
            return cached.value
        from botocore.exceptions import ClientError

        try:
            pipeline = access.client("codepipeline").get_pipeline(name=name)["pipeline"]
            found = ([(stage["name"], kind, alarm, region) for stage in pipeline.get("stages", [])
                      for kind, alarm, region in _condition_alarms(stage)],
                     [(stage["name"], *group) for stage in pipeline.get("stages", [])
                      for group in _deployment_groups(stage)])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PipelineNotFoundException":
                raise
            found = ([], [])
        self._conditions[key] = _Cached(self._clock() + CONDITIONS_SECONDS, found)
        return found


def _condition_alarms(stage: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """(condition kind, alarm name, the rule's `region` when it names one) of a stage's CloudWatchAlarm rules."""
    found = []
    for kind in CONDITION_KINDS:
        for condition in (stage.get(kind) or {}).get("conditions", []):
            for rule in condition.get("rules", []):
                if rule.get("ruleTypeId", {}).get("provider") != "CloudWatchAlarm":
                    continue
                names = (rule.get("configuration") or {}).get("AlarmName", "")
                region = rule.get("region") or None
                found += [(kind, name.strip(), region) for name in names.split(",") if name.strip()]
    return found


def _deployment_groups(stage: dict[str, Any]) -> list[tuple[str, str]]:
    """The CodeDeploy (and ECS blue/green) deployment groups a stage's actions deploy to."""
    found = []
    for action in stage.get("actions", []):
        provider = (action.get("actionTypeId") or {}).get("provider")
        configuration = action.get("configuration") or {}
        if provider in ("CodeDeploy", "CodeDeployToECS"):
            app = configuration.get("ApplicationName")
            group = configuration.get("DeploymentGroupName")
            if app and group:
                found.append((app, group))
    return found
