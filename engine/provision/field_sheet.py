"""The field sheet an admin reviews before anything is deployed: every object and field
the spec writes or provisions, new and existing, with where its value comes from.

One row per field and writing rule (a field two spec objects write has two rows; a
provisioned field nothing writes has one). The same rows go to three files:
`field-sheet.xlsx` (an overview sheet, then one sheet per object), `field-sheet.csv`
and `field-sheet.md`. No timestamps inside, so a re-run writes the same bytes.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from engine.provision.files import renormalise_zip
from engine.provision.plan import FieldWrite, PlannedField, PlannedObject, ProvisionPlan
from engine.spec.model import ValueMap

COLUMNS = (
    "Object", "Field", "Label", "Status", "Deployed as", "Spec type", "Target type", "Length",
    "Precision", "Scale", "Required", "External ID", "Unique", "Lookup to", "Picklist values",
    "Written by", "Rule", "Source", "Rule options", "Value map", "Value map entries", "Description",
    "Notes",
)
OVERVIEW_COLUMNS = ("Object", "Label", "Status", "New fields", "Existing fields written", "Written by",
                    "Fields deployed on", "Description")
# Wide columns wrap instead of growing past this many characters.
MAX_WIDTH = 60
FIXED_TIME = datetime(2000, 1, 1)  # workbook properties; a constant keeps the file reproducible
Row = tuple[str, ...]


@dataclass(frozen=True)
class FieldSheet:
    overview: list[Row]
    objects: list[tuple[str, list[Row]]]      # object name, its rows (in sheet order)

    @property
    def rows(self) -> list[Row]:
        return [row for _, rows in self.objects for row in rows]


def _yes(flag: bool) -> str:
    return "yes" if flag else ""


def _num(value: int | None) -> str:
    return "" if value is None else str(value)


def _value(value: Any) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def map_entries(vmap: ValueMap) -> str:
    """A value map in words: `M → Male; ...; anything else → Other`."""
    parts = [f"{k} → {_value(v)}" for k, v in vmap.values.items()]
    parts.append("anything else → " + ("quarantined" if vmap.quarantine_unmapped else _value(vmap.fallback)))
    text = "; ".join(parts)
    return f"{text} (ignoring case)" if vmap.ignore_case else text


def _notes(obj: PlannedObject, f: PlannedField, write: FieldWrite | None) -> str:
    notes = []
    if f.new and f.placed_on != obj.name:
        notes.append(f"{obj.name} cannot hold custom fields: provisioned on {f.placed_on} "
                     f"and written there")
    if write is not None and not f.new and f.picklist_values and write.values:
        missing = [_value(v) for v in write.values if _value(v) not in f.picklist_values]
        if missing:
            verb = "rejected by the restricted picklist" if f.restricted else "add to the picklist"
            notes.append(f"{verb}: {', '.join(missing)}")
    return "; ".join(notes)


def _row(plan: ProvisionPlan, obj: PlannedObject, f: PlannedField, write: FieldWrite | None) -> Row:
    vmap_name = (write.value_map if write and write.value_map else "") or f.value_map
    vmap = plan.value_maps.get(vmap_name)
    return (
        obj.name, f.name, f.label, "new" if f.new else "existing", f.deployed_as, f.spec_type,
        f.target_type, _num(f.length), _num(f.precision), _num(f.scale), _yes(f.required),
        _yes(f.external_id), _yes(f.unique), ", ".join(f.reference_to),
        "; ".join(f.picklist_values) if f.new else "",
        write.spec_object if write else "", write.rule if write else "", write.source if write else "",
        write.options if write else "", vmap_name, map_entries(vmap) if vmap else "", f.description,
        _notes(obj, f, write),
    )


def build_sheet(plan: ProvisionPlan) -> FieldSheet:
    overview: list[Row] = []
    objects: list[tuple[str, list[Row]]] = []
    for obj in plan.objects:
        rows = [_row(plan, obj, f, w) for f in obj.fields for w in (f.writes or (None,))]
        objects.append((obj.name, rows))
        new = sum(1 for f in obj.fields if f.new)
        overview.append((
            obj.name, obj.label, "new custom object" if obj.new else "existing", str(new),
            str(sum(1 for f in obj.fields if not f.new and f.writes)), ", ".join(obj.written_by),
            obj.fields_on if obj.fields_on and new else "", obj.description,
        ))
    return FieldSheet(overview, objects)


# -- CSV ------------------------------------------------------------------------------------------
def sheet_csv(sheet: FieldSheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(sheet.rows)
    return buffer.getvalue().encode("utf-8")


# -- Markdown -------------------------------------------------------------------------------------
CODE_COLUMNS = frozenset({"Field", "Deployed as", "Source"})


def md_text(text: str) -> str:
    """A table cell: pipes escaped, line breaks as <br>, HTML-special characters as entities."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", "<br>")


def md_code(text: str) -> str:
    """A table cell of code: each line a code span (fenced past any backticks inside), joined by <br>."""
    spans = []
    for line in text.split("\n"):
        if not line:
            spans.append("")
            continue
        fence = "`"
        while fence in line:
            fence += "`"
        pad = " " if line[0] == "`" or line[-1] == "`" or (line[0] == " " and line[-1] == " ") else ""
        spans.append(f"{fence}{pad}{line.replace('|', chr(92) + '|')}{pad}{fence}")
    return "<br>".join(spans)


def _md_table(columns: tuple[str, ...], rows: list[Row]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = [md_code(v) if c in CODE_COLUMNS and v else md_text(v)
                 for c, v in zip(columns, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def sheet_markdown(sheet: FieldSheet, plan: ProvisionPlan) -> bytes:
    lines = [f"# Field sheet: {plan.spec_name} ({plan.target_system})", "",
             "Every object and field the spec writes or provisions. Status `new` fields are created by "
             "`flitstack provision`; `existing` ones must already be there.", "", "## Overview", ""]
    lines += _md_table(OVERVIEW_COLUMNS, sheet.overview)
    for name, rows in sheet.objects:
        lines += ["", f"## {name}", ""]
        lines += _md_table(COLUMNS, rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


# -- XLSX -----------------------------------------------------------------------------------------
def _sheet_title(name: str, used: set[str]) -> str:
    """Excel allows 31 characters and no []:*?/\\ in a sheet name; names must differ ignoring case."""
    base = "".join("_" if c in "[]:*?/\\" else c for c in name)[:31]
    title, number = base, 2
    while title.lower() in used:
        suffix = f"~{number}"
        title, number = base[: 31 - len(suffix)] + suffix, number + 1
    used.add(title.lower())
    return title


def _fill(ws: Any, columns: tuple[str, ...], rows: list[Row]) -> None:
    ws.append(list(columns))
    for row in rows:
        ws.append([int(v) if c in ("Length", "Precision", "Scale") and v else v
                   for c, v in zip(columns, row, strict=True)])
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"
    wrap = Alignment(wrap_text=True, vertical="top")
    for index, column in enumerate(columns, start=1):
        longest = max([len(column)] + [max(map(len, row[index - 1].split("\n"))) for row in rows])
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = min(longest, MAX_WIDTH) + 2
        if longest > MAX_WIDTH or any("\n" in row[index - 1] for row in rows):
            for cell in ws[letter][1:]:
                cell.alignment = wrap


def sheet_xlsx(sheet: FieldSheet) -> bytes:
    wb = Workbook()
    overview = wb.active
    assert overview is not None
    used = {"overview"}
    overview.title = "Overview"
    _fill(overview, OVERVIEW_COLUMNS, sheet.overview)
    for name, rows in sheet.objects:
        _fill(wb.create_sheet(_sheet_title(name, used)), COLUMNS, rows)
    wb.properties.creator = "flitstack"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(wb, archive).write_data()
    return renormalise_zip(buffer.getvalue())


def field_sheet_files(plan: ProvisionPlan) -> dict[str, bytes]:
    sheet = build_sheet(plan)
    return {"field-sheet.xlsx": sheet_xlsx(sheet), "field-sheet.csv": sheet_csv(sheet),
            "field-sheet.md": sheet_markdown(sheet, plan)}
