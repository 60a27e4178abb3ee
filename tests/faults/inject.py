"""Faults injected below the handlers: AWS calls answered with throttling (S3: SlowDown) through botocore's
`before-send` event (so botocore's own retries still run, and only a run of failures longer than them reaches Warden),
and the local PagerDuty server answering errors.

`Faults` is armed per operation with a number of failing answers; every client created after `install()`
(the handlers' clients are created on their first call) consults it before moto answers, and moto
answers only what it lets through (or, for a lost answer, carries the request out and then fails it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

BOTOCORE_ATTEMPTS = 6  # warden.aws.clients.RETRIES: max_attempts 5 counts retries (botocore: total_max_attempts 6)
LAMBDA_ATTEMPTS = 3  # template.yaml: MaximumRetryAttempts 2
QUERY_PROTOCOL = {"sns", "sts", "iam"}


@dataclass
class Rule:
    service: str
    operation: str
    remaining: int
    when: Callable[[bytes], bool] | None = None
    failed: int = 0
    lost: bool = False  # the call happens, its answer is lost (an ambiguous failure)


@dataclass
class Faults:
    rules: list[Rule] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)  # "service:Operation" -> requests seen

    def fail(self, api: str, times: int, when: Callable[[bytes], bool] | None = None, *, lost: bool = False) -> Rule:
        """Answer the next `times` requests of `api` ("dynamodb:UpdateItem") with throttling; `when`
        narrows it to requests whose body matches. `lost`: the request is carried out, the answer lost."""
        service, operation = api.split(":")
        rule = Rule(service, operation, times, when, lost=lost)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def __call__(self, request, event_name: str, **kwargs) -> AWSResponse | None:
        """In place of moto's own `before-send` handler: a fault, or moto's answer."""
        _, service, operation = event_name.split(".", 2)  # before-send.<service id>.<Operation>
        api = f"{service}:{operation}"
        self.calls[api] = self.calls.get(api, 0) + 1
        raw = request.body  # a streamed upload (PutObject) is not matched on
        body = raw if isinstance(raw, bytes) else raw.encode() if isinstance(raw, str) else b""
        for rule in self.rules:
            if (rule.service, rule.operation) == (service, operation) and rule.remaining > 0 and (
                    rule.when is None or rule.when(body)):
                rule.remaining -= 1
                rule.failed += 1
                if rule.lost:
                    botocore_stubber(request=request, event_name=event_name, **kwargs)
                return _throttled(request.url, service)
        return botocore_stubber(request=request, event_name=event_name, **kwargs)


def _throttled(url: str, service: str) -> AWSResponse:
    if service == "s3":  # S3 says SlowDown, with 503 and an XML body
        body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce "
                b"your request rate.</Message><RequestId>fault</RequestId></Error>")
        return AWSResponse(url, 503, {"Content-Type": "application/xml"}, MockRawResponse(body))
    if service in QUERY_PROTOCOL:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded"
                b"</Message></Error><RequestId>fault</RequestId></ErrorResponse>")
        headers = {"Content-Type": "text/xml"}
    else:
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": "ThrottlingException"}
    return AWSResponse(url, 400, headers, MockRawResponse(body))


FAULTS = Faults()


def install() -> Faults:
    """Once per process: in place of moto's stubber (botocore runs every `before-send` handler, so the
    fault must decide whether moto sees the request), in every botocore session created from now on."""
    entry = ("before-send", botocore_stubber)
    if entry in BUILTIN_HANDLERS:
        BUILTIN_HANDLERS[BUILTIN_HANDLERS.index(entry)] = ("before-send", FAULTS)
    return FAULTS
