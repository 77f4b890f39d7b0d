#!/usr/bin/env python3
"""fake_koha: a small Koha for the koha source kinds' integration tests.

Plays the parts of Koha's REST API (/api/v1) and svc/report that the
collector uses, with the quirks that matter (see ../shared/reference/
lms-apis.md, section 1):

  POST /api/v1/oauth/token     OAuth2 client credentials; tokens live
                               --token-ttl seconds but announce
                               --token-expires-in (default: the ttl), so a
                               test can make a token die before the client
                               expects it. An expired token gets 401.
  Basic auth                   --basic-user / --basic-password
  GET /api/v1/libraries, /checkouts (?checked_in=1 for history), /items
                               _page/_per_page paging, X-Total-Count, Link
                               headers (one header per relation, or one
                               comma-joined header, or none: --link-style or
                               POST /admin/config), x-koha-embed: item, q=
                               filters (=, !=, <, <=, >, >=, -and, -or), 400
                               on an unknown query parameter or embed.
  GET /cgi-bin/koha/svc/report?id=N&annotated=1
                               at most SvcMaxReportRows rows (10 unless
                               --svc-max-rows); an unknown report answers
                               HTTP 200 with a JSON error object, as Koha's
                               SQL errors do.
  POST /admin/add_checkouts?n=N[&same_time=1]  N new current checkouts, later than
                               the rest (or at the time of the latest)
  POST /admin/config?link_style=..&token_ttl=..&token_expires_in=..&svc_max_rows=..&delay_ms=..
                               &max_per_page=..&total_header=0|1&total_offset=..
                               &fault_every=N&fault_at=N,M&fault_kind=500|reset|short&fault_path=..
                               &return_during_sweep=0|1
  GET /stats                   request counts (JSON)

Behaving as real servers and the proxies before them do, on request:
  max_per_page    a cap on _per_page (0: none): pages hold at most that many
                  rows whatever was asked, page N starts at (N-1) x the cap,
                  and Link headers carry the capped _per_page
  total_header    0: no X-Total-Count (nor X-Base-Total-Count)
  total_offset    added to X-Total-Count: a stale total
  return_during_sweep  1: after each page of current checkouts it serves, the
                  first checkout of that page is returned (moved to the
                  history, checked in now): it leaves /checkouts, so every
                  later row moves up one place, as in a library that is open
                  while the collector pages
  fault_every     every Nth request under fault_path (default /api/v1/, the
                  token request included) fails; fault_at: the requests with
                  these numbers (counted from the config change). fault_kind:
                  500 (an error answer), short (a 200 whose body stops
                  half-way, Content-Length promising the whole: FIN), reset
                  (the same, then a connection reset: RST)

Data are generated: 3 libraries, 257 current checkouts, --history returned
ones (20 unless told; past the first 20, two share each check-in minute),
120 items. Checkouts 101-200 carry fields Koha does not have (newer Koha),
201-257 lack the optional ones (older Koha). The port is printed on stdout.
"""
import argparse
import base64
import json
import os
import secrets
import socket
import struct
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

LOCK = threading.Lock()
STATS = {"requests": {}, "tokens_issued": 0, "unauthorized": 0, "expired_tokens": 0,
         "bad_requests": 0, "records_served": {}}
TOKENS = {}  # token -> expiry (monotonic)
CONF = {}
FAULTS = {"n": 0}  # requests under fault_path since the fault config changed

TZ = "+01:00"
BASE = datetime(2024, 5, 1, 9, 0, 0)

LIBRARIES = [
    {"library_id": "CPL", "name": "Centerville Library", "address1": "1 High Street",
     "address2": "Old Town", "address3": None, "city": "Centerville", "postal_code": "EX1 1AA",
     "email": "cpl@example.org", "url": "https://example.org/cpl", "phone": "01234 567890",
     "pickup_location": True, "public": True, "library_hours": [], "smtp_server": {"x": 1}},
    {"library_id": "FPL", "name": "Fairview Library", "address1": "2 Station Road",
     "city": "Fairview", "postal_code": "EX2 2BB", "pickup_location": True},
    {"library_id": "MPL", "name": "Midway Library", "address1": "3 Market Place",
     "address2": "", "address3": "Midway Cross", "city": "Midway", "postal_code": "EX3 3CC",
     "email": None, "url": None, "marc_org_code": "MPL", "future_field": "ignored"},
]
ITYPES = ["BK", "DVD", "CD"]
ITEMS = []
CHECKOUTS = []  # current
HISTORY = []


def ts(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + TZ


def make_item(i):
    return {"item_id": i, "biblio_id": 100 + i % 37, "external_id": "B%06d" % i,
            "home_library_id": LIBRARIES[i % 3]["library_id"],
            "holding_library_id": LIBRARIES[(i + 1) % 3]["library_id"],
            "item_type_id": ITYPES[(i // 3) % 3], "effective_item_type_id": ITYPES[(i // 3) % 3],
            "withdrawn": 1 if i % 20 == 7 else 0, "lost_status": 1 if i % 30 == 11 else 0,
            "not_for_loan_status": 0, "damaged_status": 0, "callnumber": "F %d" % i,
            "timestamp": ts(BASE)}


def make_checkout(cid, minute, history=False):
    item_id = 1 + cid % len(ITEMS)
    c = {"checkout_id": cid, "patron_id": 5000 + cid % 41, "item_id": item_id,
         "library_id": LIBRARIES[cid % 3]["library_id"], "issuer_id": 3,
         "checkout_date": ts(BASE + timedelta(minutes=minute)),
         "due_date": ts(BASE + timedelta(days=21, minutes=minute)),
         "checkin_date": ts(BASE + timedelta(days=3, minutes=minute)) if history else None,
         "last_renewed_date": None, "renewals_count": cid % 3, "unseen_renewals": 0,
         "auto_renew": False, "auto_renew_error": None, "onsite_checkout": False,
         "note": None, "note_date": None, "note_seen": None,
         "timestamp": ts(BASE + timedelta(minutes=minute))}
    if 101 <= cid <= 200:  # a newer Koha: fields the collector does not know
        c.update({"booking_id": None, "external_id": "X%d" % cid, "checkin_library_id": None,
                  "brand_new_field": {"nested": [1, 2, 3]}})
    if 201 <= cid <= 257:  # an older Koha: optional fields absent
        for k in ("renewals_count", "unseen_renewals", "auto_renew_error", "note", "note_date",
                  "note_seen", "last_renewed_date", "issuer_id", "timestamp"):
            c.pop(k, None)
    return c


def generate():
    for i in range(1, 121):
        ITEMS.append(make_item(i))
    for cid in range(1, 258):
        # two checkouts share each minute: equal timestamps at the cursor
        CHECKOUTS.append(make_checkout(cid, 600 + cid // 2))
    for n in range(CONF["history"]):
        HISTORY.append(make_checkout(1001 + n, n if n < 20 else 20 + (n - 20) // 2, history=True))


def item_type_of(item_id):
    for it in ITEMS:
        if it["item_id"] == item_id:
            return it
    return None


def report_rows(rid):
    if rid == 1:  # loans per library, month and item type: 3 x 2 x 2 = 12 rows
        rows = []
        for lib in LIBRARIES:
            for month in ("2024-04", "2024-05"):
                for t in ("BK", "DVD"):
                    rows.append({"Local authority": "Exampleshire", "Library name": lib["name"],
                                 "Month": month, "Type": t,
                                 "Loans": 10 + len(rows), "branchcode": lib["library_id"]})
        return rows
    if rid == 2:
        return []
    return None


# ---- q= filters -------------------------------------------------------------

class BadQuery(Exception):
    pass


def norm(v):
    """Koha compares q= values in SQL: an RFC 3339 time as 'YYYY-MM-DD HH:MM:SS'."""
    if isinstance(v, str) and len(v) >= 19 and v[10] == "T":
        return v[:10] + " " + v[11:19]
    return v


def field_value(rec, name):
    v = rec
    for part in name.split("."):
        if not isinstance(v, dict) or part not in v:
            raise BadQuery("unknown field %s" % name)
        v = v[part]
    return norm(v)


def match(rec, q):
    if isinstance(q, list):
        return any(match(rec, x) for x in q)
    if not isinstance(q, dict):
        raise BadQuery("q must be an object")
    for k, cond in q.items():
        if k == "-and":
            if not all(match(rec, x) for x in cond):
                return False
            continue
        if k == "-or":
            if not any(match(rec, x) for x in cond):
                return False
            continue
        v = field_value(rec, k) if k in rec or "." in k else None
        if k not in rec and "." not in k:
            raise BadQuery("unknown field %s" % k)
        if not isinstance(cond, dict):
            if v != norm(cond):
                return False
            continue
        for op, want in cond.items():
            want = norm(want)
            if v is None:
                return False
            ok = {"=": v == want, "!=": v != want, "<": v < want, "<=": v <= want,
                  ">": v > want, ">=": v >= want}.get(op)
            if ok is None:
                raise BadQuery("unknown operator %s" % op)
            if not ok:
                return False
    return True


def order(rows, spec):
    for part in reversed([p for p in spec.split(",") if p]):
        desc = part.startswith("-")
        name = part.lstrip("+- ")
        rows = sorted(rows, key=lambda r: (r.get(name) is None, norm(r.get(name)) or ""),
                      reverse=desc)
    return rows


# ---- the server ------------------------------------------------------------

ALLOWED = {
    "/api/v1/libraries": {"_page", "_per_page", "_match", "_order_by", "q", "x-koha-request-id"},
    "/api/v1/checkouts": {"_page", "_per_page", "_match", "_order_by", "q", "checked_in",
                          "patron_id"},
    "/api/v1/items": {"_page", "_per_page", "_match", "_order_by", "q", "external_id"},
}
EMBEDS = {"/api/v1/checkouts": {"booking", "issuer", "item", "item.biblio", "library", "patron",
                                "renewals"},
          "/api/v1/items": {"+strings", "biblio"}, "/api/v1/libraries": {"desks", "cash_registers"}}


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-koha/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake_koha: " + (fmt % args) + "\n")

    def send_json(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        cut, self.cut_short = getattr(self, "cut_short", None), None
        if cut:  # Content-Length promised the whole
            self.wfile.write(body[:len(body) // 2])
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
        self.wfile.write(body)

    def count(self, path):
        with LOCK:
            STATS["requests"][path] = STATS["requests"].get(path, 0) + 1

    def fault(self, path):
        """True when this request is to fail (the answer already given)."""
        with LOCK:
            if not path.startswith(CONF["fault_path"]):
                return False
            FAULTS["n"] += 1
            n = FAULTS["n"]
            hit = (CONF["fault_every"] and n % CONF["fault_every"] == 0) or n in CONF["fault_at"]
            if not hit:
                return False
            STATS["faults"] = STATS.get("faults", 0) + 1
            kind = CONF["fault_kind"]
        sys.stderr.write("fake_koha: fault %s on request %d (%s)\n" % (kind, n, path))
        if kind in ("short", "reset"):
            self.cut_short = kind
            return False  # answered, then cut by send_json
        self.send_json(500, {"error": "Something went wrong, check Koha logs for details."})
        return True

    def authorised(self):
        h = self.headers.get("Authorization", "")
        if h.startswith("Bearer "):
            tok = h[7:]
            with LOCK:
                exp = TOKENS.get(tok)
                if exp is None or exp < time.monotonic():
                    if exp is not None:
                        STATS["expired_tokens"] += 1
                        del TOKENS[tok]
                    STATS["unauthorized"] += 1
                    return False
            return True
        if h.startswith("Basic ") and CONF["basic_user"]:
            try:
                user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
            except Exception:
                user, pw = None, None
            if user == CONF["basic_user"] and pw == CONF["basic_password"]:
                return True
        with LOCK:
            STATS["unauthorized"] += 1
        return False

    def do_POST(self):
        url = urlsplit(self.path)
        self.count(url.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if self.fault(url.path):
            return
        if url.path == "/api/v1/oauth/token":
            form = {k: v[0] for k, v in parse_qs(body).items()}
            if form.get("grant_type") != "client_credentials":
                return self.send_json(400, {"error": "Unimplemented grant type"})
            if form.get("client_id") != CONF["client_id"]:
                return self.send_json(403, {"error": "unauthorized_client"})
            if form.get("client_secret") != CONF["client_secret"]:
                return self.send_json(403, {"error": "access_denied"})
            tok = secrets.token_hex(16)
            with LOCK:
                TOKENS[tok] = time.monotonic() + CONF["token_ttl"]
                STATS["tokens_issued"] += 1
            return self.send_json(200, {"access_token": tok, "token_type": "Bearer",
                                        "expires_in": CONF["token_expires_in"]})
        qs = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/admin/add_checkouts":
            n = int(qs.get("n", "1"))
            with LOCK:
                last = max(c["checkout_id"] for c in CHECKOUTS)
                latest = max(c["checkout_date"] for c in CHECKOUTS)
                for i in range(n):
                    c = make_checkout(last + 1 + i, 2000 + last + i)
                    if qs.get("same_time") == "1":  # in the second of the latest one
                        c["checkout_date"] = latest
                    CHECKOUTS.append(c)
            return self.send_json(200, {"added": n})
        if url.path == "/admin/config":
            with LOCK:
                for k in ("link_style", "fault_kind", "fault_path"):
                    if k in qs:
                        CONF[k] = qs[k]
                for k in ("token_ttl", "token_expires_in", "svc_max_rows", "delay_ms",
                          "max_per_page", "total_header", "total_offset", "fault_every",
                          "return_during_sweep"):
                    if k in qs:
                        CONF[k] = int(qs[k])
                if "fault_at" in qs:
                    CONF["fault_at"] = [int(x) for x in qs["fault_at"].split(",") if x]
                if any(k.startswith("fault_") for k in qs):
                    FAULTS["n"] = 0
            return self.send_json(200, CONF_PUBLIC())
        if url.path == "/admin/reset_stats":
            with LOCK:
                STATS.update({"requests": {}, "tokens_issued": 0, "unauthorized": 0,
                              "expired_tokens": 0, "bad_requests": 0, "records_served": {}})
            return self.send_json(200, {})
        return self.send_json(404, {"error": "Not found"})

    def do_GET(self):
        url = urlsplit(self.path)
        self.count(url.path)
        qs_multi = parse_qs(url.query, keep_blank_values=True)
        if url.path == "/stats":
            with LOCK:
                return self.send_json(200, STATS)
        if self.fault(url.path):
            return
        if url.path == "/cgi-bin/koha/svc/report":
            rid = int((qs_multi.get("id") or ["0"])[0] or 0)
            rows = report_rows(rid)
            if rows is None:  # Koha reports its errors with HTTP 200
                return self.send_json(200, {"error": "There is no such report: %d" % rid,
                                            "queryerr": "report not found"})
            rows = rows[:CONF["svc_max_rows"]]
            if (qs_multi.get("annotated") or ["0"])[0] not in ("1", "true"):
                rows = [list(r.values()) for r in rows]
            return self.send_json(200, rows)
        if url.path not in ALLOWED:
            return self.send_json(404, {"error": "Not found"})
        if not self.authorised():
            return self.send_json(401, {"error": "Authentication failure."})
        for name in qs_multi:
            if name not in ALLOWED[url.path]:
                with LOCK:
                    STATS["bad_requests"] += 1
                return self.send_json(400, {"errors": [{"message": "Malformed query string",
                                                        "path": "/query/" + name}],
                                            "status": 400})
        embeds = [e.strip() for e in self.headers.get("x-koha-embed", "").split(",") if e.strip()]
        for e in embeds:
            if e not in EMBEDS.get(url.path, set()):
                with LOCK:
                    STATS["bad_requests"] += 1
                return self.send_json(400, {"errors": [{"message": "Not in enum list",
                                                        "path": "/x-koha-embed"}], "status": 400})
        qs = {k: v[0] for k, v in qs_multi.items()}
        with LOCK:
            if url.path == "/api/v1/libraries":
                rows = [dict(r) for r in LIBRARIES]
            elif url.path == "/api/v1/items":
                rows = [dict(r) for r in ITEMS]
            elif qs.get("checked_in") in ("1", "true"):
                rows = [dict(r) for r in HISTORY]
            else:
                rows = [dict(r) for r in CHECKOUTS]
        try:
            for q in qs_multi.get("q", []):
                qq = json.loads(q)
                rows = [r for r in rows if match(r, qq)]
        except (BadQuery, ValueError) as e:
            with LOCK:
                STATS["bad_requests"] += 1
            return self.send_json(400, {"error": "Invalid query: %s" % e,
                                        "error_code": "invalid_query"})
        if "_order_by" in qs:
            rows = order(rows, qs["_order_by"])
        page = int(qs.get("_page", "1"))
        per_page = int(qs.get("_per_page", "20"))
        if CONF["max_per_page"] and (per_page <= 0 or per_page > CONF["max_per_page"]):
            per_page = CONF["max_per_page"]  # the cap, whatever was asked
        total = len(rows)
        if per_page > 0:
            chunk = rows[(page - 1) * per_page:page * per_page]
        else:
            chunk = rows
        if "item" in embeds:
            out = []
            for r in chunk:
                r = dict(r)
                it = item_type_of(r["item_id"])
                r["item"] = dict(it) if it else None
                out.append(r)
            chunk = out
        headers = []
        if CONF["total_header"]:
            shown = str(max(0, total + CONF["total_offset"]))
            headers = [("X-Total-Count", shown), ("X-Base-Total-Count", shown)]
        if per_page > 0 and CONF["link_style"] != "none":
            host = self.headers.get("Host", "127.0.0.1")
            last = max(1, (total + per_page - 1) // per_page)

            def link(p, rel):
                params = dict(qs)
                params["_page"] = str(p)
                params["_per_page"] = str(per_page)
                return '<http://%s%s?%s>; rel="%s"' % (host, url.path, urlencode(params), rel)
            links = []
            if page > 1:
                links.append(link(page - 1, "prev"))
            if page < last:
                links.append(link(page + 1, "next"))
            links.append(link(1, "first"))
            links.append(link(last, "last"))
            if CONF["link_style"] == "single":
                headers.append(("Link", ",".join(links)))
            else:
                headers += [("Link", lk) for lk in links]
        with LOCK:
            k = url.path + ("?checked_in" if qs.get("checked_in") else "")
            STATS["records_served"][k] = STATS["records_served"].get(k, 0) + len(chunk)
            if (CONF.get("return_during_sweep") and url.path == "/api/v1/checkouts"
                    and not qs.get("checked_in") and chunk):
                gone = chunk[0]["checkout_id"]
                for i, c in enumerate(CHECKOUTS):
                    if c["checkout_id"] == gone:
                        c = CHECKOUTS.pop(i)
                        c["checkin_date"] = ts(BASE + timedelta(days=30))
                        HISTORY.append(c)
                        STATS["returned"] = STATS.get("returned", 0) + 1
                        break
        if CONF["delay_ms"]:
            time.sleep(CONF["delay_ms"] / 1000.0)
        return self.send_json(200, chunk, headers)


def CONF_PUBLIC():
    return {k: v for k, v in CONF.items() if k not in ("client_secret", "basic_password")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--client-id", default="shelfsync")
    ap.add_argument("--client-secret", default="")
    ap.add_argument("--basic-user", default="")
    ap.add_argument("--basic-password", default="")
    ap.add_argument("--token-ttl", type=int, default=3600)
    ap.add_argument("--token-expires-in", type=int, default=None)
    ap.add_argument("--link-style", choices=["multi", "single", "none"], default="multi")
    ap.add_argument("--svc-max-rows", type=int, default=10)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--history", type=int, default=20, help="returned checkouts")
    ap.add_argument("--max-per-page", type=int, default=0, help="cap on _per_page (0: none)")
    a = ap.parse_args()
    CONF.update({"client_id": a.client_id, "client_secret": a.client_secret,
                 "basic_user": a.basic_user, "basic_password": a.basic_password,
                 "token_ttl": a.token_ttl,
                 "token_expires_in": a.token_expires_in if a.token_expires_in is not None
                 else a.token_ttl,
                 "link_style": a.link_style, "svc_max_rows": a.svc_max_rows,
                 "delay_ms": a.delay_ms, "history": a.history, "max_per_page": a.max_per_page,
                 "total_header": 1, "total_offset": 0, "fault_every": 0, "fault_at": [],
                 "fault_kind": "500", "fault_path": "/api/v1/"})
    generate()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
