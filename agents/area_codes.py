"""The US area code → state table (agents/data/us_area_codes.csv), built offline from phonenumbers' geocoder.

phonenumbers describes a US number as a state ("New Jersey") or a city and state ("San Francisco, CA"),
keyed by number prefixes of varying length. For each area code the US owns we take the description of the
bare area-code prefix when it names a state, or else the state most of its longer prefixes name.

Rebuild after upgrading phonenumbers:  python -m agents.area_codes > agents/data/us_area_codes.csv
"""

import csv
import io
import sys
from collections import Counter
from functools import cache
from pathlib import Path

CSV_PATH = Path(__file__).parent / "data" / "us_area_codes.csv"

US_STATES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS",
    "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA",
    "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington": "WA", "Washington State": "WA", "West Virginia": "WV",
    "Wisconsin": "WI", "Wyoming": "WY", "Washington D.C.": "DC", "District of Columbia": "DC",
}  # fmt: skip
STATE_CODES = frozenset(US_STATES.values())


def state_of_description(description: str) -> str | None:
    """'California' → 'CA'; 'San Francisco, CA' → 'CA'; anything else (a Canadian province, '') → None."""
    description = description.strip()
    if description in US_STATES:
        return US_STATES[description]
    _, _, tail = description.rpartition(", ")
    return tail if tail in STATE_CODES else None


def build_rows() -> list[tuple[str, str]]:
    """(area code, state code) for every area code phonenumbers places in the US and in one state."""
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA

    by_prefix: dict[str, list[tuple[str, str]]] = {}
    for prefix, names in GEOCODE_DATA.items():
        if prefix.startswith("1") and len(prefix) >= 4 and "en" in names:
            by_prefix.setdefault(prefix[1:4], []).append((prefix, names["en"]))
    rows = []
    for npa in range(200, 1000):
        area = str(npa)
        sample = phonenumbers.parse(f"+1{area}2345678")
        if phonenumbers.region_code_for_number(sample) != "US":
            continue  # Canada and the Caribbean share +1 but are their own jurisdictions
        entries = by_prefix.get(area, [])
        exact = [state_of_description(name) for prefix, name in entries if len(prefix) == 4]
        if exact and exact[0]:
            rows.append((area, exact[0]))
            continue
        votes = Counter(s for s in (state_of_description(name) for _, name in entries) if s)
        if votes:
            rows.append((area, votes.most_common(1)[0][0]))
    return rows


def write_csv(out) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["area_code", "state"])
    writer.writerows(build_rows())


@cache
def us_area_code_states() -> dict[str, str]:
    """The shipped table: {'415': 'CA', ...}."""
    with CSV_PATH.open(newline="", encoding="utf-8") as f:
        return {row["area_code"]: row["state"] for row in csv.DictReader(f)}


def csv_text() -> str:
    buffer = io.StringIO()
    write_csv(buffer)
    return buffer.getvalue()


if __name__ == "__main__":
    write_csv(sys.stdout)
