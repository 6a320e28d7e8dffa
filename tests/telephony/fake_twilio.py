"""A local fake of Twilio's REST API (the parts we use), served on 127.0.0.1 for the real twilio SDK."""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qs

from tests.telephony.fake_carrier import Answer, FakeCarrier


class FakeTwilio(FakeCarrier):
    """`POST …/Calls.json` (a form) creates a call, answered 201 `queued`; `POST …/Calls/{sid}.json`
    updates one (a hang-up: `Status=completed`), answered 200."""

    def creates(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/Calls.json")]

    def body_read(self, raw: bytes) -> dict[str, object]:
        """Twilio's SDK posts forms: the fields as lists of values, as `parse_qs` reads them."""
        return {"form": parse_qs(raw.decode(), keep_blank_values=True)}

    def answer(self, request: dict) -> Answer:
        form, path = request["form"], request["path"]
        if path.endswith("/Calls.json"):
            return 201, {
                "sid": "CA" + uuid.uuid4().hex,
                "status": "queued",
                "to": form["To"][0],
                "from": form["From"][0],
            }
        sid = re.search(r"/Calls/(CA\w+)\.json", path)
        return 200, {"sid": sid.group(1) if sid else "", "status": form.get("Status", [""])[0]}
