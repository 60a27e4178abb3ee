"""Text taken from events is data: cleaned of what could disguise it, and clipped to a known length.

Every value an event carries (commit messages, repository names, error summaries, approval notes)
is written by someone Warden does not know. Before it is stored or shown it loses control
characters, Unicode direction overrides (which can make `evil.example/moc.elgoog` read backwards),
zero-width characters and Unicode tag characters (invisible text),
and it is clipped to the limit documented in `LIMITS`, so that one field cannot fill a message,
a page or an item. Cleaning is a pure function of the input: a redelivered event yields the same text.
Channel markup (Slack / Amazon Q client-markdown) is escaped separately, at render time (warden.notify.render).
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"

# The longest text Warden keeps or shows of each kind of field, in characters.
LIMITS = {
    "name": 100,  # pipeline, stage, action, application, deployment group (CodePipeline allows 100)
    "id": 100,  # execution and deployment ids, tokens
    "commit_message": 300,  # the first line, in messages and pages
    "stored_commit_message": 1000,  # the whole message, in the ledger and approval items
    "author": 128,
    "email": 254,  # a git author's e-mail address (RFC 5321's longest path)
    "repository": 200,  # a full repository name, `owner/name`
    "ref": 255,  # a git branch or tag name
    "error": 600,  # an action's error summary or CodeDeploy's error message
    "note": 500,  # an approval's CustomData (CodePipeline allows 500) and a reviewer's comment
    "account": 12,
    "other": 600,
}

# C0/C1 controls, the bidirectional embedding/override/isolate marks (Trojan Source), zero-width characters
# (U+200B-U+200F, U+2060-U+2064, U+FEFF: they split a word so that a filter or a reader misses it) and
# Unicode tag characters (U+E0000-U+E007F: invisible text that some models and tools still read).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_INVISIBLE = re.compile(f"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f{_BIDI}\u200b-\u200f"
                        f"\u2028\u2029\u2060-\u2064\ufeff\U000e0000-\U000e007f]")
_BREAKS = re.compile(r"[\r\n\t]+")


def clean(value: object, limit: int | None = None, *, one_line: bool = True) -> str:
    """`value` as plain, visible text: no control characters or direction marks, one line (unless
    `one_line` is False), NFC-normalised, at most `limit` characters (an ellipsis marks a cut)."""
    text = unicodedata.normalize("NFC", str(value))
    text = _INVISIBLE.sub("", _BREAKS.sub(" ", text) if one_line else text.replace("\r\n", "\n"))
    if one_line:
        text = " ".join(text.split())
    return clip(text, limit)


# What SQS, SNS and DynamoDB cannot carry (SQS: only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)
# and UTF-8 cannot encode: lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def wire_safe(value: object) -> str:
    """`value` as text that every AWS API, log stream and terminal takes: each character SQS refuses or
    UTF-8 cannot encode (a lone surrogate such as U+D800, C0 controls other than tab and line breaks,
    U+FFFE/U+FFFF) is written as its escape (`\\ud800`). Nothing else changes, so that what was sent
    can still be read in it: for a reason or a payload that must get out whatever it holds (the
    dead-letter queue), not for display (that is `clean`)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))


def clip(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + ELLIPSIS


def first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""
