#!/usr/bin/env python3
"""Helpers for scripts/bench.

  bench.py change IN OUT          copy the loans export IN to OUT with 1 % of
                                  its data rows (every 100th) one loan higher;
                                  prints how many rows changed
  bench.py wire PCAP PORT         the TCP payload bytes of a capture (tcpdump
                                  -w, headers only is enough), to PORT and
                                  from it: prints "to from"
  bench.py report TSV INFO OUT [FLEET]
                                  the medians of the measurements in TSV
                                  (case, round, seconds, rows, batches,
                                  collector KiB, daemon KiB, wire bytes,
                                  quarantined; "-" when not measured) by
                                  case and size, the concurrent collectors'
                                  figures in FLEET (key<TAB>value lines),
                                  the ratios the issue targets; writes OUT
                                  (Markdown) with the machine facts in INFO
                                  (key<TAB>value lines) and the notes in
                                  INFO.notes, and prints the same
  bench.py fleet SECS TOTAL ROWS  the concurrent collectors' summary from
                                  their seconds (SECS, one a line), the
                                  seconds in all and the rows each: prints
                                  key<TAB>value lines for report"""
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
TX_CASES = [
    ("tx_ceiling", "ceiling: curl | psql \\copy into a plain table (text columns)"),
    ("tx_copy_indexed", "curl | psql \\copy into the natural-key unique index (text columns)"),
    ("tx_psql_upsert", "psql staging upsert with the same checks, maps and HMAC (pgcrypto), empty table"),
    ("tx_psql_upsert_full", "psql staging upsert, every row present"),
    ("tx_first", "shelfsync first load"),
    ("tx_reload", "shelfsync reload (every row present)"),
]
SHELFSYNC = {"first", "reload", "unchanged", "changed", "tx_first", "tx_reload"}


def report(tsv, info_path, out, fleet_path=None):
    """TSV columns: case, round, seconds, rows, batches, collector KiB,
    daemon KiB, wire bytes, quarantined (the last optional)."""
    data = {}
    for line in open(tsv):
        f = line.rstrip("\n").split("\t")
        f += ["-"] * (9 - len(f))
        data.setdefault((f[0], int(f[3])), []).append(f[2:3] + f[4:9])
    info = [line.rstrip("\n").split("\t", 1) for line in open(info_path) if "\t" in line]
    infod = dict(info)
    fleet = {}
    if fleet_path:
        fleet = dict(line.rstrip("\n").split("\t", 1) for line in open(fleet_path) if "\t" in line)

    def med(case, rows, col):
        vals = [float(r[col]) for r in data.get((case, rows), []) if r[col] != "-"]
        return statistics.median(vals) if vals else None

    def sizes(cases):
        return sorted({n for (c, n) in data if c in dict(cases)})

    fmt = lambda v, f: "" if v is None else f.format(v)
    lines = ["# shelfsync benchmark: latest results", "",
             "Made by `./scripts/bench` (bench/README.md). Medians of "
             f"{infod['rounds']} interleaved rounds (every case once per round)"
             + (f"; at {int(infod['big rows'].split()[0]):,} rows, {infod['big rounds']} round(s) of the cases that "
                "matter at that size" if infod.get("big rows") else "") + ".", ""]
    lines += ["| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in info] + [""]

    def table(title, cases):
        ns = sizes(cases)
        if not ns:
            return
        lines.extend([f"## {title}", "",
                      "| case | rows | median s | rows/s | rounds | batches | quarantined | "
                      "collector peak MiB | daemon peak MiB | wire bytes/row |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"])
        for n in ns:
            for c, label in cases:
                label = label.replace("|", "\\|")
                if (c, n) not in data:
                    if n == ns[0]:
                        lines.append(f"| {label} | {n:,} | not run | | | | | | | |")
                    continue
                s = med(c, n, 0)
                b, ck, dk, wb, q = (med(c, n, k) for k in (1, 2, 3, 4, 5))
                lines.append(f"| {label} | {n:,} | {s:.2f} | {n / s:,.0f} | {len(data[(c, n)])} | "
                             f"{fmt(b, '{:.0f}')} | {fmt(q, '{:.0f}')} | "
                             f"{fmt(ck and ck / 1024, '{:.1f}')} | {fmt(dk and dk / 1024, '{:.1f}')} | "
                             f"{fmt(wb and wb / n, '{:.1f}')} |")
        lines.append("")

    table("Aggregate loans (core.loans, tests/integration/gen_loans.py)", CASES)
    table("Transaction-level loans (core.loan_transactions, bench/lib/gen_transactions.py)", TX_CASES)
    if fleet:
        lines += [f"## {fleet['collectors']} concurrent collectors, one per authority", "",
                  "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in fleet.items()] + [""]

    lines += ["## Ratios", "",
              "Speed ratios are rows/s of the first case over rows/s of the second "
              "(i.e. the second's seconds over the first's), both at the same size.", "",
              "| ratio | rows | measured | target | met |", "|---|---:|---:|---:|---|"]

    def ratio(a, b, n, target, name):
        sa, sb = med(a, n, 0), med(b, n, 0)
        if sa is None or sb is None:
            lines.append(f"| {name} | {n:,} | not measured | ≥ {target} | unknown |")
            return
        r = sb / sa
        lines.append(f"| {name} | {n:,} | {r:.2f} | ≥ {target} | {'yes' if r >= target else 'NO'} |")

    def peak(prefix, n, col):
        vals = [float(r[col]) for (c, m), rs in data.items() if m == n and c in SHELFSYNC
                and c.startswith("tx_") == (prefix == "tx_") for r in rs if r[col] != "-"]
        return max(vals) if vals else None

    for cases, p, what in [(CASES, "", "aggregate"), (TX_CASES, "tx_", "transactions")]:
        for n in sizes(cases):
            ratio(p + "first", p + "psql_upsert", n, 1.5, f"{what}: first load ÷ psql staging upsert")
            ratio(p + "first", p + "copy_indexed", n, 0.8, f"{what}: first load ÷ \\copy into the indexed table")
            if not p:
                ratio("first", "pgloader", n, 5, f"{what}: first load ÷ pgloader")
            ratio(p + "reload", p + "psql_upsert_full", n, 2, f"{what}: reload ÷ psql upsert into a full table")
            ch, rl = med(p + "changed", n, 0), med(p + "reload", n, 0)
            if ch and rl:
                lines.append(f"| {what}: 1 % changed ÷ reload (seconds) | {n:,} | {ch / rl:.2f} | (no target) | |")
            for col, target, who in [(2, 32, "collector"), (3, 64, "daemon")]:
                pk = peak(p, n, col)
                if pk is None:
                    lines.append(f"| {what}: {who} peak RSS (MiB) | {n:,} | not measured | ≤ {target} | unknown |")
                else:
                    lines.append(f"| {what}: {who} peak RSS (MiB, highest of its shelfsync runs) | {n:,} | "
                                 f"{pk / 1024:.1f} | ≤ {target} | {'yes' if pk / 1024 <= target else 'NO'} |")
        ns = sizes(cases)
        if len(ns) > 1:
            for col, who in [(2, "collector"), (3, "daemon")]:
                a, b = peak(p, ns[0], col), peak(p, ns[-1], col)
                if a and b:
                    d = (b - a) / a * 100
                    lines.append(f"| {what}: {who} peak at {ns[-1]:,} vs {ns[0]:,} rows | | "
                                 f"{a / 1024:.1f} → {b / 1024:.1f} MiB ({d:+.1f} %) | ± 10 % | "
                                 f"{'yes' if abs(d) <= 10 else 'NO'} |")
    if fleet:
        med_s, slow = float(fleet["collector seconds, median"]), float(fleet["collector seconds, slowest"])
        r = slow / med_s if med_s else float("inf")
        lines.append(f"| {fleet['collectors']} collectors: slowest ÷ median (seconds) | "
                     f"{int(fleet['collectors']) * int(fleet['rows each']):,} | {r:.2f} | ≤ 2 | "
                     f"{'yes' if r <= 2 else 'NO'} |")
        dk = float(fleet["daemon peak MiB"])
        lines.append(f"| {fleet['collectors']} collectors: daemon peak RSS (MiB) | | {dk:.1f} | ≤ 64 | "
                     f"{'yes' if dk <= 64 else 'NO'} |")
    text = "\n".join(lines) + "\n"
    extra = open(info_path + ".notes").read()
    if extra.strip():
        text += "\n## Notes\n\n" + extra
    with open(out, "w") as f:
        f.write(text)
    sys.stdout.write(text)


def fleet_summary(secs_path, total_s, rows_each):
    """Prints key<TAB>value lines from the collectors' seconds (one a line)."""
    secs = sorted(float(x) for x in open(secs_path).read().split())
    n = len(secs)
    total = n * int(rows_each)
    t = float(total_s)
    print(f"collectors\t{n}")
    print(f"rows each\t{int(rows_each)}")
    print(f"rows in all\t{total}")
    print(f"seconds in all (first start to last end)\t{t:.2f}")
    print(f"rows/s in all\t{total / t:,.0f}")
    print(f"collector seconds, median\t{statistics.median(secs):.2f}")
    print(f"collector seconds, fastest\t{secs[0]:.2f}")
    print(f"collector seconds, slowest\t{secs[-1]:.2f}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"change": change, "wire": wire, "report": report, "fleet": fleet_summary}[cmd](*sys.argv[2:])
