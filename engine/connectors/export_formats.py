"""Parsing customer-supplied export files into raw records, each with its location.

Every record comes with `where` ("patients.json:12", "patients.csv:7",
"page-2.json: patients[3]") so a bad value can be reported at its place, and every
malformed file raises SourceFileError starting with file:line (and :column for JSON).

- JSON: a top-level array of record objects (each record's line is known), or a
  Cliniko API page envelope `{"<resource>": [...], "total_entries": …, "links": …}`.
- JSONL: one record object per non-blank line.
- CSV (Cliniko's Settings → Data exports, or a spreadsheet): a header row, then one
  record per row. Values stay strings; an empty cell is None. Column names are
  turned into field names by `csv_field_name`: lower case, runs of anything but
  letters and digits become `_` ("First Name" → first_name, "Address 1" →
  address_1, "Patient ID" → patient_id), then this table of known differences:

      postcode, zip, zip_code → post_code      dob, birth_date, birthday → date_of_birth
      e_mail, email_address   → email          mobile_number → mobile

  and, when the file has no `id` column, the resource's own "<Label> ID" column is
  its id (patients: "Patient ID"; invoice_items: "Invoice Item ID"), while other
  "<X> ID" columns stay relation ids (`patient_id` in an appointments export).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.connectors.errors import SourceFileError

Located = tuple[str, dict[str, Any]]

CSV_ALIASES = {
    "postcode": "post_code", "zip": "post_code", "zip_code": "post_code",
    "dob": "date_of_birth", "birth_date": "date_of_birth", "birthday": "date_of_birth",
    "e_mail": "email", "email_address": "email", "mobile_number": "mobile",
}
_NON_WORD = re.compile(r"[^0-9a-z]+")
_WS = " \t\r\n"
_decoder = json.JSONDecoder()


def csv_field_name(header: str) -> str:
    name = _NON_WORD.sub("_", header.strip().lower()).strip("_")
    return CSV_ALIASES.get(name, name)


def own_id_column(label: str) -> str:
    """The column that holds a resource's id in an export without an `id` column."""
    return f"{csv_field_name(label)}_id"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise SourceFileError(f"{path}:{line}: not UTF-8 text ({exc.reason}); save the export as UTF-8") \
            from None


def _json_error(path: Path, exc: json.JSONDecodeError) -> SourceFileError:
    return SourceFileError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}")


def _skip(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WS:
        index += 1
    return index


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"{line}:{column}"


def _record(where: str, value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SourceFileError(f"{where}: expected a record object, found {type(value).__name__}")
    return value


def iter_json(path: Path, resource: str) -> Iterator[Located]:
    text = _read_text(path)
    start = _skip(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _json_array(path, text, start)
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _json_error(path, exc) from None
    if not isinstance(doc, dict):
        raise SourceFileError(f"{path}:1:1: expected a JSON array of {resource} records or an API page "
                              f"{{\"{resource}\": [...]}}, found {type(doc).__name__}")
    rows = doc.get(resource)
    if not isinstance(rows, list):
        keys = ", ".join(sorted(map(str, doc))) or "none"
        raise SourceFileError(f"{path}:1:1: expected a JSON array of {resource} records or an API page "
                              f"with a {resource!r} array; found an object with keys: {keys}")
    for index, value in enumerate(rows):
        where = f"{path}: {resource}[{index}]"
        yield where, _record(where, value)


def _json_array(path: Path, text: str, start: int) -> Iterator[Located]:
    """Elements of a top-level array, each with the line it starts on."""
    index = _skip(text, start + 1)
    line, counted = 1, 0
    if index < len(text) and text[index] == "]":
        index = _skip(text, index + 1)
    else:
        while True:
            try:
                value, end = _decoder.raw_decode(text, index)
            except json.JSONDecodeError as exc:
                raise _json_error(path, exc) from None
            line += text.count("\n", counted, index)
            counted = index
            where = f"{path}:{line}"
            yield where, _record(where, value)
            index = _skip(text, end)
            if index < len(text) and text[index] == ",":
                index = _skip(text, index + 1)
                continue
            if index < len(text) and text[index] == "]":
                index = _skip(text, index + 1)
                break
            found = repr(text[index]) if index < len(text) else "end of file"
            raise SourceFileError(f"{path}:{_position(text, index)}: invalid JSON: expected ',' or ']' "
                                  f"after a record, found {found}")
    if index < len(text):
        raise SourceFileError(f"{path}:{_position(text, index)}: invalid JSON: extra data after the array")


def iter_jsonl(path: Path) -> Iterator[Located]:
    with path.open(encoding="utf-8-sig") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    raise SourceFileError(f"{path}:{number}:{exc.colno}: invalid JSON: {exc.msg}") from None
                where = f"{path}:{number}"
                yield where, _record(where, value)
        except UnicodeDecodeError as exc:
            raise SourceFileError(f"{path}: not UTF-8 text ({exc.reason}); save the export as UTF-8") \
                from None


def iter_csv(path: Path, label: str) -> Iterator[Located]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            names = [csv_field_name(h) for h in header]
            if "id" not in names and own_id_column(label) in names:
                names[names.index(own_id_column(label))] = "id"
            for position, name in enumerate(names):
                if not name:
                    raise SourceFileError(f"{path}:1: column {position + 1} has no name")
                if names.index(name) != position:
                    raise SourceFileError(f"{path}:1: columns {names.index(name) + 1} and {position + 1} "
                                          f"both mean {name!r}")
            line = reader.line_num + 1
            for row in reader:
                if row:
                    if len(row) != len(names):
                        raise SourceFileError(f"{path}:{line}: expected {len(names)} values (one per "
                                              f"header column), found {len(row)}")
                    values = {n: (v if v != "" else None) for n, v in zip(names, row, strict=True)}
                    yield f"{path}:{line}", values
                line = reader.line_num + 1
        except csv.Error as exc:
            raise SourceFileError(f"{path}:{reader.line_num}: malformed CSV: {exc}") from None
        except UnicodeDecodeError as exc:
            raise SourceFileError(f"{path}: not UTF-8 text ({exc.reason}); save the export as UTF-8") \
                from None
