#!/usr/bin/env python3
"""Writes a loans export in the open-data schema with N distinct rows and
prints "rows total" for the test to compare with the warehouse.

usage: gen_loans.py FILE N
Rows: 50 authorities x 40 libraries x months x item types, deterministic
values, a few quoted names with commas, CRLF line ends like many exports."""
import sys

path, n = sys.argv[1], int(sys.argv[2])
types = ["Adult fiction", "Adult non fiction", "Children's fiction", "Children's non fiction",
         "Audiobook", "DVD", "Large print", "Teenage fiction", "Music CD", "E-book"]
total = 0
with open(path, "w", newline="") as f:
    f.write("Local authority,Library name,Month,Type,Loans\r\n")
    i = 0
    while i < n:
        a, rest = divmod(i, 40 * 120 * len(types))
        lib, rest = divmod(rest, 120 * len(types))
        month, t = divmod(rest, len(types))
        y, m = 2015 + month // 12, month % 12 + 1
        loans = (i * 7919) % 5000
        name = f'"Library {lib}, Branch {a}"' if lib % 5 == 0 else f"Library {lib}"
        f.write(f"Authority {a},{name},{y:04d}-{m:02d},{types[t]},{loans}\r\n")
        total += loans
        i += 1
print(n, total)
