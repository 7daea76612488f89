"""moto's S3 server for the tests, with conditional writes made atomic.

delta-rs commits to S3 by writing the next log entry with `If-None-Match: *`:
of two writers racing for one version, S3 lets exactly one win. moto 5.2's
server checks the condition and then writes, in one of its request threads,
with no lock in between, so under load both racers can "win" and one commit
overwrites the other (seen once as 14 of 16 rows after two concurrent
writers). Real S3 does not do that; this wrapper serializes moto's object
PUTs and POSTs (complete multipart upload, the other conditional write) so
the double keeps the guarantee the lake relies on.

It also takes a fault switch, for the storage-fault tests: `PUT
/__faults/<mode>` sets what every later request meets (the switch itself
never reaches moto):

- `none`: S3 as usual;
- `error`: every request answers `500 InternalError`;
- `readonly`: reads work, every write (PUT, POST, DELETE) answers
  `403 AccessDenied`;
- `hang`: every request waits, unanswered, until the mode changes (a store
  that stopped answering: the client times out);
- `lose-commit`: the next write of a Delta log entry (`_delta_log/*.json`)
  reaches moto and lands, but its answer is withheld until the mode changes,
  as if the store died between persisting the commit and answering it;
  every other request is served.

Usage: moto_server.py [moto.server arguments], e.g. -H 127.0.0.1 -p 0
"""
import functools
import sys
import threading

import moto.server
from moto.s3.responses import S3Response

_WRITE = threading.Lock()

_MODES = {"none", "error", "readonly", "hang", "lose-commit"}
_FAULT = threading.Condition()
_mode = "none"
_WRITES = {"PUT", "POST", "DELETE"}


def _s3_error(start_response, status, code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    ).encode()
    start_response(status, [("Content-Type", "application/xml"),
                            ("Content-Length", str(len(body)))])
    return [body]


def _wait_while(mode):
    with _FAULT:
        _FAULT.wait_for(lambda: _mode != mode)


class _Faulty(moto.server.DomainDispatcherApplication):
    """moto's application behind the fault switch."""

    def __call__(self, environ, start_response):
        global _mode
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path.startswith("/__faults/"):
            mode = path[len("/__faults/"):]
            if mode not in _MODES:
                return _s3_error(start_response, "400 Bad Request", "BadMode", mode)
            with _FAULT:
                _mode = mode
                _FAULT.notify_all()
            start_response("204 No Content", [])
            return []
        mode = _mode
        if mode == "error":
            return _s3_error(start_response, "500 Internal Server Error",
                             "InternalError", "injected fault")
        if mode == "readonly" and method in _WRITES:
            return _s3_error(start_response, "403 Forbidden", "AccessDenied",
                             "injected fault: read-only")
        if mode == "hang":
            _wait_while("hang")
            return _s3_error(start_response, "503 Service Unavailable",
                             "SlowDown", "injected fault: was hanging")
        if (mode == "lose-commit" and method == "PUT"
                and "/_delta_log/" in path and path.endswith(".json")):
            answer = super().__call__(environ, lambda *a, **k: None)
            # Consume moto's answer so the write completes, then withhold it.
            for _ in answer:
                pass
            _wait_while("lose-commit")
            return _s3_error(start_response, "503 Service Unavailable",
                             "SlowDown", "injected fault: answer lost")
        return super().__call__(environ, start_response)


moto.server.DomainDispatcherApplication = _Faulty


def _serialized(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _WRITE:
            return method(*args, **kwargs)

    return wrapper


S3Response.put_object = _serialized(S3Response.put_object)
S3Response._key_response_post = _serialized(S3Response._key_response_post)

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
