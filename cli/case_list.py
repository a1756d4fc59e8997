"""``synpunkt cases list``: the register's cases, filtered, sorted and a page
at a time (cases/search.py does the work in the database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date

import click

from cases.models import Case, CaseStatus
from cases.queries import _summary as summary
from cases.search import MAX_PER_PAGE, SORTS, CaseQuery, Page, search
from cli.common import open_app
from cli.output import ZONE, echo_json, table, when
from cli.params import Day, OneOf, Whole
from config.words import CATEGORY, CHANNEL, FLAG, Words
from deadlines.calendar import STOCKHOLM
from service.app import App

NO_CATEGORY = "ingen"
PER_PAGE = 50


@click.command("list")
@click.option("--status", multiple=True, metavar="STATUS",
              help=f"Bara ärenden med denna status: {', '.join(CaseStatus)} "
                   "(eller orden: öppet, återkoppling lämnad, avslutat). Kan upprepas.")
@click.option("--enhet", multiple=True, metavar="ENHET",
              help="Bara ärenden hos enheten (id eller namn i organisation.yaml; "
                   "registrator för granskningskön). Kan upprepas.")
@click.option("--category", multiple=True, metavar="KATEGORI",
              help=f"Bara kategorin: {', '.join(CATEGORY)}, eller {NO_CATEGORY} för ärenden "
                   "utan kategori. Kan upprepas.")
@click.option("--flag", multiple=True, metavar="FLAGGA",
              help=f"Ärenden med någon av flaggorna: {', '.join(FLAG)}. Kan upprepas.")
@click.option("--channel", multiple=True, metavar="KANAL",
              help=f"Bara kanalen: {', '.join(CHANNEL)}. Kan upprepas.")
@click.option("--overdue", is_flag=True,
              help="Bara öppna ärenden där en frist har passerat.")
@click.option("--review/--no-review", "needs_review", default=None,
              help="Bara ärenden som registratorn ska granska, eller bara de som inte ska.")
@click.option("--q", "text", default="", metavar="TEXT",
              help="Sök i diarienummer, avsändare, ämne och text (stora och små bokstäver "
                   "lika).")
@click.option("--since", type=Day(), metavar="DATUM",
              help="Mottagna denna dag eller senare (svensk tid), t.ex. 2026-12-01.")
@click.option("--until", type=Day(), metavar="DATUM",
              help="Mottagna denna dag eller tidigare (svensk tid), t.ex. 2026-12-31.")
@click.option("--sort", type=OneOf(SORTS), default="oldest", show_default=True,
              help="urgency: akut och möjliga allvarliga händelser först, sedan närmaste "
                   "frist; newest, oldest: efter mottagningstid; deadline: närmaste frist; "
                   "diarienummer: senaste numret först.")
@click.option("--page", type=Whole(low=1), default=None, metavar="N",
              help="Vilken sida (från 1). Utan --page visar --json alla träffar.")
@click.option("--per-page", type=Whole(low=1), default=None, metavar="N",
              help=f"Ärenden per sida (standard {PER_PAGE}, högst {MAX_PER_PAGE}).")
@click.option("--json", "as_json", is_flag=True,
              help="En JSON-rad per ärende, med id:n som i registret.")
def cases_list(status: tuple[str, ...], enhet: tuple[str, ...], category: tuple[str, ...],
               flag: tuple[str, ...], channel: tuple[str, ...], overdue: bool,
               needs_review: bool | None, text: str, since: date | None, until: date | None,
               sort: str, page: int | None, per_page: int | None, as_json: bool) -> None:
    """Lista ärendena, filtrerade och sorterade, en sida i taget (äldst först
    om inget annat sägs). Filter av olika slag gäller alla på en gång; ett
    filter som upprepas (--status open --status closed) tar med vart och ett."""
    if per_page is not None and per_page > MAX_PER_PAGE:
        raise click.BadParameter(f"högst {MAX_PER_PAGE} per sida", param_hint="--per-page")
    if since and until and since > until:
        raise click.BadParameter(f"{since} är efter --until {until}", param_hint="--since")
    app = open_app()
    words = Words(app.kommun)
    enheter = {e.id: e.namn for _, _, e in app.kommun.organisation.enheter()}
    enheter.setdefault("registrator", "registratorn")
    query = CaseQuery(
        text=text, status=_ids(status, {s.value: words.status(s.value) for s in CaseStatus},
                                     "--status"),
        enhet=_ids(enhet, enheter, "--enhet"),
        category=tuple("" if c == NO_CATEGORY else c for c in _ids(
            category, {**CATEGORY, NO_CATEGORY: "utan kategori"}, "--category")),
        flag=_ids(flag, FLAG, "--flag"), channel=_ids(channel, CHANNEL, "--channel"),
        needs_review=needs_review, overdue=overdue, since=since, until=until,
        sort=sort,  # type: ignore[arg-type]  # OneOf(SORTS) let only those through
        page=page or 1, per_page=per_page or (MAX_PER_PAGE if as_json else PER_PAGE))
    today = app.clock().astimezone(STOCKHOLM).date()
    if as_json:
        _print_json(app, query, today, every_page=page is None)
        return
    with app.sessions() as session:
        found = search(session, query, today)
        rows = [_row(case, words, today) for case in found.cases]
    unfiltered = CaseQuery(sort=query.sort, page=query.page, per_page=query.per_page)
    _print_table(rows, found, filtered=query != unfiltered, sort=query.sort)


def _print_json(app: App, query: CaseQuery, today: date, every_page: bool) -> None:
    """One JSON line per case; without --page every match, a page at a time."""
    number = query.page
    while True:
        with app.sessions() as session:
            found = search(session, replace(query, page=number), today)
            for case in found.cases:
                echo_json(summary(case).as_dict())
        if not every_page or number >= found.pages:
            return
        number += 1


def _row(case: Case, words: Words, today: date) -> list[object]:
    contact = case.contact
    sender = (contact.email or contact.phone) if contact else None
    due = min((d.due for d in case.deadlines if d.met_at is None), default=None)
    frist = "–" if due is None else due.isoformat() + (" passerad" if due < today else "")
    return [case.id, case.diarienummer, when(case.received_at), words.channel(case.channel),
            sender or "anonym", case.subject, words.category(case.category),
            words.flags(case.flags) or "–", words.enhet(case.enhet), words.status(case.status),
            frist if case.status != CaseStatus.CLOSED else "–", case.needs_review]


def _print_table(rows: list[list[object]], found: Page, filtered: bool, sort: str) -> None:
    if not found.total:
        click.echo("Inga ärenden matchar." if filtered else "Inga ärenden ännu.")
        return
    if rows:
        click.echo(table(
            ["Id", "Diarienummer", "Mottaget", "Kanal", "Avsändare", "Ämne", "Kategori",
             "Flaggor", "Enhet", "Status", "Nästa frist", "Granskas"], rows,
            widths=[0, 0, 0, 0, 24, 30, 0, 26, 22]))
    else:
        click.echo(f"Sida {found.page} är tom.")
    more = f"; nästa: --page {found.page + 1}" if found.page < found.pages else ""
    if more and sort == "oldest":
        more += "; nyaste först: --sort newest"
    count = "1 ärende" if found.total == 1 else f"{found.total} ärenden"
    click.echo(f"\nSida {found.page} av {found.pages} ({count}, "
               f"{found.per_page} per sida{more}). Tider i {ZONE}.")


def _ids(given: tuple[str, ...], known: Mapping[str, str], option: str) -> tuple[str, ...]:
    """The ids the person named, by id or by its word (any case); unknown: exit 2."""
    by_word = {w.casefold(): i for i, w in known.items()}
    chosen: list[str] = []
    for value in given:
        key = value.strip()
        found = key if key in known else by_word.get(key.casefold())
        if found is None:
            raise click.BadParameter(f"{value!r} finns inte; välj bland {', '.join(known)}",
                                     param_hint=option)
        chosen.append(found)
    return tuple(dict.fromkeys(chosen))
