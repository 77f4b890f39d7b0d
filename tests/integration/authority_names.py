#!/usr/bin/env python3
"""The authority names (and GSS codes) the real public files publish, for
test_authority_periods.sh: writes one computer_hours CSV per group of files
(Authority, Period, Count) into OUTDIR, each name on its own one-day period
within the time the files describe, so that every row has its own natural
key (the groups' days do not overlap either: the files name the same
authorities). Where a file says which code a name stands for (the register
by the official names of library_authorities.json, services.csv by its
"Authority code" column, the codes themselves), GROUP.sql gets those pairs as
SQL VALUES rows (Count, code, name). Prints "GROUP ROWS" per file written.

Usage: authority_names.py FIXTURES OUTDIR

Left out, and why: names of consortia that are not one library authority
(PLR's "Bedfordshire & Luton", "LibrariesWest", "Tri-Boroughs", ...), the
schema tests' placeholder "Test authority", and authorities outside England
(the register's Scottish, Welsh and Northern Irish services, found by their
names in library_authorities.json; in plr_authorities.csv listed below)."""
import csv
import datetime
import glob
import json
import os
import sys

FIX, OUT = sys.argv[1], sys.argv[2]

PLR_NOT_ONE_AUTHORITY = {
    "Bedfordshire & Luton", "Bucks & Milton Keynes", "Cheshire East, Cheshire West & Ches",
    "Derbyshire & Derby", "Essex,Southend,Thurrock", "Leicestershire & Rutland", "LibrariesWest",
    "Nottinghamshire & Nottingham", "Redbridge, Havering & Wandsworth", "Tri-Boroughs",
    "Denbighshire and Flintshire",
}
PLR_NOT_ENGLAND = {
    "Aberdeenshire", "Argyll & Bute", "Caerphilly", "Cardiff", "Ceredigion", "Conwy",
    "East Ayrshire", "East Lothian", "Edinburgh", "Falkirk", "Fife", "Glasgow", "Gwynedd",
    "Highland", "Midlothian", "Monmouthshire", "Moray", "Neath Port Talbot",
    "North Lanarkshire Council", "Northern Ireland", "Orkney", "Powys", "Scottish Borders",
    "South Lanarkshire", "Swansea", "Vale of Glamorgan", "Wrexham",
}


def rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


auth = json.load(open(os.path.join(FIX, "activity-2023-24/library_authorities.json"), encoding="utf-8"))
not_england = {a["name"] for a in auth if a.get("nation") != "England"}
not_england |= {a["nice_name"] for a in auth if a.get("nation") != "England"}

groups = {}
# The register of service points (current: Cumberland, Somerset Council).
groups["register"] = ("2024-10-15", sorted(
    {r["Local authority"] for r in rows(os.path.join(FIX, "libraries-register/libraries.csv"))}
    - not_england))
# Public Lending Right authorities: before 2019 (Poole, Bournemouth, Cumbria, Northamptonshire).
groups["plr"] = ("2018-04-01", sorted(
    {r["name"] for r in rows(os.path.join(FIX, "libraries-register/plr_authorities.csv"))}
    - PLR_NOT_ONE_AUTHORITY - PLR_NOT_ENGLAND))
# The Arts Council activity data 2023-24 and the register: after the 2023 reorganisations
# (days from 2023-04-01 on): GSS codes, nice names, service names, the raw return.
codes = set()
for path in glob.glob(os.path.join(FIX, "activity-2023-24/*.csv")):
    for r in rows(path):
        for col in ("Authority", "Authority code"):
            if r.get(col, "").startswith("E"):
                codes.add(r[col])
groups["activity-codes"] = ("2023-04-01", sorted(codes))
svc = rows(os.path.join(FIX, "activity-2023-24/services.csv"))
# The code services.csv gives each of its names.
svc_code = {r[c]: r["Authority code"] for r in svc for c in ("Authority nice name", "Library service")}
groups["activity-names"] = ("2023-09-01", sorted(
    {r[c] for r in svc if r["Authority code"].startswith("E")
     for c in ("Authority nice name", "Library service") if r[c].strip()}))
raw = rows(glob.glob(os.path.join(FIX, "activity-2023-24/raw/*.csv"))[0])
groups["activity-raw"] = ("2024-06-01", sorted({r["authority"] for r in raw if r["authority"].strip()}))
# The Libraries Hacked schema examples (2018-2019 data).
names = set()
for path in glob.glob(os.path.join(FIX, "librarydata-schemas/data/*.csv")) + \
        glob.glob(os.path.join(FIX, "librarydata-schemas/tests/*success.csv")):
    for r in rows(path):
        for col in ("Local authority", "organisation"):
            if r.get(col, "").strip():
                names.add(r[col])
groups["schemas"] = ("2019-10-01", sorted(names - {"Test authority", "Aberdeenshire"}))

code_of_name = {a["name"]: a["code"] for a in auth}
expected = {
    "register": code_of_name,
    "activity-codes": {c: c for c in codes},
    "activity-names": svc_code,
}

for group, (start, values) in groups.items():
    day = datetime.date.fromisoformat(start)
    assert len(values) < 365, (group, len(values))
    with open(os.path.join(OUT, group + ".csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Authority", "Period", "Count"])
        for i, v in enumerate(values):
            d = (day + datetime.timedelta(days=i)).isoformat()
            w.writerow([v, f"{d}/{d}", i + 1])
    if group in expected:
        sql = lambda s: "'" + s.replace("'", "''") + "'"
        pairs = [f"({i + 1}, {sql(expected[group][v])}, {sql(v)})"
                 for i, v in enumerate(values) if v in expected[group]]
        with open(os.path.join(OUT, group + ".sql"), "w", encoding="utf-8") as f:
            f.write(",\n".join(pairs) + "\n")
    print(group, len(values))
