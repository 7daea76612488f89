"""A local double of Google's OAuth token endpoint and the Sheets API v4
(values.get and values.append), for the Sheets export tests.

It makes a fresh RSA key, writes a service account key file naming itself
as `token_uri`, and checks every token request as Google would: a JWT
bearer grant whose assertion verifies (PyJWT, RS256) against the public
key, issued by the account, for its own token URL, asking the
spreadsheets scope, living at most an hour. Values calls need the token it
issued. Tabs live in memory; `GET /_state` shows them and what was asked.
`POST /_fail?count=N` makes the next N values calls answer 503.

Usage: sheets_double.py KEY_FILE SPREADSHEET_ID TAB [TAB…]
Prints `PORT <n>` once listening; stops when stdin closes.
"""

import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SCOPE = "https://www.googleapis.com/auth/spreadsheets"
EMAIL = "exporter@twitch-monitor-test.iam.gserviceaccount.com"
KEY_ID = "test-key-1"


def main():
    key_file, spreadsheet, tabs = sys.argv[1], sys.argv[2], sys.argv[3:]
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    lock = threading.Lock()
    state = {"tabs": {t: [] for t in tabs}, "tokens": 0, "refused": [], "calls": []}
    issued = set()
    fail = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            n = int(self.headers.get("content-length") or 0)
            return self.rfile.read(n)

        def refuse(self, status, why):
            with lock:
                state["refused"].append(why)
            self.answer(status, {"error": {"code": status, "message": why}})

        def authorized(self):
            auth = self.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in issued:
                self.refuse(401, "Request had invalid authentication credentials.")
                return False
            return True

        def values(self, path):
            # /v4/spreadsheets/{id}/values/{range}[:append]
            parts = path.split("/")
            if len(parts) != 6 or parts[1:4] != ["v4", "spreadsheets", spreadsheet]:
                return None
            if parts[4] != "values":
                return None
            rng = unquote(parts[5])
            append = rng.endswith(":append")
            if append:
                rng = rng[: -len(":append")]
            sheet, _, cells = rng.rpartition("!")
            if sheet.startswith("'") and sheet.endswith("'"):
                sheet = sheet[1:-1].replace("''", "'")
            return sheet, cells, append

        def do_GET(self):
            url = urlsplit(self.path)
            if url.path == "/_state":
                with lock:
                    return self.answer(200, state)
            target = self.values(url.path)
            if target is None:
                return self.refuse(404, f"no such resource {url.path}")
            if not self.authorized():
                return None
            sheet, cells, append = target
            with lock:
                state["calls"].append(["get", sheet, cells])
                if fail["count"] > 0:
                    fail["count"] -= 1
                    return self.answer(503, {"error": {"code": 503, "message": "The service is currently unavailable."}})
                if append or sheet not in state["tabs"]:
                    return self.refuse(400, f"Unable to parse range: {sheet}!{cells}")
                query = parse_qs(url.query)
                rows = state["tabs"][sheet]
                if not rows:
                    return self.answer(200, {"range": f"{sheet}!{cells}", "majorDimension": "ROWS"})
                if query.get("majorDimension") == ["COLUMNS"] and cells == "A:A":
                    values = [[r[0] if r else "" for r in rows]]
                    return self.answer(200, {"range": f"{sheet}!{cells}", "majorDimension": "COLUMNS", "values": values})
                return self.refuse(400, f"the double only reads A:A by columns, not {cells}")

        def do_POST(self):
            url = urlsplit(self.path)
            if url.path == "/_fail":
                with lock:
                    fail["count"] = int(parse_qs(url.query)["count"][0])
                return self.answer(200, {})
            if url.path == "/token":
                return self.token()
            target = self.values(url.path)
            if target is None:
                return self.refuse(404, f"no such resource {url.path}")
            if not self.authorized():
                return None
            sheet, cells, append = target
            body = json.loads(self.body())
            with lock:
                state["calls"].append(["append", sheet, cells])
                if fail["count"] > 0:
                    fail["count"] -= 1
                    return self.answer(503, {"error": {"code": 503, "message": "The service is currently unavailable."}})
                query = parse_qs(url.query)
                if not append or sheet not in state["tabs"]:
                    return self.refuse(400, f"Unable to parse range: {sheet}!{cells}")
                if query.get("valueInputOption") != ["RAW"]:
                    return self.refuse(400, "valueInputOption must be RAW")
                if body.get("majorDimension", "ROWS") != "ROWS":
                    return self.refuse(400, "majorDimension must be ROWS")
                rows = body["values"]
                if not all(isinstance(r, list) for r in rows):
                    return self.refuse(400, "values must be a list of rows")
                start = len(state["tabs"][sheet]) + 1
                state["tabs"][sheet].extend(rows)
                end = len(state["tabs"][sheet])
            return self.answer(200, {
                "spreadsheetId": spreadsheet,
                "updates": {"updatedRange": f"{sheet}!A{start}:A{end}", "updatedRows": len(rows)},
            })

        def token(self):
            form = parse_qs(self.body().decode())
            if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
                return self.refuse(400, "unsupported_grant_type")
            assertion = form.get("assertion", [""])[0]
            token_url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
            try:
                header = jwt.get_unverified_header(assertion)
                claims = jwt.decode(
                    assertion,
                    public,
                    algorithms=["RS256"],
                    audience=token_url,
                    issuer=EMAIL,
                    options={"require": ["iss", "aud", "iat", "exp"]},
                )
            except jwt.PyJWTError as e:
                return self.refuse(400, f"invalid_grant: {e}")
            if header.get("kid") != KEY_ID:
                return self.refuse(400, f"invalid_grant: kid {header.get('kid')!r}")
            if SCOPE not in claims.get("scope", "").split():
                return self.refuse(400, "invalid_scope")
            if claims["exp"] - claims["iat"] > 3600 or abs(claims["iat"] - time.time()) > 300:
                return self.refuse(400, "invalid_grant: bad iat/exp")
            token = secrets.token_urlsafe(24)
            with lock:
                issued.add(token)
                state["tokens"] += 1
            return self.answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    with open(key_file, "w") as f:
        json.dump({
            "type": "service_account",
            "project_id": "twitch-monitor-test",
            "private_key_id": KEY_ID,
            "private_key": pem,
            "client_email": EMAIL,
            "client_id": "1234567890",
            "token_uri": f"http://127.0.0.1:{port}/token",
        }, f)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {port}", flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()
