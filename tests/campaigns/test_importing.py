"""Importing a campaign's contacts from a CSV: every data row a contact (refused ones skipped, with why),
rows numbered as a spreadsheet numbers them (header = row 1), the files people export from CRMs, dialers
and spreadsheets read as they are, and a file that cannot be read at all refused whole, creating nothing."""

import io

import pytest

from campaigns import importing
from campaigns.importing import ImportRefused, RowError, contacts_import, csv_preview
from campaigns.models import Campaign, Contact, ContactStatus, SkipReason
from campaigns.services import campaign_create
from compliance.models import AuditEvent, Jurisdiction
from tests.factories import CampaignFactory, DoNotCallFactory

pytestmark = pytest.mark.django_db


def imported(content: bytes, **options):
    """(the report, the campaign's contacts by row) of importing `content` into a fresh campaign."""
    campaign = CampaignFactory()
    report = contacts_import(campaign=campaign, stream=io.BytesIO(content), **options)
    return report, {contact.row: contact for contact in Contact.objects.filter(campaign=campaign)}


def pending_numbers(contacts: dict[int, Contact]) -> dict[int, str]:
    return {row: c.phone_number for row, c in contacts.items() if c.status == ContactStatus.PENDING}


def skipped(contacts: dict[int, Contact]) -> dict[int, str]:
    return {row: c.skip_reason for row, c in contacts.items() if c.status == ContactStatus.SKIPPED}


# --- encodings and delimiters -------------------------------------------------------------------------------


def test_a_utf8_file_with_a_byte_order_mark_keeps_its_first_header_clean():
    report, contacts = imported("\ufeffName,Phone\nRenée,+14155550101\n".encode())
    assert report.columns == ["Name", "Phone"]
    assert report.phone_column == "Phone"
    assert contacts[2].context == {"Name": "Renée"}
    assert contacts[2].phone_number == "+14155550101"


def test_semicolons_separate_columns_as_european_spreadsheets_save_them():
    report, contacts = imported(b"Nom;T\xc3\xa9l\xc3\xa9phone;Phone\nDupont, Jean;x;(415) 555-0101\n")
    assert report.columns == ["Nom", "Téléphone", "Phone"]
    assert contacts[2].context == {"Nom": "Dupont, Jean", "Téléphone": "x"}
    assert pending_numbers(contacts) == {2: "+14155550101"}


def test_tabs_separate_columns_as_a_tsv_export_has_them():
    report, contacts = imported(b"name\tphone_number\tcity\nJane\t415 555 0101\tSan Francisco, CA\n")
    assert report.phone_column == "phone_number"
    assert contacts[2].context == {"name": "Jane", "city": "San Francisco, CA"}


def test_a_windows_1252_export_keeps_its_accents_and_curly_quotes():
    content = "Name,Phone,Note\nJosé Müller,+14155550101,“VIP” – call first\n".encode("cp1252")
    report, contacts = imported(content)
    assert contacts[2].context == {"Name": "José Müller", "Note": "“VIP” – call first"}
    assert report.accepted == 1


def test_a_latin1_file_is_read_with_its_accents():
    content = "Name;Phone\nRené Lefèvre;+14155550101\n".encode("latin-1")
    _, contacts = imported(content)
    assert contacts[2].context == {"Name": "René Lefèvre"}


# --- rows as a spreadsheet numbers them ---------------------------------------------------------------------


def test_a_quoted_cell_with_line_breaks_is_one_row_and_the_rows_after_it_keep_their_numbers():
    content = (
        b"name,phone,address\n"  # row 1
        b'Jane,+14155550101,"1 Main St\nApt 2\nSan Francisco"\n'  # row 2, three lines of text
        b"Joe,not a number,\n"  # row 3
        b"\n"  # row 4: a blank line, not a contact
        b"Jim,+14155550103,\n"  # row 5
    )
    report, contacts = imported(content)
    assert sorted(contacts) == [2, 3, 5]
    assert contacts[2].context["address"] == "1 Main St\nApt 2\nSan Francisco"
    assert (report.rows, report.accepted, report.rejected) == (3, 2, 1)
    assert [(e.row, e.code) for e in report.errors] == [(3, "invalid_number")]


def test_a_row_of_only_delimiters_is_blank_and_not_a_contact():
    report, contacts = imported(b"name,phone\n,,\n , \nJane,+14155550101\n")
    assert list(contacts) == [4]
    assert report.rows == 1


def test_ragged_rows_leave_missing_cells_out_and_keep_extra_cells_as_numbered_columns():
    content = b"name,phone,city\nJane,+14155550101\nJoe,+14155550102,Paris,VIP,2024\n"
    _, contacts = imported(content)
    assert contacts[2].context == {"name": "Jane"}
    assert contacts[3].context == {"name": "Joe", "city": "Paris", "column_4": "VIP", "column_5": "2024"}


def test_a_row_too_short_to_reach_the_phone_column_is_a_missing_number():
    report, contacts = imported(b"name,city,phone\nJane\n")
    assert contacts[2].skip_reason == SkipReason.INVALID_NUMBER
    assert report.errors[0].message == "No phone number in column 'phone'."


def test_empty_and_repeated_header_names_are_made_unique():
    content = b"Name,,Phone,Name,Name\nJane,x,+14155550101,Doe,Jr\n"
    report, contacts = imported(content)
    assert report.columns == ["Name", "column_2", "Phone", "Name_2", "Name_3"]
    assert contacts[2].context == {"Name": "Jane", "column_2": "x", "Name_2": "Doe", "Name_3": "Jr"}


def test_the_context_keeps_every_cell_exactly_whatever_characters_it_and_its_header_hold():
    content = (
        'name,"we{ir}d ""key"" \\",phone,note\n'
        'Zoë 😀,"say ""hi""\\n",+14155550101,"two\nlines\tand a tab, {braces} \x0c"\n'
    ).encode()
    report, contacts = imported(content)
    assert report.columns == ["name", 'we{ir}d "key" \\', "phone", "note"]
    assert contacts[2].context == {
        "name": "Zoë 😀",
        'we{ir}d "key" \\': 'say "hi"\\n',
        "note": "two\nlines\tand a tab, {braces} \x0c",
    }


def test_a_file_of_only_numbers_gives_each_contact_an_empty_context():
    _, contacts = imported(b"phone\n+14155550101\n")
    assert contacts[2].context == {}


def test_ten_thousand_rows_become_ten_thousand_contacts_in_row_order(monkeypatch):
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)  # checked in the helper process, in batches
    monkeypatch.setattr(importing, "BATCH_ROWS", 700)
    lines = [b"first_name,last_name,phone,company"]
    lines += [b"First%d,Last%d,+1415555%04d,Acme %d" % (i, i, i, i % 7) for i in range(10_000)]
    seen = []
    campaign = CampaignFactory()
    report = contacts_import(campaign=campaign, stream=io.BytesIO(b"\n".join(lines)), progress=seen.append)
    assert (report.rows, report.accepted, report.rejected, report.errors) == (10_000, 10_000, 0, [])
    assert seen == [5000, 10_000]
    rows = list(Contact.objects.filter(campaign=campaign).order_by("row").values_list("row", "phone_number"))
    assert rows[0] == (2, "+14155550000")
    assert rows[-1] == (10_001, "+14155559999")
    assert [row for row, _ in rows] == list(range(2, 10_002))
    last = Contact.objects.get(campaign=campaign, row=10_001)
    assert last.context == {"first_name": "First9999", "last_name": "Last9999", "company": "Acme 3"}


# --- each row checked ---------------------------------------------------------------------------------------


def test_each_refused_row_is_a_skipped_contact_with_its_reason_and_the_report_lists_them_in_row_order(
    settings,
):
    settings.CAMPAIGN_ALLOWED_COUNTRIES = ["US", "CA"]
    DoNotCallFactory(number="+14155550104")
    content = (
        b"name,phone\n"  # row 1
        b"Jane,(415) 555-0101\n"  # row 2: accepted
        b"Joe,not a number\n"  # row 3: invalid
        b"Jim,\n"  # row 4: missing
        b"Jo,+1 415 555 0101\n"  # row 5: duplicate of row 2, typed differently
        b"Al,415.555.0104\n"  # row 6: on the do-not-call list
        b"Bo,+44 20 7946 0958\n"  # row 7: a London number
        b"Cy,+1 415 555 0109\n"  # row 8: accepted
    )
    report, contacts = imported(content)
    assert (report.rows, report.accepted, report.rejected) == (7, 2, 5)
    assert pending_numbers(contacts) == {2: "+14155550101", 8: "+14155550109"}
    assert skipped(contacts) == {
        3: SkipReason.INVALID_NUMBER,
        4: SkipReason.INVALID_NUMBER,
        5: SkipReason.DUPLICATE,
        6: SkipReason.DO_NOT_CALL,
        7: SkipReason.COUNTRY_NOT_ALLOWED,
    }
    assert report.errors == [
        RowError(
            3,
            "phone",
            "invalid_number",
            "'not a number' is not a valid phone number: the string supplied did not seem to be a phone number",
        ),
        RowError(4, "phone", "invalid_number", "No phone number in column 'phone'."),
        RowError(5, "phone", "duplicate", "+14155550101 is also on row 2."),
        RowError(6, "phone", "do_not_call", "+14155550104 is on the do-not-call list."),
        RowError(7, "phone", "country_not_allowed", "+442079460958 is in GB; campaigns may call CA, US."),
    ]
    assert (contacts[5].raw_number, contacts[5].phone_number) == ("+1 415 555 0101", "+14155550101")
    assert (contacts[3].raw_number, contacts[3].phone_number) == ("not a number", "")
    assert contacts[6].message == "+14155550104 is on the do-not-call list."


def test_an_invalid_number_is_judged_as_a_single_call_would_judge_it():
    report, _ = imported(b"phone\n+1 415 555 01\n+14155550101\n")
    assert report.errors[0].message == (
        "'+1 415 555 01' is not a valid phone number: no such number exists in its country's numbering plan"
    )


def test_national_numbers_are_read_in_the_default_region(settings):
    settings.DEFAULT_PHONE_REGION = "GB"
    _, contacts = imported(b"phone\n020 7946 0958\n")
    assert contacts[2].phone_number == "+442079460958"


def test_every_later_copy_of_a_number_is_a_duplicate_of_its_first_row_even_when_that_row_was_refused():
    DoNotCallFactory(number="+14155550104")
    content = b"phone\n+14155550104\n(415) 555-0104\n+14155550101\n4155550101\n+1 415 555 0101\n"
    report, contacts = imported(content)
    assert skipped(contacts) == {
        2: SkipReason.DO_NOT_CALL,
        3: SkipReason.DUPLICATE,
        5: SkipReason.DUPLICATE,
        6: SkipReason.DUPLICATE,
    }
    assert [e.message for e in report.errors if e.code == "duplicate"] == [
        "+14155550104 is also on row 2.",
        "+14155550101 is also on row 4.",
        "+14155550101 is also on row 4.",
    ]
    assert (report.accepted, report.rejected) == (1, 4)


def test_the_allowed_countries_are_those_with_a_jurisdiction_unless_set():
    content = b"phone\n+442079460958\n+81312345678\n+14155550101\n"
    report, contacts = imported(content)
    assert pending_numbers(contacts) == {2: "+442079460958", 4: "+14155550101"}  # GB and US are seeded
    assert contacts[3].skip_reason == SkipReason.COUNTRY_NOT_ALLOWED
    assert report.errors[0].message.startswith("+81312345678 is in JP; campaigns may call AU, BR, CA")


def test_with_no_jurisdiction_row_at_all_every_country_may_be_called():
    Jurisdiction.objects.all().delete()
    _report, contacts = imported(b"phone\n+81312345678\n+14155550101\n")
    assert pending_numbers(contacts) == {2: "+81312345678", 3: "+14155550101"}


def test_a_raw_number_is_kept_as_the_file_has_it_up_to_64_characters():
    long_cell = "+1 415 555 0101 " + "x" * 100
    _, contacts = imported(f"phone\n{long_cell}\n".encode())
    assert contacts[2].raw_number == long_cell[:64]
    assert contacts[2].skip_reason == SkipReason.INVALID_NUMBER
    assert "it is too long" in contacts[2].message


def test_the_report_lists_only_the_first_errors_but_counts_them_all(monkeypatch):
    monkeypatch.setattr(importing, "ERRORS_SHOWN", 3)
    report, _ = imported(b"phone\n" + b"nope\n" * 5 + b"+14155550101\n")
    assert (report.rows, report.accepted, report.rejected) == (6, 1, 5)
    assert [e.row for e in report.errors] == [2, 3, 4]


def test_the_numbers_are_checked_alike_in_the_helper_process_and_without_it(monkeypatch):
    content = b"phone\n" + b"\n".join(
        [b"+1415555%04d" % i for i in range(40)] + [b"nope", b"+44 20 7946 0958", b"", b"+14155550001", b"0"]
    )
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 10**9)
    here, here_contacts = imported(content)
    monkeypatch.setattr(importing, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(importing, "BATCH_ROWS", 7)
    helped, helped_contacts = imported(content)

    def outcome(contacts):
        return [(c.row, c.status, c.skip_reason, c.phone_number, c.message) for c in contacts.values()]

    assert helped.counts() == here.counts() == {"rows": 44, "accepted": 41, "rejected": 3}
    assert helped.errors == here.errors
    assert outcome(helped_contacts) == outcome(here_contacts)


# --- the phone column ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            b"First Name,Last Name,Email,Phone Number,Mobile Phone Number,Lifecycle Stage",
            "Phone Number",
        ),  # HubSpot
        (b"First Name,Last Name,Account Name,Title,Mobile Phone,Email", "Mobile Phone"),  # Salesforce report
        (b"FirstName,LastName,MobilePhone,Email", "MobilePhone"),  # Salesforce Data Loader
        (
            b"vendor_lead_code,source_id,list_id,phone_code,phone_number,title,first_name",
            "phone_number",
        ),  # VICIdial
        (b"Name,Tel,Notes", "Tel"),  # Google Sheets, by hand
        (b"Name,Given Name,Phone 1 - Type,Phone 1 - Value", "Phone 1 - Value"),  # Google Contacts
        (b"name,CELL,email", "CELL"),
        (b"name,telephone-number", "telephone-number"),
    ],
    ids=[
        "hubspot",
        "salesforce-report",
        "salesforce-api",
        "vicidial",
        "sheets",
        "google-contacts",
        "cell",
        "dashes",
    ],
)
def test_the_phone_column_is_guessed_from_the_headers_crms_and_dialers_export(header, expected):
    width = header.count(b",") + 1
    position = [cell.decode() for cell in header.split(b",")].index(expected)
    cells = [b"x"] * width
    cells[position] = b"+14155550101"
    report, contacts = imported(header + b"\n" + b",".join(cells) + b"\n")
    assert report.phone_column == expected
    assert pending_numbers(contacts) == {2: "+14155550101"}
    assert expected not in contacts[2].context


def test_a_given_phone_column_is_used_whatever_its_name():
    report, contacts = imported(b"home,work\n+14155550101,+14155550102\n", phone_column="Work")
    assert report.phone_column == "work"
    assert pending_numbers(contacts) == {2: "+14155550102"}
    assert contacts[2].context == {"home": "+14155550101"}


def test_a_phone_column_the_file_lacks_is_a_400_naming_the_header():
    with pytest.raises(ImportRefused) as refused:
        imported(b"name,phone\nJane,+14155550101\n", phone_column="mobile")
    assert (refused.value.status, refused.value.code, refused.value.field) == (
        400,
        "no_phone_column",
        "phone_column",
    )
    assert refused.value.message == "No column named 'mobile'; the header is: name, phone."
    assert not Contact.objects.exists()


def test_a_file_without_a_phone_like_column_is_a_400_that_says_how_to_name_or_pick_it():
    with pytest.raises(ImportRefused) as refused:
        imported(b"name,email\nJane,jane@example.com\n")
    assert refused.value.code == "no_phone_column"
    assert "pick it (phone_column)" in refused.value.message
    assert "name, email" in refused.value.message


# --- files refused whole ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (b"", "empty_file", "The file is empty."),
        (b"\xef\xbb\xbf\r\n  \n", "empty_file", "The file is empty."),
        (b"name,phone\n", "empty_file", "The file has a header but no rows."),
        (b"name,phone\n\n,\n", "empty_file", "The file has a header but no rows."),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", "unreadable_file", "The file is not text"),
        (
            b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",
            "unreadable_file",
            "The file is not text",
        ),  # xlsx
        ("phone\n+14155550101\n".encode("utf-16"), "unreadable_file", "The file is not text"),
        (
            b'phone,note\n+14155550101,"' + b"x" * 200_000 + b'"\n',
            "unreadable_file",
            "Row 2 has a cell longer than",
        ),
    ],
    ids=[
        "zero-bytes",
        "blank",
        "header-only",
        "header-and-blank-rows",
        "png",
        "xlsx",
        "utf-16",
        "huge-field",
    ],
)
def test_an_empty_binary_or_unreadable_file_is_a_400_that_creates_no_campaign_and_no_contact(
    alice, agent, content, code, message
):
    with pytest.raises(ImportRefused) as refused:
        campaign_create(actor=alice, name="Reminders", agent=agent, upload=io.BytesIO(content))
    assert (refused.value.status, refused.value.code, refused.value.field) == (400, code, "file")
    assert refused.value.message.startswith(message)
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()
    assert not AuditEvent.objects.filter(action="campaign.created").exists()


def test_a_file_refused_after_some_batches_are_in_leaves_no_campaign_and_no_contact(
    alice, agent, monkeypatch
):
    monkeypatch.setattr(importing, "BATCH_ROWS", 2)
    content = b"phone,note\n" + b"".join(b"+1415555010%d,ok\n" % i for i in range(6))
    content += b'+14155550199,"' + b"x" * 200_000 + b'"\n'
    with pytest.raises(ImportRefused, match="Row 8 has a cell longer than 131,072 characters"):
        campaign_create(actor=alice, name="Reminders", agent=agent, upload=io.BytesIO(content))
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()


def test_more_data_rows_than_a_campaign_takes_is_a_400_that_creates_nothing(alice, agent, settings):
    settings.CAMPAIGN_MAX_ROWS = 3
    over = b"phone\n" + b"".join(b"+1415555010%d\n\n" % i for i in range(4))  # blank lines do not count
    with pytest.raises(ImportRefused) as refused:
        campaign_create(actor=alice, name="Too many", agent=agent, upload=io.BytesIO(over))
    assert (refused.value.code, refused.value.field) == ("too_many_rows", "file")
    assert (
        refused.value.message
        == "The file has more than 3 rows, the most a campaign takes: split it in several."
    )
    assert not Campaign.objects.exists()
    assert not Contact.objects.exists()
    exactly = b"phone\n" + b"".join(b"+1415555010%d\n\n" % i for i in range(3))
    campaign, report = campaign_create(
        actor=alice, name="Just right", agent=agent, upload=io.BytesIO(exactly)
    )
    assert report.counts() == {"rows": 3, "accepted": 3, "rejected": 0}
    assert campaign.contacts.count() == 3


def test_a_created_campaign_keeps_the_files_header_phone_column_and_counts(alice, agent):
    content = b"Name,Mobile Phone,City\nJane,+14155550101,Paris\nJoe,nope,Rome\n"
    campaign, report = campaign_create(
        actor=alice, name="Reminders", agent=agent, upload=io.BytesIO(content), file_name="leads.csv"
    )
    campaign.refresh_from_db()
    assert campaign.columns == ["Name", "Mobile Phone", "City"]
    assert campaign.phone_column == "Mobile Phone"
    assert campaign.validation == {"rows": 2, "accepted": 1, "rejected": 1}
    assert [e.field for e in report.errors] == ["Mobile Phone"]


def test_a_large_upload_is_read_as_a_stream_from_its_temporary_file(alice, agent, settings, tmp_path):
    settings.CAMPAIGN_MAX_ROWS = 50
    path = tmp_path / "big.csv"
    with path.open("wb") as handle:  # 13 MB: refused at row 52, long before its end is parsed
        handle.write(b"phone\n" + b"+14155550101\n" * 1_000_000)
    with path.open("rb") as stream, pytest.raises(ImportRefused, match="more than 50 rows"):
        campaign_create(actor=alice, name="Big", agent=agent, upload=stream)
    assert not Contact.objects.exists()


# --- the preview --------------------------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    """Remembers how far into it anything has read."""

    furthest = 0

    def _note(self, result):
        self.furthest = max(self.furthest, self.tell())
        return result

    def read(self, size=-1):
        return self._note(super().read(size))

    def read1(self, size=-1):
        return self._note(super().read1(size))

    def readinto(self, buffer):
        return self._note(super().readinto(buffer))


def test_the_preview_shows_the_header_the_first_rows_and_the_guessed_phone_column():
    content = "\ufeffNom;Mobile;Ville\n\nRenée;+33 6 12 34 56 78;Paris\nJoe;x;Lyon\n".encode()
    preview = csv_preview(io.BytesIO(content), rows=5)
    assert preview.columns == ["Nom", "Mobile", "Ville"]
    assert preview.sample == [["Renée", "+33 6 12 34 56 78", "Paris"], ["Joe", "x", "Lyon"]]
    assert (preview.phone_column, preview.encoding, preview.delimiter) == ("Mobile", "utf-8-sig", ";")


def test_the_preview_reads_only_the_start_of_a_large_file_and_leaves_it_at_its_start():
    stream = CountingStream(b"name\tphone\n" + b"Jane\t+14155550101\n" * 500_000)  # 9 MB
    preview = csv_preview(stream, rows=2)
    assert preview.sample == [["Jane", "+14155550101"], ["Jane", "+14155550101"]]
    assert preview.delimiter == "\t"
    assert stream.furthest <= importing.PREVIEW_BYTES
    assert stream.tell() == 0


def test_the_preview_of_a_windows_1252_file_and_of_a_file_without_a_phone_column():
    preview = csv_preview(io.BytesIO("Name,Email\nJosé,jose@example.com\n".encode("cp1252")))
    assert (preview.encoding, preview.phone_column) == ("cp1252", "")
    assert preview.sample == [["José", "jose@example.com"]]


def test_the_preview_of_a_binary_file_is_a_400():
    with pytest.raises(ImportRefused) as refused:
        csv_preview(io.BytesIO(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    assert refused.value.code == "unreadable_file"
