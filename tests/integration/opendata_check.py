"""Checks a published open-data CSV against its Frictionless Table Schema,
its template's header line, and the datapackage.json beside it. Standard
library only.

    opendata_check.py SCHEMA.json TEMPLATE.csv FILE.csv [DATAPACKAGE.json]

Prints one line per problem (at most 20) and exits 1 if there is any; else
prints "FILE.csv: N rows valid" and exits 0.

Types checked: string (formats email, uri), integer, number, boolean, date
(default ISO YYYY-MM-DD, or a strptime format such as %Y-%m), time
(default HH:MM:SS, or a strptime format), year, yearmonth, datetime;
constraints required, unique, minimum, maximum, minLength, maxLength,
enum, pattern (the whole value). The empty string is the missing value
(Table Schema's default missingValues).
"""
import csv
import datetime
import hashlib
import json
import os
import re
import sys


def parse_value(field, v):
    """The value as a Python object, or raise ValueError."""
    t = field.get("type", "string")
    fmt = field.get("format", "default")
    if t == "string":
        if fmt == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
            raise ValueError("not an e-mail address")
        if fmt == "uri" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:\S+", v):
            raise ValueError("not a URI")
        return v
    if t == "integer":
        if not re.fullmatch(r"[+-]?[0-9]+", v):
            raise ValueError("not an integer")
        return int(v)
    if t == "number":
        if not re.fullmatch(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?", v):
            raise ValueError("not a number")
        return float(v)
    if t == "boolean":
        if v in ("true", "True", "TRUE", "1"):
            return True
        if v in ("false", "False", "FALSE", "0"):
            return False
        raise ValueError("not a boolean")
    if t == "date":
        if fmt in ("default", "any"):
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v):
                raise ValueError("not an ISO date YYYY-MM-DD")
            return datetime.date.fromisoformat(v)
        d = datetime.datetime.strptime(v, fmt)
        if d.strftime(fmt) != v:
            raise ValueError("not in the format %s" % fmt)
        return d.date()
    if t == "time":
        f = "%H:%M:%S" if fmt in ("default", "any") else fmt
        d = datetime.datetime.strptime(v, f)
        if d.strftime(f) != v:
            raise ValueError("not in the format %s" % f)
        return d.time()
    if t == "datetime":
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
    if t == "year":
        if not re.fullmatch(r"[0-9]{4}", v):
            raise ValueError("not a year")
        return int(v)
    if t == "yearmonth":
        if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", v):
            raise ValueError("not a year-month")
        return v
    raise ValueError("type %s is not known to this checker" % t)


def check_rows(schema, template, path, problems):
    fields = schema["fields"]
    missing = schema.get("missingValues", [""])
    with open(template, encoding="utf-8-sig", newline="") as f:
        template_header = f.readline().rstrip("\r\n")
    raw = open(path, "rb").read()
    if raw.startswith(b"\xef\xbb\xbf"):
        problems.append("%s: starts with a byte-order mark" % path)
    text = raw.decode("utf-8")
    header_line = text.split("\n", 1)[0].rstrip("\r")
    if header_line != template_header:
        problems.append("%s: header %r is not the template's %r" % (path, header_line, template_header))
    rows = list(csv.reader(text.splitlines(keepends=True)[1:]))
    names = [f["name"] for f in fields]
    if header_line.split(",") != names:
        problems.append("%s: header does not name the schema's fields in order" % path)
    seen = {}
    for n, row in enumerate(rows, start=2):
        if len(row) != len(fields):
            problems.append("%s:%d: %d cells, the schema has %d fields" % (path, n, len(row), len(fields)))
            continue
        for field, v in zip(fields, row):
            c = field.get("constraints", {})
            where = "%s:%d: %s %r" % (path, n, field["name"], v)
            if v in missing:
                if c.get("required"):
                    problems.append(where + ": required")
                continue
            try:
                value = parse_value(field, v)
            except ValueError as e:
                problems.append("%s: %s" % (where, e))
                continue
            if "enum" in c and v not in c["enum"]:
                problems.append(where + ": not one of the enum")
            if "pattern" in c and not re.fullmatch(c["pattern"], v):
                problems.append(where + ": does not match " + c["pattern"])
            if "minimum" in c and value < parse_value(field, str(c["minimum"])):
                problems.append(where + ": below the minimum")
            if "maximum" in c and value > parse_value(field, str(c["maximum"])):
                problems.append(where + ": above the maximum")
            if "minLength" in c and len(v) < c["minLength"]:
                problems.append(where + ": shorter than minLength")
            if "maxLength" in c and len(v) > c["maxLength"]:
                problems.append(where + ": longer than maxLength")
            if c.get("unique"):
                if (field["name"], v) in seen:
                    problems.append(where + ": not unique")
                seen[(field["name"], v)] = n
    return rows


def check_package(dp_path, csv_path, schema, rows, problems):
    dp = json.load(open(dp_path, encoding="utf-8"))
    for member in ("name", "title", "licenses", "sources", "resources", "temporalCoverage"):
        if member not in dp:
            problems.append("%s: no %s" % (dp_path, member))
    if not re.fullmatch(r"[a-z0-9._-]+", dp.get("name", "")):
        problems.append("%s: name %r is not lower-case a-z0-9._-" % (dp_path, dp.get("name")))
    for lic in dp.get("licenses", []):
        if not (lic.get("name") or lic.get("path")):
            problems.append("%s: a licence without name or path" % dp_path)
    if not dp.get("licenses"):
        problems.append("%s: no licence" % dp_path)
    for src in dp.get("sources", []):
        if not src.get("title"):
            problems.append("%s: a source without a title" % dp_path)
    res = dp.get("resources", [])
    if len(res) != 1:
        problems.append("%s: %d resources, expected 1" % (dp_path, len(res)))
        return dp
    r = res[0]
    for member in ("name", "path", "format", "encoding", "bytes", "hash", "schema", "profile"):
        if member not in r:
            problems.append("%s: resource has no %s" % (dp_path, member))
    p = r.get("path", "")
    if p.startswith("/") or ".." in p.split("/") or "://" in p:
        problems.append("%s: resource path %r is not a relative path" % (dp_path, p))
    if os.path.join(os.path.dirname(dp_path), p) != os.path.join(os.path.dirname(csv_path), os.path.basename(csv_path)):
        problems.append("%s: resource path %r is not the CSV beside it" % (dp_path, p))
    if r.get("format") != "csv" or r.get("encoding", "").lower() != "utf-8":
        problems.append("%s: format/encoding %r/%r" % (dp_path, r.get("format"), r.get("encoding")))
    data = open(csv_path, "rb").read()
    if r.get("bytes") != len(data):
        problems.append("%s: bytes %r, the file has %d" % (dp_path, r.get("bytes"), len(data)))
    if r.get("hash") != "sha256:" + hashlib.sha256(data).hexdigest():
        problems.append("%s: hash %r is not the file's SHA-256" % (dp_path, r.get("hash")))
    # The embedded Table Schema is the published one (names, types, formats, constraints).
    emb = r.get("schema", {}).get("fields", [])
    want = [(f["name"], f.get("type", "string"), f.get("format", "default"), f.get("constraints", {})) for f in schema["fields"]]
    got = [(f["name"], f.get("type", "string"), f.get("format", "default"), f.get("constraints", {})) for f in emb]
    if want != got:
        for w, g in zip(want, got):
            if w != g:
                problems.append("%s: embedded field %r differs from the schema: %r" % (dp_path, g, w))
        if len(want) != len(got):
            problems.append("%s: embedded schema has %d fields, the schema %d" % (dp_path, len(got), len(want)))
    # The period covered: the first and last day of the rows' dates.
    days = []
    for field, i in ((f, i) for i, f in enumerate(schema["fields"]) if f.get("type") == "date"):
        fmt = field.get("format", "default")
        for row in rows:
            v = row[i]
            if not v:
                continue
            if fmt == "%Y-%m":
                d = datetime.datetime.strptime(v, fmt).date()
                nxt = (d.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
                days += [d, nxt - datetime.timedelta(days=1)]
            else:
                days.append(datetime.date.fromisoformat(v))
    tc = dp.get("temporalCoverage", {})
    if days and field_is_register(schema) is False:
        if tc.get("start") != min(days).isoformat() or tc.get("end") != max(days).isoformat():
            problems.append("%s: temporalCoverage %r, the rows cover %s to %s" % (dp_path, tc, min(days), max(days)))
    return dp


def field_is_register(schema):
    names = {f["name"] for f in schema["fields"]}
    return "Postcode" in names and "Type of library" in names


def main(argv):
    schema_path, template, csv_path = argv[1:4]
    dp_path = argv[4] if len(argv) > 4 else None
    schema = json.load(open(schema_path, encoding="utf-8"))
    problems = []
    rows = check_rows(schema, template, csv_path, problems)
    if dp_path:
        check_package(dp_path, csv_path, schema, rows, problems)
    for p in problems[:20]:
        print(p)
    if problems:
        print("%s: %d problems" % (csv_path, len(problems)))
        return 1
    print("%s: %d rows valid%s" % (csv_path, len(rows), " (and its datapackage.json)" if dp_path else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
