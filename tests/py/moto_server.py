"""moto's S3 server for the tests, with conditional writes made atomic.

delta-rs commits to S3 by writing the next log entry with `If-None-Match: *`:
of two writers racing for one version, S3 lets exactly one win. moto 5.2's
server checks the condition and then writes, in one of its request threads,
with no lock in between, so under load both racers can "win" and one commit
overwrites the other (seen once as 14 of 16 rows after two concurrent
writers). Real S3 does not do that; this wrapper serializes moto's object
PUTs and POSTs (complete multipart upload, the other conditional write) so
the double keeps the guarantee the lake relies on.

Usage: moto_server.py [moto.server arguments], e.g. -H 127.0.0.1 -p 0
"""
import functools
import sys
import threading

import moto.server
from moto.s3.responses import S3Response

_WRITE = threading.Lock()


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
