"""The statistics as a chart in the page (inline SVG, no script), and as
CSV, XLSX and a printable PDF for a half-year."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from notify.swedish import ZONE_WORD, local_time
from review.stats import Stats

BAR = "#0b5cad"


def bar_chart(title: str, rows: list[tuple[str, int]], width: int = 640) -> Markup:
    """A horizontal bar chart; every label and number is escaped text."""
    if not rows:
        return Markup(f'<p class="muted">{escape(title)}: inget att visa ännu.</p>')  # noqa: S704
    top = max(n for _, n in rows) or 1
    label_w, bar_h, gap = 250, 18, 6
    height = len(rows) * (bar_h + gap) + 28
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{escape(title)}</text>']
    for i, (label, n) in enumerate(rows):
        y = 24 + i * (bar_h + gap)
        w = int((width - label_w - 50) * n / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" '
                     f'text-anchor="end">{escape(label[:34])}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_h}" '
                     f'fill="{BAR}"><title>{escape(label)}: {n}</title></rect>')
        parts.append(f'<text x="{label_w + w + 4}" y="{y + 13}" font-size="12">{n}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - built from escaped parts above


MEASURES = "Vidtagna åtgärder (ur återkopplingen)"


def compliance_rows(stats: Stats) -> list[tuple[str, int]]:
    c = stats.compliance
    return [("i tid", c.on_time), ("för sent", c.late), ("försenade, öppna", c.overdue),
            ("ej förfallna", c.pending)]


def as_csv(stats: Stats) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")  # Excel in Sweden
    writer.writerow(["period", "indelning", "värde", "antal"])
    writer.writerow([stats.period.label, "totalt", "ärenden", stats.total])
    for title, rows in [*stats.tables(), ("Frister", compliance_rows(stats))]:
        for label, n in rows:
            writer.writerow([stats.period.label, title, label, n])
    writer.writerow([])
    writer.writerow(["diarienummer", "enhet", MEASURES])
    for number, enhet, text in stats.measures:
        writer.writerow([number, enhet, text])
    return "\ufeff" + out.getvalue()  # a BOM: Excel reads å, ä, ö right


def as_xlsx(stats: Stats) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    summary = book.active
    summary.title = "Sammanfattning"
    summary.append(["Synpunkter och klagomål", stats.period.label])
    summary.append(["Period", stats.period.span])
    summary.append(["Ärenden", stats.total])
    share = stats.compliance.share_on_time
    summary.append(["Frister i tid", f"{share:.0%}" if share is not None else "–"])
    for title, rows in [*stats.tables(), ("Frister", compliance_rows(stats))]:
        sheet = book.create_sheet(title[:31])
        sheet.append([title.removeprefix("Per ").capitalize(), "Antal"])
        for label, n in rows:
            sheet.append([label, n])
        if rows:
            chart = BarChart()
            chart.title = title
            chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=len(rows) + 1),
                           titles_from_data=True)
            chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=len(rows) + 1))
            sheet.add_chart(chart, "D2")
    sheet = book.create_sheet("Vidtagna åtgärder")
    sheet.append(["Diarienummer", "Enhet", MEASURES])
    for row in stats.measures:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_pdf(stats: Stats, kommun: str, made: datetime) -> bytes:
    from fpdf import FPDF

    def latin(text: str) -> str:  # the PDF core fonts speak Latin-1: å, ä, ö included
        return text.replace("–", "-").encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, latin(f"Synpunkter och klagomål, {kommun}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    share = stats.compliance.share_on_time
    pdf.cell(0, 7, latin(f"Period: {stats.period.label} ({stats.period.span}). "
                         f"Ärenden: {stats.total}. Frister i tid: "
                         f"{f'{share:.0%}' if share is not None else '-'}."),
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, latin(f"Sammanställd {local_time(made)} ({ZONE_WORD}) av Synpunkt."),
             new_x="LMARGIN", new_y="NEXT")
    for title, rows in [*stats.tables(), ("Frister", compliance_rows(stats))]:
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, latin(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        top = max((n for _, n in rows), default=0) or 1
        for label, n in rows or [("inga", 0)]:
            _fit(pdf, latin(label), 68)
            pdf.cell(70, 6, latin(label))
            pdf.set_font("Helvetica", "", 10)
            pdf.set_fill_color(11, 92, 173)
            width = 100 * n / top
            if width:
                pdf.cell(width, 5, "", fill=True)
            pdf.cell(0, 6, f" {n}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, latin(MEASURES), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    none = [("", "", "Ingen återkoppling är skriven i Synpunkt under perioden.")]
    for number, enhet, text in stats.measures or none:
        pdf.multi_cell(0, 5, latin(f"{number} ({enhet}): {text}" if number else text),
                       new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    return bytes(pdf.output())


def _fit(pdf: Any, text: str, width: float) -> None:
    """A smaller font for a label that would not fit its column (an enhet's
    long name and a diarienummer), rather than a label cut short."""
    size = 10.0
    while size > 6 and pdf.get_string_width(text) > width:
        size -= 0.5
        pdf.set_font("Helvetica", "", size)
