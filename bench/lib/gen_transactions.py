#!/usr/bin/env python3
"""Writes a transaction-level loans export (one library service's LMS, one
row per issue) for the bench, deterministic and streamed (constant memory),
and prints "rows valid invalid".

usage: gen_transactions.py FILE N
       gen_transactions.py --item-type-map    prints the item types' value
                                              map (JSON: spelling -> name)

Columns: Issue id, Issued at, Returned at, Branch, Item barcode, Item type,
Patron id, Age band, Renewal. Values to normalise, a small share each:
  - every 25th row's "Issued at" in the second accepted form, UK local time
    "DD/MM/YYYY HH:MM" (the others ISO 8601 UTC, "2016-05-01T10:15:00Z");
  - every 40th row's item type spelt otherwise: upper case, odd spacing or
    the LMS code (AF, DVD, ...), which the collector's loose value map and
    the psql script's lookup fold to the canonical name;
  - every 60th row's renewal flag as Y / n / TRUE / 0 rather than Yes / No;
  - the age band in variant spellings now and then (not loaded: the
    loan_transactions dataset has no age band);
  - every 20th row without a patron id (optional), every 19th not returned.
Invalid rows, max(4, N // 25000) of them, evenly spread, in turn: an
impossible date (30 February), an empty item type, an empty issued-at and
an unreadable renewal flag ("maybe"). Each must end quarantined.

The map has each canonical name and each LMS code; matched loosely (case
and spacing ignored) it folds every variant above."""
import datetime
import sys

CANON = ["Adult fiction", "Adult non fiction", "Children's fiction", "Children's non fiction",
         "Audiobook", "DVD", "Large print", "Teenage fiction"]
CODES = ["AF", "ANF", "JF", "JNF", "AB", "DVD", "LP", "TF"]
AGES = ["Adult", "12-17", "Under 12"]
AGE_VARIANTS = ["adult", "12 - 17", "UNDER 12"]
HEADER = ("Issue id,Issued at,Returned at,Branch,Item barcode,Item type,Patron id,Age band,"
          "Renewal\r\n")
BASE = int(datetime.datetime(2015, 4, 1, tzinfo=datetime.timezone.utc).timestamp())
LONDON = None


def london():
    global LONDON
    if LONDON is None:
        from zoneinfo import ZoneInfo
        LONDON = ZoneInfo("Europe/London")
    return LONDON


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def invalid_every(n):
    k = max(4, n // 25000)
    return max(1, n // k), k


def main():
    if sys.argv[1:] == ["--item-type-map"]:
        import json
        print(json.dumps({**{c: c for c in CANON}, **dict(zip(CODES, CANON))}))
        return
    path, n = sys.argv[1], int(sys.argv[2])
    step, k = invalid_every(n)
    bad_kind = 0
    invalid = 0
    with open(path, "w", newline="") as f:
        f.write(HEADER)
        for i in range(n):
            # 37 s between issues on average: 10M rows span some 12 years.
            t = BASE + i * 37 + (i * 7919) % 31
            issued = iso(t)
            if i % 25 == 3:
                local = datetime.datetime.fromtimestamp(t - t % 60, london())
                # An hour the clocks go back through is ambiguous in local
                # time: those stay ISO.
                if 3 <= local.hour <= 22:
                    issued = local.strftime("%d/%m/%Y %H:%M")
            returned = "" if i % 19 == 7 else iso(t + 86400 * (1 + i % 28) + 3600 * (i % 7))
            branch = f"Branch {i % 12}"
            barcode = f"3{(i * 104729) % 10 ** 9:09d}"
            t_i = (i * 3 + i // 8) % len(CANON)
            itype = CANON[t_i]
            if i % 40 == 11:
                v = (i // 40) % 3
                itype = itype.upper() if v == 0 else (f"  {itype.lower()} " if v == 1 else CODES[t_i])
            patron = "" if i % 20 == 9 else f"{20000000 + (i * 7919) % 500000}"
            age = (AGE_VARIANTS if i % 33 == 5 else AGES)[(i // 3) % 3]
            renewal = "Yes" if i % 5 == 0 else "No"
            if i % 60 == 17:
                renewal = ["Y", "n", "TRUE", "0"][(i // 60) % 4]
            if invalid < k and i % step == step // 2:
                kind = bad_kind % 4
                bad_kind += 1
                invalid += 1
                if kind == 0:
                    issued = "2019-02-30T10:00:00Z"
                elif kind == 1:
                    itype = ""
                elif kind == 2:
                    issued = ""
                else:
                    renewal = "maybe"
            f.write(f"ISS{i:010d},{issued},{returned},{branch},{barcode},{itype},{patron},{age},"
                    f"{renewal}\r\n")
    print(n, n - invalid, invalid)


if __name__ == "__main__":
    main()
