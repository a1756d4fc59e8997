"""A list of cases as a file: CSV for Excel in Sweden (semicolons, a BOM)
and XLSX. The same filters as the page, the words a person reads, times in
Swedish time; personnummer and other personal data masked in the subject,
and no text at all of a sekretess case."""

from __future__ import annotations

import csv
import io
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cases.models import Case, CaseStatus
from cases.search import CaseQuery, conditions
from classify.sensitive import mask
from config.words import Words
from review.access import Person, may_see_case
from review.views import local

LIMIT = 50_000  # rows in one file
HIDDEN = "(sekretess)"
HEADER = ["Diarienummer", "Inkom (svensk tid)", "Kanal", "Ämne", "Kategori", "Flaggor",
          "Prioritet", "Enhet", "Hänvisas till", "Nästa frist", "Försenad", "Status"]


def rows(session: Session, query: CaseQuery, today: date, words: Words,
         person: Person) -> list[list[str]]:
    """The cases ``query`` finds, newest first, as rows under HEADER."""
    stmt = (select(Case).options(selectinload(Case.deadlines))
            .where(*conditions(query, today))
            .order_by(Case.received_at.desc(), Case.id.desc()).limit(LIMIT))
    out = []
    for case in session.scalars(stmt):
        if not may_see_case(person, case.enhet, case.restricted):
            continue  # the query keeps a chef to the own enhet; this is the second lock
        open_due = [d.due for d in case.deadlines if d.met_at is None]
        next_due = min(open_due) if open_due else None
        overdue = next_due is not None and next_due < today and case.status == CaseStatus.OPEN
        out.append([
            case.diarienummer, local(case.received_at), words.channel(case.channel),
            HIDDEN if case.restricted else mask(case.subject),
            words.category(case.category) if case.category else "",
            words.flags(case.flags), words.priority(case.priority), words.enhet(case.enhet),
            words.extern(case.extern) if case.extern else "",
            next_due.isoformat() if next_due else "", "ja" if overdue else "",
            words.status(case.status)])
    return out


def as_csv(table: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")  # Excel in Sweden
    writer.writerow(HEADER)
    writer.writerows(table)
    return "\ufeff" + out.getvalue()  # a BOM: Excel reads å, ä, ö right


def as_xlsx(table: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Ärenden")
    for i, width in enumerate((16, 17, 12, 50, 12, 28, 10, 28, 24, 12, 9, 20), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(HEADER)
    for row in table:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
