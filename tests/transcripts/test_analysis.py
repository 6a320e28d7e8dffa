"""Post-call analysis: the rule-based outcomes on fixed transcripts, the task idempotent and re-runnable
(one row, the same result), sent when a call ends, the LLM analyser against a local fake endpoint."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from calls.models import CallStatus
from tests.factories import CallFactory
from tests.helpers import apply_event, wait_for
from transcripts.analysis import AnalysisInput
from transcripts.analysis.llm import LlmAnalyser
from transcripts.analysis.rules import RuleBasedAnalyser
from transcripts.models import CallAnalysis
from transcripts.receivers import ended_call_ids
from transcripts.services import call_analysis_run, transcript_segment_add
from transcripts.tasks import call_analyse

AGENT_LINE = ("agent", "Hello, this is the clinic calling about your appointment on Tuesday at ten.")


def analysed(*caller_lines: str, end_reason: str = "hangup") -> tuple[str, float]:
    lines = [AGENT_LINE, *(("caller", text) for text in caller_lines)]
    result = RuleBasedAnalyser().analyse(
        AnalysisInput(status="completed", end_reason=end_reason, duration=30, lines=lines)
    )
    return result.outcome, result.sentiment


@pytest.mark.parametrize(
    ("caller_lines", "outcome"),
    [
        (["Yes, that works for me, thank you."], "appointment_confirmed"),
        (["Yes but can we move it to Friday? I can't make it Tuesday."], "rescheduled"),
        (["I'm busy right now, please call me back later."], "callback_requested"),
        (["No thanks, I'm not interested. Take me off your list."], "not_interested"),
        (["Hmm, what is this about?"], "other"),
        ([], "no_conversation"),
    ],
)
def test_the_rule_based_analyser_labels_fixed_transcripts(caller_lines, outcome):
    assert analysed(*caller_lines)[0] == outcome


def test_a_call_that_ended_on_voicemail_is_labelled_voicemail_whatever_was_said():
    assert analysed("Hi, you've reached Sam, leave a message.", end_reason="voicemail")[0] == "voicemail"


def test_the_rule_based_sentiment_is_positive_negative_or_neutral_within_minus_one_to_one():
    assert analysed("Great, thank you so much, perfect.")[1] == 1.0
    assert analysed("No. Stop calling me, this is annoying.")[1] == -1.0
    assert analysed("Tuesday at ten.")[1] == 0.0


@pytest.mark.django_db
def test_the_analysis_task_run_twice_leaves_one_row_with_the_same_result():
    call = CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now())
    transcript_segment_add(
        call_id=call.public_id, speaker="caller", start=1, end=2, text="Yes that works, thank you"
    )

    call_analyse(call.public_id)
    first = CallAnalysis.objects.get(call=call)
    call_analyse(call.public_id)
    call_analyse(call.public_id, force=True)

    again = CallAnalysis.objects.get(call=call)
    assert CallAnalysis.objects.filter(call=call).count() == 1
    assert (again.summary, again.outcome, again.sentiment) == (first.summary, first.outcome, first.sentiment)
    assert again.outcome == "appointment_confirmed"


@pytest.mark.django_db
def test_a_re_run_replaces_the_analysis_with_one_of_the_transcript_as_it_is_now(api, alice):
    call = CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now())
    transcript_segment_add(call_id=call.public_id, speaker="caller", start=1, end=2, text="Yes, see you then")
    call_analysis_run(call_id=call.public_id)
    transcript_segment_add(
        call_id=call.public_id, speaker="caller", start=3, end=4, text="Actually, please reschedule"
    )

    response = api(alice).post(f"/v1/calls/{call.public_id}/analysis")

    assert response.status_code == 200
    assert response.json()["analysis"]["outcome"] == "rescheduled"
    assert CallAnalysis.objects.filter(call=call).count() == 1


@pytest.mark.django_db
def test_a_call_still_going_on_is_not_analysed_409(api, alice):
    call = CallFactory(status=CallStatus.IN_PROGRESS)

    response = api(alice).post(f"/v1/calls/{call.public_id}/analysis")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "call_not_ended"
    assert not CallAnalysis.objects.exists()


@pytest.mark.django_db
def test_a_viewer_may_not_re_run_the_analysis(api, bob):
    call = CallFactory(status=CallStatus.COMPLETED, ended_at=timezone.now())

    assert api(bob).post(f"/v1/calls/{call.public_id}/analysis").status_code == 403


def test_only_the_calls_announced_as_ended_are_sent_for_analysis():
    announced = [
        {"id": "call_ringing", "status": "ringing", "ended_at": None},
        {"id": "call_done", "status": "completed", "ended_at": "2026-01-01T00:00:00Z"},
        {"id": "call_unanswered", "status": "no_answer", "ended_at": "2026-01-01T00:00:00Z"},
    ]
    assert ended_call_ids(announced) == ["call_done", "call_unanswered"]


@pytest.mark.django_db(transaction=True)
def test_a_call_that_ends_is_analysed_by_the_worker_without_anyone_asking(celery_worker_thread, settings):
    settings.CALL_ANALYSIS_DELAY_SECONDS = 0
    call = CallFactory(status=CallStatus.IN_PROGRESS)
    transcript_segment_add(
        call_id=call.public_id, speaker="caller", start=1, end=2, text="please call me back later"
    )

    apply_event(call=call, status="completed", event_id="end-1", sequence=9)

    wait_for(lambda: CallAnalysis.objects.filter(call=call).exists(), timeout=30, what="the analysis")
    assert CallAnalysis.objects.get(call=call).outcome == "callback_requested"


class FakeChatCompletions:
    """A local stand-in for an OpenAI-compatible /v1/chat/completions endpoint."""

    def __init__(self, answer: str, status: int = 200):
        self.answer, self.status, self.requests = answer, status, []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": body}
                )
                reply = json.dumps(
                    {"choices": [{"message": {"role": "assistant", "content": fake.answer}}]}
                ).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/chat/completions"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def chat(settings):
    fakes = []

    def start(answer: str, status: int = 200) -> FakeChatCompletions:
        fake = FakeChatCompletions(answer, status)
        fakes.append(fake)
        settings.CALL_ANALYSIS_LLM_URL = fake.url
        settings.CALL_ANALYSIS_LLM_API_KEY = "sk-test"
        settings.CALL_ANALYSIS_LLM_MODEL = "small-model"
        return fake

    yield start
    for fake in fakes:
        fake.stop()


def test_the_llm_analyser_sends_the_transcript_in_the_chat_completions_shape_and_reads_its_json(chat):
    fake = chat(
        json.dumps(
            {"summary": "The caller moved the visit to Friday.", "outcome": "rescheduled", "sentiment": 0.4}
        )
    )
    call = AnalysisInput(
        status="completed", end_reason="hangup", duration=42, lines=[AGENT_LINE, ("caller", "Friday please")]
    )

    result = LlmAnalyser().analyse(call)

    assert (result.summary, result.outcome, result.sentiment) == (
        "The caller moved the visit to Friday.",
        "rescheduled",
        0.4,
    )
    request = fake.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "small-model"
    assert [m["role"] for m in request["body"]["messages"]] == ["system", "user"]
    assert "caller: Friday please" in request["body"]["messages"][1]["content"]


def test_the_llm_analysers_unknown_outcome_is_other_and_its_sentiment_is_clamped(chat):
    chat(json.dumps({"summary": "Odd call.", "outcome": "sold_a_car", "sentiment": 7}))

    result = LlmAnalyser().analyse(AnalysisInput(status="completed", end_reason="", duration=5, lines=[]))

    assert (result.outcome, result.sentiment) == ("other", 1.0)


def test_when_the_llm_endpoint_fails_the_rule_based_analysis_answers(chat):
    chat("not json at all", status=500)

    result = LlmAnalyser().analyse(
        AnalysisInput(
            status="completed", end_reason="hangup", duration=5, lines=[("caller", "not interested")]
        )
    )

    assert result.outcome == "not_interested"
