"""What real mail does to a parser, each in the smallest mail that shows it:
charsets as they are rather than as labelled, senders without brackets or
in UTF-8, parts that are broken beside readable ones, forwards and forms.
The mails are written here; the real-mail corpus test runs the originals."""

from __future__ import annotations

import pytest

from config.settings import Limits
from ingest.forward import original_of, staff_domains
from ingest.message import Message
from ingest.parse import parse
from ingest.webform import Form, citizen_of, form_fields

RUSSIAN = "Здравствуйте! Во дворе не убирают снег уже неделю."
CHINESE = "您好，我们小区的路灯坏了三个星期。"  # 您 is in GBK, not in GB2312


def _mail(head: str, body: bytes) -> Message:
    result = parse(head.encode("ascii") + b"\r\n\r\n" + body, Limits())
    assert isinstance(result, Message), result
    return result


@pytest.mark.parametrize(("charset_header", "encoding", "text"), [
    ("", "koi8-r", RUSSIAN),  # no label at all
    ("Content-Type: text/plain; charset=iso-8859-1", "koi8-r", RUSSIAN),  # a wrong one
    ("Content-Type: text/plain; charset=gb2312", "gb18030", CHINESE),  # a GBK-only character
    ("", "big5", "你好，我家門口的水溝堵塞了，請盡快處理。謝謝。"),
    ("Content-Type: text/plain; charset=ks_c_5601-1987", "cp949",
     "안녕하세요. 놀이터 그네가 부서졌습니다."),
])
def test_text_in_its_real_charset(charset_header: str, encoding: str, text: str) -> None:
    head = f"From: a@example.se\r\nSubject: x\r\n{charset_header}".rstrip("\r\n")
    assert _mail(head, text.encode(encoding)).text == text


def test_swedish_in_windows_1252_stays_swedish() -> None:
    text = "Hej! Gården vid Åkervägen är full av snö, och ingen har plogat på en vecka."
    assert _mail("From: a@example.se\r\nContent-Type: text/plain; charset=iso-8859-1",
                 text.encode("cp1252")).text == text


def test_an_unlabelled_8bit_subject_in_the_bodys_charset() -> None:
    head = "From: a@example.se\r\nContent-Type: text/plain; charset=koi8-r\r\nSubject: "
    raw = head.encode() + "Снег во дворе".encode("koi8-r") + b"\r\n\r\n" + RUSSIAN.encode(
        "koi8-r")
    result = parse(raw, Limits())
    assert isinstance(result, Message) and result.subject == "Снег во дворе"


@pytest.mark.parametrize(("from_header", "sender", "name"), [
    ("\"Jöhn Doe\" <jdöe@mächine.example>", "jdöe@mächine.example", "Jöhn Doe"),
    ("Big Bug bb@bug.example", "bb@bug.example", "Big Bug"),
    ("tim@power.example concierge@power.example", "tim@power.example", None),
])
def test_senders_as_real_mail_writes_them(from_header: str, sender: str,
                                          name: str | None) -> None:
    head = f"From: {from_header}\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8"
    got = parse(head.encode("utf-8") + b"\r\n\r\nHej", Limits())
    assert isinstance(got, Message)
    assert (got.sender, got.display_name) == (sender, name)


def test_a_broken_image_beside_readable_text() -> None:
    body = (b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLampan lyser inte.\r\n"
            b"--b\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=lampa.jpg\r\n\r\n/9j/4AAQ!!!###\r\n"
            b"--b--\r\n")
    got = _mail("From: a@example.se\r\nSubject: Lampa\r\nContent-Type: multipart/mixed; "
                'boundary="b"', body)
    assert got.text == "Lampan lyser inte."
    assert got.broken and got.readable
    assert [a.filename for a in got.attachments] == ["lampa.jpg"]


def test_an_inline_text_part_with_a_file_name_is_text() -> None:
    body = (b"--b\r\nContent-Type: text/plain; charset=utf-8; name=brev.txt\r\n"
            b"Content-Disposition: inline; filename=brev.txt\r\n\r\nSoptunnan har inte "
            b"t\xc3\xb6mts.\r\n--b--\r\n")
    got = _mail("From: a@example.se\r\nContent-Type: multipart/mixed; boundary=b", body)
    assert got.text == "Soptunnan har inte tömts."


def test_a_mail_that_is_only_a_forwarded_one() -> None:
    inner = (b"From: Karin <karin@example.se>\r\nSubject: Lekplatsen\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\nGungan \xc3\xa4r trasig.\r\n")
    got = _mail("From: vaxel@ekby.example\r\nSubject: VB: Lekplatsen\r\n"
                "Content-Type: message/rfc822", inner)
    assert "Gungan är trasig." in got.text
    assert got.attached_messages[0].sender == "karin@example.se"
    moved = original_of(got, staff_domains(["ekby.example"]))
    assert (moved.sender, moved.forwarded_by, moved.text) == (
        "karin@example.se", "vaxel@ekby.example", "Gungan är trasig.")


def test_form_fields_as_form_systems_write_them() -> None:
    fields = form_fields("Namn: Karin Östberg\nE-post\tkarin@example.se\nTelefon\n"
                         "070-123 45 67\n\nMeddelande:\nHej!")
    assert fields["namn"] == "Karin Östberg"
    assert fields["e-post"] == "karin@example.se"
    assert fields["telefon"] == "070-123 45 67"
    message = _mail("From: noreply@form.example\r\nReply-To: noreply@form.example\r\n"
                    "Subject: Synpunkt", b"Namn: Karin\r\nE-post: karin@example.se\r\n")
    citizen = citizen_of(message, Form("Formul\u00e4r", "noreply@form.example"))
    assert (citizen.sender, citizen.display_name) == ("karin@example.se", "Karin")
