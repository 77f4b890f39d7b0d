#!/usr/bin/env python3
"""Say which tests a ctest run skipped, and why.

    ctest_skips.py JUNIT_XML [SKIP_LOG]

JUNIT_XML is what `ctest --output-junit` wrote; SKIP_LOG the file the
integration tests' it_skip appends "NAME<TAB>REASON" lines to (SS_SKIP_LOG).
Prints one line per CTest test that skipped, "NAME: REASON", and one per cmocka
case that skipped inside a test that ran, "NAME: CASE: REASON"; nothing when
nothing skipped. The reason of a skipped CTest test is the one it recorded in
SKIP_LOG, else its last "SKIP: ..." output line, else none: such a test exited
77 without it_skip. Exit status: 0; 3 when some skipped test gave no reason;
2 when JUNIT_XML cannot be read.
"""
import re
import sys
import xml.etree.ElementTree as ET

RUN = re.compile(r"^\[ RUN      \] (\S+)\s*$")
SKIPPED = re.compile(r"^\[  SKIPPED \] (\S+)\s*$")


def recorded_reasons(path):
    reasons = {}
    if not path:
        return reasons
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                name, sep, reason = line.rstrip("\n").partition("\t")
                if sep:
                    reasons[name] = reason
    except FileNotFoundError:
        pass
    return reasons


def cmocka_skips(output):
    """(case, reason) for each cmocka case the output shows as skipped."""
    found, current, lines = [], None, []
    for line in output.splitlines():
        m = RUN.match(line)
        if m:
            current, lines = m.group(1), []
            continue
        m = SKIPPED.match(line)
        if m and m.group(1) == current:
            reason = " ".join(s.strip() for s in lines if s.strip())
            found.append((current, reason or "no reason printed"))
            current = None
            continue
        if current is not None:
            lines.append(line)
    return found


def main(argv):
    if len(argv) not in (2, 3):
        print("usage: ctest_skips.py JUNIT_XML [SKIP_LOG]", file=sys.stderr)
        return 2
    try:
        root = ET.parse(argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"ctest_skips.py: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 2
    reasons = recorded_reasons(argv[2] if len(argv) == 3 else None)
    unexplained = False
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        output = case.findtext("system-out") or ""
        if case.find("skipped") is not None or case.get("status") == "disabled":
            reason = reasons.get(name)
            if reason is None:
                said = [l[5:].strip() for l in output.splitlines() if l.startswith("SKIP:")]
                reason = said[-1] if said else None
            if reason is None:
                unexplained = True
                why = (case.find("skipped").get("message", "") if case.find("skipped") is not None
                       else "disabled")
                reason = (f"no reason given ({why}; it skipped without it_skip): "
                          "see Testing/Temporary/LastTest.log")
            print(f"{name}: {reason}")
        elif case.get("status") == "run":
            for cname, reason in cmocka_skips(output):
                print(f"{name}: {cname}: {reason}")
    return 3 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
