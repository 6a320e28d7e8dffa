"""A local fake of Twilio's REST API (the parts we use), served on 127.0.0.1 for the real twilio SDK."""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class FakeTwilio:
    def __init__(self):
        self.requests: list[dict] = []
        self.next_status: list[tuple[int, dict]] = []  # queued (status, body) answers; default 201 / 200
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeTwilio:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def creates(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/Calls.json")]

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                return None

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
                fake.requests.append(
                    {"path": self.path, "form": form, "auth": self.headers.get("Authorization")}
                )
                if fake.next_status:
                    status, body = fake.next_status.pop(0)
                elif self.path.endswith("/Calls.json"):
                    status = 201
                    body = {
                        "sid": "CA" + uuid.uuid4().hex,
                        "status": "queued",
                        "to": form["To"][0],
                        "from": form["From"][0],
                    }
                else:
                    sid = re.search(r"/Calls/(CA\w+)\.json", self.path)
                    status, body = (
                        200,
                        {"sid": sid.group(1) if sid else "", "status": form.get("Status", [""])[0]},
                    )
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler
