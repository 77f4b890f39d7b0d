"""Compares a published file as it was loaded with the file shelfsync
exported from the warehouse, after the normalisations docs/publishing.md
lists. Standard library only.

    opendata_roundtrip.py TEMPLATE.csv FIXTURE.csv EXPORT.csv AUTHORITY_NAME

The fixture's rows are converted to the current schema (by the template's
header): older column names (events "Outcome" -> "Main outcome", libraries "Colocated" ->
"Co-located"), an
absent column empty; the authority as its name in ref.authority
(AUTHORITY_NAME); values trimmed; postcodes upper case with one space;
UPRNs without leading zeros; decimals compared as numbers; membership
counts under 5 as x. Rows are compared as multisets (the export has its own
order). Prints the differences (at most 10 each way) and exits 1 if any.
"""
import csv
import decimal
import re
import sys

RENAMED = {"Main outcome": ["Outcome"], "Co-located": ["Colocated"], "Co-located with": ["Colocated with"]}
NUMERIC = {"geox", "geoy"}


def norm(col, v, authority):
    v = v.replace("\u00a0", " ").strip()
    if col in ("Local authority", "organisation"):
        return authority
    if col in ("Postcode", "postcode") and v:
        s = re.sub(r"\s+", "", v.upper())
        return s[:-3] + " " + s[-3:]
    if col == "Unique property reference number" and v:
        return str(int(v))
    if col in NUMERIC and v:
        return str(decimal.Decimal(v).normalize())
    if col == "Members" and v.isdigit() and int(v) < 5:
        return "x"
    return v


def read(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def main(argv):
    template, fixture, export, authority = argv[1:5]
    with open(template, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f))
    want = []
    for r in read(fixture):
        row = []
        for col in header:
            v = r.get(col)
            for old in RENAMED.get(col, []):
                if v is None:
                    v = r.get(old)
            row.append(norm(col, v or "", authority))
        want.append(tuple(row))
    got = [tuple(norm(c, r[c], authority) if c in NUMERIC else r[c] for c in header) for r in read(export)]
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    dup_want = len(want) - len(set(want))
    bad = False
    if sorted(want) != sorted(got):
        bad = True
        print("%s vs %s: %d rows in the file, %d exported (%d repeats in the file)" % (fixture, export, len(want), len(got), dup_want))
        for r in missing[:10]:
            print("  in the file, not exported: %s" % (r,))
        for r in extra[:10]:
            print("  exported, not in the file: %s" % (r,))
    if bad:
        return 1
    print("%s: the %d rows of %s, after the documented normalisations" % (export, len(got), fixture))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
