"""Read a CSV file a user hands the kit, so that every failure names the file and the line.

Python's own errors name neither: a file saved in another encoding (Excel's cp1252, say)
fails with a UnicodeDecodeError at a byte offset, and a quote that is never closed swallows
the rest of the file into one field until csv stops at 'field larger than field limit'.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator


class CSVFileError(ValueError):
    """A CSV file that cannot be read as text or as CSV; the message names file and line."""


def read_text(path) -> str:
    """The file's text, decoded as UTF-8 (with or without a byte-order mark)."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise CSVFileError(f"{path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text; "
                           f"save the file as UTF-8 (CSV UTF-8 in Excel)") from None


def records(path) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its fields) for each non-blank record, header included."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            hint = "; a quote opened on this line is never closed" if "field limit" in str(e) else ""
            raise CSVFileError(f"{path} line {line}: {e}{hint}") from None
        if fields:
            yield line, fields
