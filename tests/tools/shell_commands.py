#!/usr/bin/env python3
"""Print the command names the given bash scripts call, one per line, sorted.

    shell_commands.py FILE...

A command name is a word in command position (start of a line, after ; & | ( {
`, $( or a keyword such as then/do/else, after ! or a prefix such as exec,
timeout N or VAR=value) in the code, with comments, quoted strings (except the
$(...) inside double quotes, which is code) and here-document bodies removed.
Names of functions the files define, variable assignments, words starting with
$ and relative paths are left out. It is a scanner for
integration_install_list, not a shell parser: it may print a few words that
are not commands (the test only looks at those that name an installed program).
"""
import re
import sys

KEYWORDS = {"then", "do", "else", "elif", "if", "while", "until", "!", "time", "{", "(", "&&",
            "||", "|", ";", "exec", "command", "builtin", "nohup", "setsid", "env", "xargs",
            "runuser", "timeout", "nice", "ionice", "stdbuf"}
WORD = re.compile(r"[A-Za-z0-9_./+:@%=\[\]-]+|\S")
FUNC = re.compile(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\s*\)", re.M)
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


def strip_code(text):
    """The text with comments, strings and here-document bodies blanked out."""
    out = []
    i, n = 0, len(text)
    pending = []  # here-document terminators whose bodies start at the next line

    def code_until(i, closer):
        # Lex code from i until the unmatched closer (")" for $( ) or end.
        depth = 0
        buf = []
        while i < n:
            c = text[i]
            if c == closer and depth == 0:
                return "".join(buf), i + 1
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            if c == "'":
                j = text.find("'", i + 1)
                i = n if j < 0 else j + 1
                buf.append(" S ")
                continue
            if c == '"':
                s, i = dquote(i + 1)
                buf.append(s)
                continue
            buf.append(c)
            i += 1
        return "".join(buf), i

    def dquote(i):
        # Inside "...": keep only the $( ... ) parts, as code on their own.
        parts = [" S "]
        while i < n and text[i] != '"':
            if text[i] == "\\":
                i += 2
                continue
            if text.startswith("$(", i) and not text.startswith("$((", i):
                s, i = code_until(i + 2, ")")
                parts.append(" ; " + s + " ; ")
                continue
            i += 1
        return "".join(parts), i + 1

    while i < n:
        c = text[i]
        if c == "\n":
            out.append("\n")
            i += 1
            for term, dash in pending:
                # Skip the body up to the terminator line.
                while i < n:
                    j = text.find("\n", i)
                    j = n if j < 0 else j
                    line = text[i:j]
                    i = j + 1
                    if (line.lstrip("\t") if dash else line) == term:
                        break
                    out.append("\n")
                out.append("\n")
            pending = []
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n;"):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if c == "\\":
            out.append(" ")
            i += 2
            continue
        if c == "'":
            j = text.find("'", i + 1)
            i = n if j < 0 else j + 1
            out.append(" S ")
            continue
        if c == '"':
            s, i = dquote(i + 1)
            out.append(s)
            continue
        m = HEREDOC.match(text, i)
        if m:
            pending.append((m.group(3), m.group(1) == "-"))
            out.append(" ")
            i = m.end()
            continue
        if text.startswith("$((", i):
            j = text.find("))", i)
            i = n if j < 0 else j + 2
            out.append(" N ")
            continue
        if text.startswith("[[", i):
            j = text.find("]]", i)
            i = n if j < 0 else j + 2
            out.append(" true ")
            continue
        if text.startswith("$(", i):
            out.append(" ; ")
            i += 2
            continue
        if c in "`)":
            out.append(" ; ")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out)


def commands(text):
    funcs = set(FUNC.findall(text))
    code = strip_code(text)
    found = set()
    for line in code.split("\n"):
        words = WORD.findall(re.sub(r"(\|\||&&|[;&|({])", r" \1 ", line))
        expect = True
        skip_next = False
        for w in words:
            if w in (";", "&", "|", "(", "{", "&&", "||"):
                expect = True
                continue
            if not expect:
                continue
            if skip_next:  # the N of "timeout N", the user of "runuser -u U"
                skip_next = w.startswith("-") and w not in ("--",)
                continue
            if w in KEYWORDS:
                if w in ("timeout", "runuser"):
                    skip_next = True
                continue
            if w.startswith("-") or w == "S" or w == "N":
                expect = False  # an option or a quoted command: no command name here
                continue
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w):
                continue  # VAR=value prefix or assignment
            expect = False
            if w.startswith("$") or ("/" in w and not w.startswith("/")):
                continue
            if w in funcs or not re.match(r"^[A-Za-z/][A-Za-z0-9_./+-]*$", w):
                continue
            found.add(w)
    return found


def main(argv):
    found = set()
    for path in argv[1:]:
        with open(path, encoding="utf-8", errors="replace") as f:
            found |= commands(f.read())
    for w in sorted(found):
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
