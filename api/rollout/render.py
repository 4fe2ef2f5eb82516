"""The rollout report as JSON, Markdown, CSV and HTML (`GET /v1/rollout?format=`,
`anpr report rollout --format`). Pure: a `RolloutReport` in, text out.

Markdown and CSV are meant to be pasted into a weekly report or a Confluence/Jira page as they
are. CSV is one table (`?table=`): `integrators` (default: one row per integrator and one for the
network), `stuck`, `weeks` or `reasons`. HTML is one self-contained page, escaped.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable
from typing import Any

from anpr.clock import ms_to_rfc3339
from api.rollout.report import STAGES, TIMED, Group, RolloutReport, StuckCamera

TABLES = ("integrators", "stuck", "weeks", "reasons")
Table = tuple[list[str], list[list[Any]]]


def _date(ms: int) -> str:
    return ms_to_rfc3339(ms)[:10]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def integrator_rows(report: RolloutReport) -> Table:
    head = ["integrator_id", "integrator", "cameras"] + [f"in_{s.value}" for s in STAGES]
    head += ["stuck", "median_days_to_live"]
    for stage in TIMED:
        head += [f"{stage.value}_median_days", f"{stage.value}_p90_days"]
    rows = []
    for g in (report.overall, *report.integrators):
        row: list[Any] = [g.integrator_id or "*", g.name, g.cameras]
        row += [s.cameras for s in g.stages]
        row += [len(g.stuck), _num(g.median_days_to_live)]
        by_stage = {s.stage: s for s in g.stages}
        for stage in TIMED:
            row += [_num(by_stage[stage].median_days), _num(by_stage[stage].p90_days)]
        rows.append(row)
    return head, rows


STUCK_HEAD = ("camera_id", "integrator_id", "stage", "since", "days", "reason_code", "reason")


def stuck_rows(report: RolloutReport) -> Table:
    rows = [_stuck(s) for s in report.overall.stuck]
    return list(STUCK_HEAD), rows


def _stuck(s: StuckCamera) -> list[Any]:
    return [s.camera_id, s.integrator_id, s.stage.value, _date(s.since), s.days, s.code, s.reason]


def week_rows(report: RolloutReport) -> Table:
    head = ["week", "starts", "connected"]
    for g in report.integrators:
        head.append(g.integrator_id or "")
    rows = []
    for i, week in enumerate(report.overall.weeks):
        row: list[Any] = [week.week, _date(week.starts), week.connected]
        row += [g.weeks[i].connected for g in report.integrators]
        rows.append(row)
    return head, rows


def reason_rows(report: RolloutReport) -> Table:
    head = ["reason_code", "reason", "cameras", "stuck"]
    return head, [[r.code, r.label, r.cameras, r.stuck] for r in report.top_reasons]


TABLE_ROWS: dict[str, Callable[[RolloutReport], Table]] = {
    "integrators": integrator_rows,
    "stuck": stuck_rows,
    "weeks": week_rows,
    "reasons": reason_rows,
}


def to_csv(report: RolloutReport, table: str = "integrators") -> str:
    head, rows = TABLE_ROWS[table](report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def _cell(value: Any) -> Any:
    # Spreadsheets run a cell starting with = + - @ as a formula: quote it (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines


def _stage_table(g: Group) -> list[str]:
    head = ["stage", "cameras", "median days", "p90 days", "measured on"]
    rows = [
        [s.stage.value, s.cameras, _num(s.median_days), _num(s.p90_days), s.samples or ""]
        for s in g.stages
    ]
    return _md_table(head, rows)


def to_markdown(report: RolloutReport) -> str:
    o = report.overall
    live = sum(s.cameras for s in o.stages if s.stage.value in ("live", "silent"))
    lines = [
        f"# Camera rollout, {_date(report.now)}",
        "",
        f"{o.cameras} cameras registered, {live} connected (live), {len(o.stuck)} stuck for more "
        f"than {report.stuck_after_days:g} days. Median time from registration to live: "
        f"{_num(o.median_days_to_live) or '-'} days.",
        "",
        "## Integrators (most stuck cameras first)",
        "",
        *_md_table(*_summary_rows(report)),
        "",
        "## Stages, whole network",
        "",
        *_stage_table(o),
        "",
        "## Stuck cameras",
        "",
        *(_md_table(*stuck_rows(report)) if o.stuck else ["None."]),
        "",
        "## Top failure reasons",
        "",
        *(_md_table(*reason_rows(report)) if report.top_reasons else ["None."]),
        "",
        "## Connections completed per week",
        "",
        *_md_table(*week_rows(report)),
    ]
    for g in report.integrators:
        lines += ["", f"## {g.name} ({g.integrator_id})", "", *_stage_table(g)]
    return "\n".join(lines) + "\n"


def _summary_rows(report: RolloutReport) -> Table:
    head = ["integrator", "cameras", *[s.value for s in STAGES], "stuck", "median days to live"]
    rows = [
        [f"{g.name} ({g.integrator_id})", g.cameras, *[s.cameras for s in g.stages],
         len(g.stuck), _num(g.median_days_to_live)]
        for g in report.integrators
    ]  # fmt: skip
    return head, rows


def _html_table(head: list[str], rows: list[list[Any]]) -> str:
    esc = html.escape
    cells = "".join(f"<th>{esc(str(h))}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def to_html(report: RolloutReport) -> str:
    """One page: the Markdown report's sections as HTML tables, every value escaped."""
    sections = [
        ("Integrators (most stuck cameras first)", _summary_rows(report)),
        ("Stuck cameras", stuck_rows(report)),
        ("Top failure reasons", reason_rows(report)),
        ("Connections completed per week", week_rows(report)),
        ("All integrators: stages", integrator_rows(report)),
    ]
    title = html.escape(f"Camera rollout, {_date(report.now)}")
    parts = [f"<h2>{html.escape(name)}</h2>{_html_table(*table)}" for name, table in sections]
    style = "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body><h1>{title}</h1>{''.join(parts)}</body></html>\n"
    )


def to_json(report: RolloutReport) -> dict[str, Any]:
    """The report as `api.rollout.schemas.RolloutOut` takes it (times as RFC 3339)."""

    def grp(g: Group) -> dict[str, Any]:
        return {
            "integrator_id": g.integrator_id,
            "name": g.name,
            "cameras": g.cameras,
            "stuck_cameras": len(g.stuck),
            "median_days_to_live": g.median_days_to_live,
            "stages": [
                {
                    "stage": s.stage.value,
                    "cameras": s.cameras,
                    "samples": s.samples,
                    "median_days": s.median_days,
                    "p90_days": s.p90_days,
                }
                for s in g.stages
            ],
            "stuck": [dict(zip(STUCK_HEAD, _stuck(s), strict=True)) for s in g.stuck],
            "weeks": [
                {"week": w.week, "starts": _date(w.starts), "connected": w.connected}
                for w in g.weeks
            ],
        }

    return {
        "generated_at": ms_to_rfc3339(report.now),
        "stuck_after_days": report.stuck_after_days,
        "overall": grp(report.overall),
        "integrators": [grp(g) for g in report.integrators],
        "top_reasons": [
            {"reason_code": r.code, "reason": r.label, "cameras": r.cameras, "stuck": r.stuck}
            for r in report.top_reasons
        ],
    }
