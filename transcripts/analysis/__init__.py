"""Post-call analysis, pluggable: the CALL_ANALYSER setting names a `CallAnalyser` class by dotted path.

- `transcripts.analysis.rules.RuleBasedAnalyser` (the default): local keyword rules, no network, instant.
- `transcripts.analysis.llm.LlmAnalyser`: an OpenAI chat-completions endpoint (CALL_ANALYSIS_LLM_URL, with
  CALL_ANALYSIS_LLM_API_KEY and CALL_ANALYSIS_LLM_MODEL), falling back to the rules when it fails.

An analyser gets the call's end and its transcript (`AnalysisInput`) and answers an `AnalysisResult`: a
summary, an outcome label (transcripts.models.Outcome) and a sentiment score in -1..1."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class AnalysisInput:
    status: str  # the call's final status (completed, failed, no_answer)
    end_reason: str  # hangup, voicemail, busy… ("" when none)
    duration: int | None  # seconds answered
    lines: list[tuple[str, str]] = field(default_factory=list)  # (speaker, text) in order

    def text_of(self, speaker: str) -> str:
        return " ".join(text for who, text in self.lines if who == speaker)


@dataclass(frozen=True)
class AnalysisResult:
    summary: str
    outcome: str
    sentiment: float


class CallAnalyser:
    def analyse(self, call: AnalysisInput) -> AnalysisResult:
        raise NotImplementedError


@cache
def analyser_load(dotted_path: str) -> CallAnalyser:
    return import_string(dotted_path)()


def sentiment_clamp(value: float) -> float:
    return round(max(-1.0, min(1.0, float(value))), 3)
