#!/usr/bin/env python3
"""Helpers for scripts/bench.

  bench.py change IN OUT          copy the loans export IN to OUT with 1 % of
                                  its data rows (every 100th) one loan higher;
                                  prints how many rows changed
  bench.py wire PCAP PORT         the TCP payload bytes of a capture (tcpdump
                                  -w, headers only is enough), to PORT and
                                  from it: prints "to from"
  bench.py report TSV INFO OUT    the medians of the measurements in TSV
                                  (case, round, seconds, rows, batches,
                                  collector KiB, daemon KiB, wire bytes; "-"
                                  when not measured), the ratios the issue
                                  targets; writes OUT (Markdown) with the
                                  machine facts in INFO (key<TAB>value lines)
                                  and prints the same."""
import statistics
import struct
import sys


def change(src, dst):
    n = 0
    with open(src, newline="") as f, open(dst, "w", newline="") as g:
        g.write(f.readline())
        for i, line in enumerate(f):
            if i % 100 == 0:
                head, _, loans = line.rstrip("\r\n").rpartition(",")
                line = f"{head},{int(loans) + 1}\r\n"
                n += 1
            g.write(line)
    print(n)


def wire(path, port):
    port = int(port)
    to = back = 0
    with open(path, "rb") as f:
        gh = f.read(24)
        if len(gh) < 24:
            print("0 0")
            return
        endian = "<" if gh[:4] == b"\xd4\xc3\xb2\xa1" or gh[:4] == b"\x4d\x3c\xb2\xa1" else ">"
        linktype = struct.unpack(endian + "I", gh[20:24])[0]
        link = {1: 14, 113: 16, 0: 4}.get(linktype, 14)
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            incl = struct.unpack(endian + "IIII", rh)[2]
            pkt = f.read(incl)
            ip = pkt[link:]
            if len(ip) < 20 or ip[0] >> 4 != 4:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            tcp = ip[ihl:]
            if len(tcp) < 14:
                continue
            sport, dport = struct.unpack(">HH", tcp[:4])
            payload = total - ihl - (tcp[12] >> 4) * 4
            if dport == port:
                to += payload
            elif sport == port:
                back += payload
    print(to, back)


CASES = [
    ("ceiling", "ceiling: curl | psql \\copy into a plain table"),
    ("copy_indexed", "curl | psql \\copy into the natural-key unique index"),
    ("psql_upsert", "psql staging upsert (COPY to temp + INSERT ON CONFLICT), empty table"),
    ("psql_upsert_full", "psql staging upsert, every row present"),
    ("pgloader", "pgloader (curl | pgloader, into the natural-key index)"),
    ("first", "shelfsync first load"),
    ("reload", "shelfsync reload (every row present)"),
    ("unchanged", "shelfsync unchanged export (conditional GET)"),
    ("changed", "shelfsync export with 1 % of rows changed"),
]


def report(tsv, info_path, out):
    data = {}
    for line in open(tsv):
        f = line.rstrip("\n").split("\t")
        data.setdefault(f[0], []).append(f[2:])
    info = [line.rstrip("\n").split("\t", 1) for line in open(info_path) if "\t" in line]
    infod = dict(info)
    rows = int(infod["rows"].split()[0])

    def med(case, col):
        vals = [float(r[col]) for r in data.get(case, []) if r[col] != "-"]
        return statistics.median(vals) if vals else None

    secs = {c: med(c, 0) for c, _ in CASES}
    lines = ["# shelfsync benchmark: latest results", "",
             "Made by `./scripts/bench` (bench/README.md). Medians of "
             f"{infod['rounds']} interleaved rounds (every case once per round).", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in info] + [""]
    lines += ["| case | median s | rows/s | rounds | batches | collector peak MiB | daemon peak MiB | wire bytes/row |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for c, label in CASES:
        label = label.replace("|", "\\|")
        if c not in data:
            lines.append(f"| {label} | not run | | | | | | |")
            continue
        s = secs[c]
        fmt = lambda v, f: "" if v is None else f.format(v)
        b = med(c, 2)
        ck, dk, wb = med(c, 3), med(c, 4), med(c, 5)
        lines.append(f"| {label} | {s:.2f} | {rows / s:,.0f} | {len(data[c])} | {fmt(b, '{:.0f}')} | "
                     f"{fmt(ck and ck / 1024, '{:.1f}')} | {fmt(dk and dk / 1024, '{:.1f}')} | "
                     f"{fmt(wb and wb / rows, '{:.1f}')} |")
    lines += ["", "Ratios are of speed (rows/s of the first case over rows/s of the second, "
              "i.e. the second's seconds over the first's).", "",
              "| ratio | measured | target | met |", "|---|---:|---:|---|"]

    def ratio(a, b, target, name):
        if secs.get(a) is None or secs.get(b) is None:
            lines.append(f"| {name} | not measured | ≥ {target} | unknown |")
            return
        r = secs[b] / secs[a]
        lines.append(f"| {name} | {r:.2f} | ≥ {target} | {'yes' if r >= target else 'NO'} |")

    ratio("first", "psql_upsert", 1.5, "first load ÷ psql staging upsert")
    ratio("first", "copy_indexed", 0.8, "first load ÷ \\copy into the indexed table")
    ratio("first", "pgloader", 5, "first load ÷ pgloader")
    ratio("reload", "psql_upsert_full", 2, "reload ÷ psql upsert into a full table")
    if secs.get("changed") and secs.get("reload"):
        lines.append(f"| 1 % changed ÷ reload (seconds) | {secs['changed'] / secs['reload']:.2f} | "
                     "(no target) | |")
    for c, col, target, who in [("first", 3, 32, "collector"), ("first", 4, 64, "daemon")]:
        peak = max((float(r[col]) for k in ("first", "reload", "unchanged", "changed")
                    for r in data.get(k, []) if r[col] != "-"), default=None)
        if peak is None:
            lines.append(f"| {who} peak RSS (MiB, any shelfsync case) | not measured | ≤ {target} | unknown |")
        else:
            lines.append(f"| {who} peak RSS (MiB, highest of every shelfsync run) | {peak / 1024:.1f} | "
                         f"≤ {target} | {'yes' if peak / 1024 <= target else 'NO'} |")
    notes = infod.get("notes")
    text = "\n".join(lines) + "\n"
    extra = open(info_path + ".notes").read() if notes is None else ""
    if extra.strip():
        text += "\n## Notes\n\n" + extra
    with open(out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"change": change, "wire": wire, "report": report}[cmd](*sys.argv[2:])
