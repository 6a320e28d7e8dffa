"""BENCH status_callbacks: Twilio status callbacks processed per second, against a bare Django view.

One uvicorn process serves the project's ASGI application (the same middleware, settings and database)
with one extra URL, `/bench/bare`, a view that does nothing and answers 204: the reference. Client
threads POST signed, Twilio-shaped status callbacks (initiated, ringing, in-progress, completed for each
of many calls) to `/v1/twilio/status`, each answered only once the event is stored and applied under its
row lock (with its live broadcast and max_duration timer sent after commit); then the same requests to
the bare view. The ratio is ours / reference; the target is at least 0.5.

The database is its own: a temporary SQLite DATA_DIR, migrated here, or DATABASE_URL when it is set
(its bench rows are removed at the end). Redis comes from REDIS_URL (`make bench` starts one).

    make bench BENCH=status_callbacks
    BENCH_CALLS=1000 BENCH_CLIENTS=32 make bench BENCH=status_callbacks"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wordcab_admin.settings")

TOKEN = "bench-auth-token"  # noqa: S105 -- a throwaway token for signing local requests
ACCOUNT = "AC" + "b" * 32
CALLS = int(os.environ.get("BENCH_CALLS", "500"))
# Senders in flight, the same for both sides. Twilio posts the callbacks of concurrent calls concurrently;
# a bare view saturates this server with 8 (measured: 8 → 32 senders gave the same ~350/s), while the
# status endpoint applies whatever queued up in one transaction and reaches its capacity only with more
# requests in flight (PostgreSQL, 8 → 32 senders: 164 → 200/s). 32 measures both at capacity.
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
TARGET = 0.5
STATUSES = ["initiated", "ringing", "in-progress", "completed"]


# --- the server side (a child process) -------------------------------------------------------------


def bare(request):
    from django.http import HttpResponse

    return HttpResponse(status=204)


def _urlpatterns():
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [path("bench/bare", csrf_exempt(bare)), path("", include("wordcab_admin.urls"))]


def serve(port: int) -> None:
    import django
    import uvicorn
    from django.conf import settings

    django.setup()
    settings.ROOT_URLCONF = "bench_status_callbacks_urls"
    module = type(sys)("bench_status_callbacks_urls")
    module.urlpatterns = _urlpatterns()
    sys.modules[module.__name__] = module
    from wordcab_admin.asgi import application  # resolves every URL pattern at import

    uvicorn.run(
        application, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )


# --- the measuring side ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the bench server did not listen on {port}")


def blast(port: int, requests: list[list[tuple[str, bytes, dict]]]) -> float:
    """Each inner list is sent in order by one client thread over a keep-alive connection; returns
    requests per second over all of them. Any non-2xx answer aborts the run."""
    failures: list[str] = []

    def client(batch: list[tuple[str, bytes, dict]]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for path, body, headers in batch:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status >= 300:
                failures.append(f"{path}: {response.status}")
                return
        conn.close()

    threads = [threading.Thread(target=client, args=(batch,)) for batch in requests]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed, e.g. {failures[0]}")
    return sum(len(batch) for batch in requests) / elapsed


def main() -> int:
    temp_dir = None
    if not os.environ.get("DATABASE_URL"):
        temp_dir = tempfile.mkdtemp(prefix="wc-bench-callbacks-")
        os.environ["DATA_DIR"] = temp_dir
    port = free_port()
    os.environ.update(
        TWILIO_AUTH_TOKEN=TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        # Production settings: DEBUG off (no query log), plain HTTP on loopback.
        DEBUG="false",
        SECRET_KEY="bench-" + "k" * 50,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from agents.models import Agent, Provider
    from calls.models import Call, CallStatus
    from telephony.twilio.signature import twilio_sign
    from wordcab_admin.kernel.public_url import public_url

    call_command("migrate", verbosity=0)
    agent = Agent.objects.create(name="bench status callbacks")
    calls = Call.objects.bulk_create(
        [
            Call(
                agent=agent,
                to_number="+14155550123",
                provider=Provider.TWILIO,
                provider_call_id=f"CA{os.getpid():08x}{i:024x}",  # unique per run: a crashed run leaves rows
            )
            for i in range(CALLS)
        ]
    )
    calls = list(Call.objects.filter(agent=agent).order_by("id"))

    def signed(path: str, params: dict[str, str]) -> tuple[str, bytes, dict]:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_sign(public_url(path), params),
        }
        return path, urlencode(params).encode(), headers

    ours: list[list[tuple[str, bytes, dict]]] = [[] for _ in range(CLIENTS)]
    reference: list[list[tuple[str, bytes, dict]]] = [[] for _ in range(CLIENTS)]
    for index, call in enumerate(calls):
        for sequence, status in enumerate(STATUSES):
            params = {
                "AccountSid": ACCOUNT,
                "CallSid": call.provider_call_id,
                "CallStatus": status,
                "SequenceNumber": str(sequence),
                "From": "+14155559999",
                "To": call.to_number,
                "Direction": "outbound-api",
                "ApiVersion": "2010-04-01",
                "CallbackSource": "call-progress-events",
                "Timestamp": "Wed, 25 Nov 2026 15:30:43 +0000",
                **({"CallDuration": "12", "SipResponseCode": "200"} if status == "completed" else {}),
            }
            ours[index % CLIENTS].append(signed(f"/v1/twilio/status?call_id={call.public_id}", params))
            reference[index % CLIENTS].append(signed("/bench/bare", params))

    server = subprocess.Popen([sys.executable, __file__, "serve", str(port)], env=os.environ.copy())
    try:
        wait_listening(port)
        warm = [batch[:20] for batch in reference]
        blast(port, warm)
        reference_rate = blast(port, reference)
        ours_rate = blast(port, ours)
        reference_rate = (reference_rate + blast(port, reference)) / 2
    finally:
        server.terminate()
        server.wait(timeout=10)

    completed = Call.objects.filter(agent=agent, status=CallStatus.COMPLETED).count()
    events = sum(call.events.count() for call in Call.objects.filter(agent=agent)[:10])
    if completed != CALLS or events != 40:
        print(f"bench status_callbacks: only {completed}/{CALLS} calls completed", file=sys.stderr)
        return 1
    if temp_dir:
        shutil.rmtree(temp_dir, ignore_errors=True)
    else:
        Call.objects.filter(agent=agent).delete()
        agent.delete()

    ratio = ours_rate / reference_rate
    verdict = "PASS" if ratio >= TARGET else "MISS"
    print(
        f"# {CALLS} calls x {len(STATUSES)} signed callbacks, {CLIENTS} client threads, one uvicorn process, "
        f"{django.db.connection.vendor}"
    )
    print(
        f"BENCH status_callbacks_per_s ours={ours_rate:.0f} reference={reference_rate:.0f} "
        f"ratio={ratio:.2f} target={TARGET} {verdict}"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    else:
        sys.exit(main())
