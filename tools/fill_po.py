"""Fill untranslated entries of a catalogue from a Python dict file (msgid → translation).

Usage: python tools/fill_po.py translations/zh/LC_MESSAGES/messages.po translations.py
The dict file defines ``ZH`` (or the name given with --name); plural msgids are tuples.
Only empty entries are filled; existing translations are never overwritten.
"""

from __future__ import annotations

import argparse
import runpy

from babel.messages.pofile import read_po, write_po


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("po")
    parser.add_argument("table")
    parser.add_argument("--name", default="ZH")
    args = parser.parse_args()
    table = runpy.run_path(args.table)[args.name]
    with open(args.po, "rb") as handle:
        catalog = read_po(handle)
    filled = 0
    for message in catalog:
        if not message.id:
            continue
        current = message.string
        empty = not current or (isinstance(current, tuple) and not all(current))
        if empty and message.id in table:
            message.string = table[message.id]
            filled += 1
    with open(args.po, "wb") as handle:
        write_po(handle, catalog, width=0, sort_by_file=True)
    print(f"filled {filled}")


if __name__ == "__main__":
    main()
