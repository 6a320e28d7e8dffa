"""The built-in analyser: keyword rules over the caller's words, no network and no model.

Outcome, first match wins: the call's end (voicemail, never answered) → `voicemail` / `no_conversation`;
then the caller's words: not interested (an opt-out too) → reschedule → call back later → confirmation;
anything else is `other`. Rescheduling is checked before confirming, because "yes, can we move it to
Friday" contains a yes. Sentiment: (positive words − negative words) / words matched, over the caller's
lines, so it stays in -1..1 (0 when nothing matched). The summary is one sentence saying who spoke and
what it came to, with the caller's first line quoted."""

from __future__ import annotations

import re

from transcripts.analysis import AnalysisInput, AnalysisResult, CallAnalyser, sentiment_clamp
from transcripts.models import Outcome, Speaker

NOT_INTERESTED = (
    r"not interested", r"no thanks?\b", r"stop calling", r"don'?t call", r"take me off", r"remove me",
    r"do not call", r"leave me alone",
)  # fmt: skip
RESCHEDULE = (
    r"reschedul", r"move (it|the appointment|my appointment)", r"another (day|time)", r"change (it|the time)",
    r"different (day|time)", r"push (it|that) back", r"can'?t make it",
)  # fmt: skip
CALLBACK = (
    r"call (me )?back",
    r"call me later",
    r"call later",
    r"another time",
    r"busy right now",
    r"not a good time",
)
CONFIRM = (
    r"\byes\b", r"\byeah\b", r"\bconfirm", r"that works", r"sounds good", r"see you", r"i'?ll be there",
    r"\bsure\b", r"\bperfect\b",
)  # fmt: skip
POSITIVE = (
    "thank", "thanks", "great", "good", "perfect", "yes", "love", "happy", "wonderful", "excellent",
    "sure", "awesome", "glad", "appreciate",
)  # fmt: skip
NEGATIVE = (
    "no", "not", "angry", "bad", "terrible", "annoying", "stop", "hate", "never", "wrong", "upset",
    "problem", "awful", "complaint",
)  # fmt: skip
OUTCOME_WORDS = {
    Outcome.APPOINTMENT_CONFIRMED: "confirmed the appointment",
    Outcome.RESCHEDULED: "asked to reschedule",
    Outcome.CALLBACK_REQUESTED: "asked to be called back",
    Outcome.NOT_INTERESTED: "was not interested",
    Outcome.VOICEMAIL: "reached voicemail",
    Outcome.NO_CONVERSATION: "no conversation took place",
    Outcome.OTHER: "no clear outcome",
}
QUOTE_CHARS = 120


def _any(patterns: tuple[str, ...], text: str) -> bool:
    return any(re.search(pattern, text) for pattern in patterns)


def outcome_for(call: AnalysisInput) -> str:
    if call.end_reason == "voicemail":
        return Outcome.VOICEMAIL
    caller = call.text_of(Speaker.CALLER).lower()
    if not caller.strip():
        return Outcome.NO_CONVERSATION
    for outcome, patterns in (
        (Outcome.NOT_INTERESTED, NOT_INTERESTED),
        (Outcome.RESCHEDULED, RESCHEDULE),
        (Outcome.CALLBACK_REQUESTED, CALLBACK),
        (Outcome.APPOINTMENT_CONFIRMED, CONFIRM),
    ):
        if _any(patterns, caller):
            return outcome
    return Outcome.OTHER


def sentiment_for(text: str) -> float:
    words = re.findall(r"[a-z']+", text.lower())
    positive = sum(1 for word in words if word.startswith(POSITIVE))
    negative = sum(1 for word in words if word in NEGATIVE)
    if positive + negative == 0:
        return 0.0
    return sentiment_clamp((positive - negative) / (positive + negative))


def summary_for(call: AnalysisInput, outcome: str) -> str:
    agent_lines = sum(1 for speaker, _ in call.lines if speaker == Speaker.AGENT)
    caller_lines = [text for speaker, text in call.lines if speaker == Speaker.CALLER]
    said = f"{agent_lines} agent and {len(caller_lines)} caller lines"
    if caller_lines and outcome not in (Outcome.VOICEMAIL, Outcome.NO_CONVERSATION):
        first = caller_lines[0]
        quoted = first if len(first) <= QUOTE_CHARS else first[: QUOTE_CHARS - 1] + "…"
        return f'The caller {OUTCOME_WORDS[outcome]} ({said}); they first said: "{quoted}".'
    return f"{OUTCOME_WORDS[outcome].capitalize()} ({said})."


class RuleBasedAnalyser(CallAnalyser):
    def analyse(self, call: AnalysisInput) -> AnalysisResult:
        outcome = outcome_for(call)
        return AnalysisResult(
            summary=summary_for(call, outcome),
            outcome=str(outcome),
            sentiment=sentiment_for(call.text_of(Speaker.CALLER)),
        )
