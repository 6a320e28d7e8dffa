"""An analyser that asks a language model, over the OpenAI chat-completions shape.

Settings: CALL_ANALYSIS_LLM_URL (the full URL of a `/v1/chat/completions` endpoint: OpenAI, vLLM,
llama.cpp's server, Ollama…), CALL_ANALYSIS_LLM_API_KEY (sent as `Authorization: Bearer`, omitted when
empty), CALL_ANALYSIS_LLM_MODEL, CALL_ANALYSIS_LLM_TIMEOUT_SECONDS. The model is asked for a JSON object
`{"summary", "outcome", "sentiment"}`; an outcome outside transcripts.models.Outcome becomes `other`, a
sentiment is clamped to -1..1. When the endpoint is unset, unreachable or answers something unusable, the
rule-based analyser answers instead (logged): a call is never left without its analysis because a model
is down."""

from __future__ import annotations

import json
import logging

import httpx
from django.conf import settings

from transcripts.analysis import AnalysisInput, AnalysisResult, CallAnalyser, sentiment_clamp
from transcripts.analysis.rules import RuleBasedAnalyser
from transcripts.models import Outcome

log = logging.getLogger(__name__)

MAX_TRANSCRIPT_CHARS = 12_000
SYSTEM_PROMPT = (
    "You analyse phone calls between an AI voice agent and a caller. Answer only with a JSON object with "
    'the keys "summary" (one or two sentences), "outcome" (one of: ' + ", ".join(Outcome.values) + ") and "
    '"sentiment" (the caller\'s sentiment, a number from -1 to 1).'
)


class AnalysisUnavailable(RuntimeError):
    pass


def transcript_text(call: AnalysisInput) -> str:
    lines = "\n".join(f"{speaker}: {text}" for speaker, text in call.lines)
    header = f"call status: {call.status}; end reason: {call.end_reason or 'none'}; seconds: {call.duration}"
    return f"{header}\n{lines}"[:MAX_TRANSCRIPT_CHARS]


def _result_from(content: str) -> AnalysisResult:
    text = content.strip()
    if text.startswith("```"):  # some models fence their JSON
        text = text.strip("`").removeprefix("json").strip()
    try:
        answer = json.loads(text)
        summary = str(answer["summary"]).strip()
        outcome = str(answer.get("outcome", "")).strip().lower()
        sentiment = sentiment_clamp(float(answer.get("sentiment", 0)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise AnalysisUnavailable(f"the model's answer is not the JSON asked for: {exc}") from exc
    if not summary:
        raise AnalysisUnavailable("the model's summary is empty")
    return AnalysisResult(
        summary=summary[:2000],
        outcome=outcome if outcome in Outcome.values else Outcome.OTHER,
        sentiment=sentiment,
    )


def chat_completion(call: AnalysisInput) -> AnalysisResult:
    url = settings.CALL_ANALYSIS_LLM_URL
    if not url:
        raise AnalysisUnavailable("CALL_ANALYSIS_LLM_URL is not set")
    headers = {"Content-Type": "application/json"}
    if settings.CALL_ANALYSIS_LLM_API_KEY:
        headers["Authorization"] = f"Bearer {settings.CALL_ANALYSIS_LLM_API_KEY}"
    body = {
        "model": settings.CALL_ANALYSIS_LLM_MODEL,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": transcript_text(call)},
        ],
    }
    try:
        response = httpx.post(
            url, json=body, headers=headers, timeout=settings.CALL_ANALYSIS_LLM_TIMEOUT_SECONDS
        )
        response.raise_for_status()
        content = response.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise AnalysisUnavailable(f"the model endpoint failed: {exc}") from exc
    return _result_from(content or "")


class LlmAnalyser(CallAnalyser):
    def __init__(self) -> None:
        self.fallback = RuleBasedAnalyser()

    def analyse(self, call: AnalysisInput) -> AnalysisResult:
        try:
            return chat_completion(call)
        except AnalysisUnavailable as exc:
            log.warning("call analysis: %s; using the rule-based analyser", exc)
            return self.fallback.analyse(call)
