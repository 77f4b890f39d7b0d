#!/usr/bin/env python3
"""Writes a loans export in the open-data schema with N distinct rows and
prints "rows total" for the test to compare with the warehouse.

Rows: authorities x 40 libraries x 120 months x 10 item types (48,000 rows
an authority), deterministic values, a few quoted names with commas, CRLF
line ends like many exports. With AUTHORITY (a number), only that
authority's rows ("Authority AUTHORITY"), its first N (at most 48,000): the
same rows, values included, as the full file has for it. With FIRST-LAST,
one file per authority, FILE's "{}" replaced by its number, and one "rows
total" line for each, in turn.

usage: gen_loans.py FILE N [AUTHORITY | FIRST-LAST]"""
import sys

PER_AUTHORITY = 40 * 120 * 10
TYPES = ["Adult fiction", "Adult non fiction", "Children's fiction", "Children's non fiction",
         "Audiobook", "DVD", "Large print", "Teenage fiction", "Music CD", "E-book"]


def write(path, first, n):
    total = 0
    with open(path, "w", newline="") as f:
        f.write("Local authority,Library name,Month,Type,Loans\r\n")
        for i in range(first, first + n):
            a, rest = divmod(i, PER_AUTHORITY)
            lib, rest = divmod(rest, 120 * len(TYPES))
            month, t = divmod(rest, len(TYPES))
            y, m = 2015 + month // 12, month % 12 + 1
            loans = (i * 7919) % 5000
            name = f'"Library {lib}, Branch {a}"' if lib % 5 == 0 else f"Library {lib}"
            f.write(f"Authority {a},{name},{y:04d}-{m:02d},{TYPES[t]},{loans}\r\n")
            total += loans
    print(n, total)


path, n = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:
    if n > PER_AUTHORITY:
        sys.exit(f"gen_loans.py: an authority has at most {PER_AUTHORITY} rows, not {n}")
    lo, _, hi = sys.argv[3].partition("-")
    for a in range(int(lo), int(hi or lo) + 1):
        write(path.replace("{}", str(a)) if hi else path, a * PER_AUTHORITY, n)
else:
    write(path, 0, n)
