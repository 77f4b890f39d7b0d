#!/usr/bin/env python3
"""fake_folio: a small stand-in for a FOLIO Okapi gateway, for the "folio"
source kind's integration test. Standard library only; listens on 127.0.0.1
and prints "PORT <n>" on its first line of output.

What it plays:
  POST /authn/login-with-expiry  X-Okapi-Tenant + {"username","password"} ->
        201, Set-Cookie folioAccessToken / folioRefreshToken with Max-Age;
        400 (text/plain) without or with an unknown tenant; 422 on bad
        credentials (the password is never repeated).
  POST /authn/refresh            Cookie folioRefreshToken -> 201 new cookies, 422 if unknown.
  GET  /circulation/loans, /loan-storage/loans, /service-points, /locations,
       /material-types, /item-storage/items, /users
        tenant header required (400), a live access token required (401:
        X-Okapi-Token or the folioAccessToken cookie); CQL subset: clauses
        joined with "and", parentheses, cql.allRecords=1, field OP "value"
        with = == <> > >= < <= on dotted paths, "sortBy FIELD"; limit
        (default 10) and offset. totalRecords is exact up to exact_below
        records (100 unless configured) and an estimate past it
        (estimate_factor x the truth, 2/3 unless configured), as RMB's
        estimates can be.
  POST /admin/add-loans?count=N  N new loans, made now: loanDate and
        metadata.updatedDate are the real time, as on a live FOLIO.
  POST /admin/config             JSON, any of:
        "token_ttl": s, "cookie_max_age": s, "delay": s -- cookie_max_age may
          lie (longer than the real ttl) to force a 401 on an expired token;
        "max_limit": n -- a gateway that caps limit: pages hold at most n
          records whatever was asked (null: no cap);
        "exact_below": n, "estimate_factor": x -- totalRecords as above;
        "fault_every": n, "fault_at": [n, ...], "fault_kind": "500" | "reset"
          | "short", "fault_path": prefix -- every nth request under the
          prefix (default "/", the login included; counted from this change),
          or the ones numbered, fails: HTTP 500, or a 200 whose body stops
          half-way (Content-Length promising the whole), closed (short: FIN)
          or reset (reset: RST);
        "mutate_after_page": k -- once, right after the kth /circulation/
          loans page served from now: a new loan with the lowest id of all
          and the loan with the highest id changed, both now (the real
          time): what a live FOLIO does under a sweep.
  GET  /stats                    request counts and what was served.

Generated data (seeded, so runs repeat): 4 service points, 2,500 loans with
UUID ids (some renewed), locations, material types, 600 items, 100 users
(--loans, --items, --users). The generated loans are dated in the past.
"""
import argparse
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
STATE = {}


def uid(rng):
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ts(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".000Z"


def build_data(args):
    rng = random.Random(args.seed)
    sps = []
    for code, name in [("CEN", "Central Library"), ("NOR", "North Library"),
                       ("SOU", "South Library"), ("MOB", "Mobile Library")]:
        sps.append({"id": uid(rng), "name": name, "code": code,
                    "discoveryDisplayName": name, "pickupLocation": True,
                    "metadata": {"createdDate": ts(1.7e9), "updatedDate": ts(1.7e9)}})
    mtypes = [{"id": uid(rng), "name": n, "source": "folio"} for n in ("book", "dvd", "sound recording")]
    locs = []
    for sp in sps:
        for sub in ("Adult", "Children"):
            locs.append({"id": uid(rng), "name": f"{sp['name']} {sub}", "code": f"{sp['code']}-{sub[0]}",
                         "isActive": True, "primaryServicePoint": sp["id"], "servicePointIds": [sp["id"]]})
    statuses = ["Available"] * 8 + ["Checked out"] * 3 + ["Withdrawn", "Missing"]
    items = []
    for _ in range(args.items):
        loc = rng.choice(locs)
        items.append({"id": uid(rng), "hrid": f"it{rng.randrange(10**9)}", "barcode": str(rng.randrange(10**12)),
                      "status": {"name": rng.choice(statuses)}, "materialTypeId": rng.choice(mtypes)["id"],
                      "permanentLoanTypeId": "2b94c631-fca9-4892-a730-03ee529ffe27",
                      "effectiveLocationId": loc["id"], "permanentLocationId": loc["id"],
                      "holdingsRecordId": uid(rng), "unknownField": {"nested": [1, 2, 3]}})
    users = [{"id": uid(rng), "username": f"patron{i}", "active": i % 7 != 0, "type": "patron",
              "patronGroup": "3684a786-6671-4268-8ed0-9db82ebca60b",
              "personal": {"lastName": f"Reader{i}", "firstName": "Test"}} for i in range(args.users)]
    STATE.update(sps=sps, mtypes=mtypes, locs=locs, items=items, users=users, loans=[], rng=rng,
                 clock=1.70e9)
    for _ in range(args.loans):
        add_loan()


def ts_ms(seconds):
    """With the milliseconds, as FOLIO writes the real time."""
    return (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
            + ".%03dZ" % (int(seconds * 1000) % 1000))


def add_loan(now=None, loan_id=None):
    """One new loan: at the generator's clock (in the past, updated after
    every loan already there), or made at now (the real time, as on a live
    FOLIO) when now is given."""
    rng = STATE["rng"]
    if now is None:
        STATE["clock"] += rng.randrange(1, 600)
        updated = STATE["clock"]
        loan_date = updated - rng.randrange(0, 3600)
        stamp = ts
    else:
        updated = loan_date = now
        stamp = ts_ms
    item = rng.choice(STATE["items"])
    mt = next(m for m in STATE["mtypes"] if m["id"] == item["materialTypeId"])
    renewals = rng.choice([0, 0, 0, 0, 1, 2])
    loan = {
        "id": loan_id or uid(rng), "itemId": item["id"], "loanDate": stamp(loan_date),
        "dueDate": stamp(loan_date + 21 * 86400), "action": "renewed" if renewals else "checkedout",
        "status": {"name": "Open"}, "renewalCount": renewals,
        "checkoutServicePointId": rng.choice(STATE["sps"])["id"],
        "item": {"id": item["id"], "title": "A book", "barcode": item["barcode"],
                 "materialType": {"name": mt["name"]}, "status": {"name": "Checked out"}},
        "metadata": {"createdDate": stamp(loan_date), "updatedDate": stamp(updated)},
        "feesAndFines": {"amountRemainingToPay": 0},
    }
    if rng.random() < 0.9:
        loan["userId"] = rng.choice(STATE["users"])["id"]  # else anonymised
    STATE["loans"].append(loan)
    return loan


COLLECTIONS = {
    "/circulation/loans": ("loans", "loans"),
    "/loan-storage/loans": ("loans", "loans"),
    "/service-points": ("servicepoints", "sps"),
    "/locations": ("locations", "locs"),
    "/material-types": ("mtypes", "mtypes"),
    "/item-storage/items": ("items", "items"),
    "/users": ("users", "users"),
}

CLAUSE = re.compile(r'^([A-Za-z_][\w.]*)\s*(==|>=|<=|<>|>|<|=)\s*("(?:[^"\\]|\\.)*"|[^\s()"]+)$')


class CQLError(Exception):
    pass


def split_and(q):
    """Splits q on top-level " and " (outside quotes and parentheses)."""
    parts, depth, quote, start, i = [], 0, False, 0, 0
    low = q.lower()
    while i < len(q):
        c = q[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == '"':
                quote = False
        elif c == '"':
            quote = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif depth == 0 and low.startswith(" and ", i):
            parts.append(q[start:i])
            i += 5
            start = i
            continue
        elif depth == 0 and (low.startswith(" or ", i) or low.startswith(" not ", i)):
            raise CQLError("only \"and\" is supported by this fake")
        i += 1
    if quote or depth:
        raise CQLError("unbalanced quotes or parentheses")
    parts.append(q[start:])
    return [p.strip() for p in parts]


def lookup(rec, path):
    for p in path.split("."):
        if not isinstance(rec, dict) or p not in rec:
            return None
        rec = rec[p]
    return rec


def compile_cql(q):
    q = q.strip()
    if q.startswith("(") and q.endswith(")") and len(split_and(q)) == 1:
        inner = q[1:-1]
        try:
            split_and(inner)
            return compile_cql(inner)
        except CQLError:
            pass
    parts = split_and(q)
    if len(parts) > 1:
        preds = [compile_cql(p) for p in parts]
        return lambda r: all(p(r) for p in preds)
    if q == "cql.allRecords=1":
        return lambda r: True
    m = CLAUSE.match(q)
    if not m:
        raise CQLError(f"cannot parse CQL clause {q!r}")
    field, op, val = m.groups()
    if val.startswith('"'):
        val = re.sub(r"\\(.)", r"\1", val[1:-1])

    def pred(r):
        v = lookup(r, field)
        if v is None:
            return False
        v = str(v).lower() if isinstance(v, bool) else str(v)
        return {"=": v == val, "==": v == val, "<>": v != val, ">": v > val, ">=": v >= val,
                "<": v < val, "<=": v <= val}[op]
    return pred


def run_query(records, query):
    sort = None
    if query:
        m = re.search(r"\s+sortBy\s+([\w.]+)(?:/sort\.(ascending|descending))?\s*$", query, re.I)
        if m:
            sort = (m.group(1), m.group(2) == "descending")
            query = query[:m.start()]
        elif re.match(r"^\s*sortBy\s+", query, re.I):
            sort = (query.split()[1], False)
            query = ""
    pred = compile_cql(query) if query and query.strip() else (lambda r: True)
    out = [r for r in records if pred(r)]
    if sort:
        out.sort(key=lambda r: str(lookup(r, sort[0]) or ""), reverse=sort[1])
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        sys.stderr.write("fake_folio: %s\n" % (fmt % a))

    def reply(self, code, body, ctype="application/json", headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        cut, self.cut_short = getattr(self, "cut_short", None), None
        if cut:  # Content-Length promised the whole
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            if cut == "reset":  # RST: SO_LINGER 0, then the descriptor closed at once
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                os.close(self.connection.detach())
                return
            try:
                self.connection.shutdown(socket.SHUT_RDWR)  # FIN
            except OSError:
                pass
            return
        self.wfile.write(data)

    def count(self, key):
        s = STATE["stats"]
        s["requests"][key] = s["requests"].get(key, 0) + 1

    def fault(self, path):
        """Under LOCK: True when this request fails (the answer given)."""
        cfg = STATE["config"]
        if path.startswith("/admin/") or path == "/stats" or not path.startswith(cfg["fault_path"]):
            return False
        STATE["faults_n"] += 1
        n = STATE["faults_n"]
        if not ((cfg["fault_every"] and n % cfg["fault_every"] == 0) or n in cfg["fault_at"]):
            return False
        STATE["stats"]["faults"] += 1
        sys.stderr.write("fake_folio: fault %s on request %d (%s)\n" % (cfg["fault_kind"], n, path))
        if cfg["fault_kind"] in ("short", "reset"):
            self.cut_short = cfg["fault_kind"]
            return False
        self.reply(500, "Internal Server Error", "text/plain")
        return True

    def cookies(self):
        out = {}
        for part in (self.headers.get("Cookie") or "").split(";"):
            if "=" in part:
                k, v = part.strip().split("=", 1)
                out[k] = v
        return out

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def tenant_ok(self):
        t = self.headers.get("X-Okapi-Tenant")
        if not t:
            self.reply(400, "Missing Tenant", "text/plain")
            return False
        if t != ARGS.tenant:
            self.reply(400, f"No such Tenant {t}", "text/plain")
            return False
        return True

    def issue_tokens(self):
        cfg = STATE["config"]
        now = time.time()
        access = uuid.uuid4().hex
        refresh = uuid.uuid4().hex
        STATE["access"][access] = now + cfg["token_ttl"]
        STATE["refresh"][refresh] = now + 604800
        age = cfg["cookie_max_age"] if cfg["cookie_max_age"] is not None else cfg["token_ttl"]
        body = json.dumps({"accessTokenExpiration": ts(now + age), "refreshTokenExpiration": ts(now + 604800)})
        self.reply(201, body, headers=[
            ("Set-Cookie", f"folioAccessToken={access}; Max-Age={int(age)}; Path=/; HttpOnly; SameSite=Strict"),
            ("Set-Cookie", f"folioRefreshToken={refresh}; Max-Age=604800; Path=/authn; HttpOnly; SameSite=Strict"),
        ])

    def do_POST(self):
        url = urlsplit(self.path)
        raw = self.body()
        with LOCK:
            self.count("POST " + url.path)
            if self.fault(url.path):
                return
            if url.path == "/authn/login-with-expiry":
                if not self.tenant_ok():
                    return
                try:
                    creds = json.loads(raw or b"{}")
                except ValueError:
                    return self.reply(400, "Bad JSON", "text/plain")
                if creds.get("username") != ARGS.username or creds.get("password") != ARGS.password:
                    STATE["stats"]["failed_logins"] += 1
                    return self.reply(422, json.dumps({"errors": [{"message": "Password does not match",
                                                                   "code": "password.incorrect"}]}))
                STATE["stats"]["logins"] += 1
                return self.issue_tokens()
            if url.path == "/authn/refresh":
                if not self.tenant_ok():
                    return
                tok = self.cookies().get("folioRefreshToken")
                if not tok or STATE["refresh"].get(tok, 0) < time.time():
                    return self.reply(422, json.dumps({"errors": [{"message": "Invalid token"}]}))
                del STATE["refresh"][tok]
                STATE["stats"]["refreshes"] += 1
                return self.issue_tokens()
            if url.path == "/admin/add-loans":
                n = int(parse_qs(url.query).get("count", ["1"])[0])
                added = [add_loan(now=time.time())["id"] for _ in range(n)]
                return self.reply(200, json.dumps({"added": added}))
            if url.path == "/admin/config":
                change = json.loads(raw or b"{}")
                STATE["config"].update(change)
                if any(k.startswith("fault_") for k in change):
                    STATE["faults_n"] = 0
                if "mutate_after_page" in change:
                    STATE["loan_pages"] = 0
                return self.reply(200, json.dumps(STATE["config"]))
            if url.path == "/admin/reset-stats":
                reset_stats()
                return self.reply(200, "{}")
        self.reply(404, "Not found", "text/plain")

    def do_GET(self):
        url = urlsplit(self.path)
        with LOCK:
            delay = STATE["config"]["delay"]
            self.count("GET " + url.path)
            if url.path == "/stats":
                out = dict(STATE["stats"])
                loans = STATE["loans"]
                out["truth"] = {
                    "loans": len(loans),
                    "renewed": sum(1 for x in loans if x["action"] == "renewed"),
                    "with_user": sum(1 for x in loans if "userId" in x),
                    "user_ids": [u["id"] for u in STATE["users"]],
                    "stock": sum(1 for i in STATE["items"] if i["status"]["name"] not in ("Withdrawn", "Missing")),
                }
                return self.reply(200, json.dumps(out))
            if url.path not in COLLECTIONS:
                return self.reply(404, "Not found", "text/plain")
            if self.fault(url.path):
                return
            if not self.tenant_ok():
                return
            tok = self.headers.get("X-Okapi-Token") or self.cookies().get("folioAccessToken")
            if not tok or tok not in STATE["access"]:
                STATE["stats"]["unauthorized"] += 1
                return self.reply(401, "Invalid token", "text/plain")
            if STATE["access"][tok] < time.time():
                STATE["stats"]["unauthorized"] += 1
                STATE["stats"]["expired"] += 1
                return self.reply(401, "Token expired", "text/plain")
            qs = parse_qs(url.query)
            try:
                limit = int(qs.get("limit", ["10"])[0])
                if STATE["config"]["max_limit"] is not None:
                    limit = min(limit, STATE["config"]["max_limit"])  # the gateway's cap
                offset = int(qs.get("offset", ["0"])[0])
                recs = run_query(STATE[COLLECTIONS[url.path][1]], qs.get("query", [""])[0])
            except (CQLError, ValueError) as e:
                return self.reply(400, f"CQL: {e}", "text/plain")
            true_total = len(recs)
            page = recs[offset:offset + limit] if limit else []
            cfg = STATE["config"]
            estimate = (true_total if true_total <= cfg["exact_below"]
                        else int(true_total * cfg["estimate_factor"]))
            s = STATE["stats"]
            s["served"][url.path] = s["served"].get(url.path, 0) + len(page)
            s["queries"].append(qs.get("query", [""])[0])
            del s["queries"][:-50]
            body = json.dumps({COLLECTIONS[url.path][0]: page, "totalRecords": estimate,
                               "resultInfo": {"totalRecords": estimate, "totalRecordsEstimated": True}})
            if url.path == "/circulation/loans" and cfg["mutate_after_page"]:
                STATE["loan_pages"] += 1
                if STATE["loan_pages"] == cfg["mutate_after_page"]:
                    mutate()
        if delay:
            time.sleep(delay)
        self.reply(200, body)


def mutate():
    """Under a sweep: a loan made now under the lowest id of all, and the loan
    with the highest id changed now (a later updatedDate)."""
    now = time.time()
    loans = STATE["loans"]
    low = min(x["id"] for x in loans)
    new_id = "00000000-0000-4000-8000-000000000001"
    if low <= new_id:
        sys.exit("fake_folio: a generated id is below the one kept for mutate()")
    add_loan(now=now, loan_id=new_id)
    high = max(loans, key=lambda x: x["id"])
    high["metadata"]["updatedDate"] = ts_ms(now + 0.001)
    high["status"] = {"name": "Closed"}
    STATE["stats"]["mutated"] = [new_id, high["id"]]
    sys.stderr.write("fake_folio: mutated under the sweep: new %s, changed %s\n" % (new_id, high["id"]))


def reset_stats():
    STATE["stats"] = {"requests": {}, "served": {}, "queries": [], "logins": 0, "failed_logins": 0,
                      "refreshes": 0, "unauthorized": 0, "expired": 0, "faults": 0}


def main():
    global ARGS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tenant", default="diku")
    ap.add_argument("--username", default="stats-collector")
    ap.add_argument("--password-file", required=True,
                    help="file holding the password the login accepts (no password is built in)")
    ap.add_argument("--token-ttl", type=float, default=600)
    ap.add_argument("--loans", type=int, default=2500)
    ap.add_argument("--items", type=int, default=600)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    ARGS = ap.parse_args()
    with open(ARGS.password_file) as f:
        ARGS.password = f.readline().rstrip("\r\n")
    STATE.update(access={}, refresh={}, faults_n=0, loan_pages=0,
                 config={"token_ttl": ARGS.token_ttl, "cookie_max_age": None, "delay": 0,
                         "max_limit": None, "exact_below": 100, "estimate_factor": 2 / 3,
                         "fault_every": 0, "fault_at": [], "fault_kind": "500", "fault_path": "/",
                         "mutate_after_page": 0})
    reset_stats()
    build_data(ARGS)
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
