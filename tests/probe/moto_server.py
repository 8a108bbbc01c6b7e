"""moto's S3 server for tests/probe.rs, with moto's signature check given the query as AWS canonicalizes it.

werkzeug hands moto (5.2.1) the request URL with %2F in the query decoded to "/", and moto's SigV4 check
(moto/core/authorization.py) canonicalizes that decoded query, so every correctly signed ListObjectsV2 with
delimiter=/ (what Velero sends) fails with SignatureDoesNotMatch once authentication is on. Re-encoding the query
the way SigV4 does (every byte but A-Z a-z 0-9 - _ . ~) before the check restores AWS's behaviour; nothing else of
moto is changed.

Usage: python3 moto_server.py PORT
"""
import sys
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from moto.core.authorization import ActionAuthenticatorMixin
from moto.server import main

_check = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _canonical_query(self, *args, **kwargs):
    parts = urlsplit(self.uri)
    if parts.query:
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
        original = self.uri
        self.uri = urlunsplit(parts._replace(query=query))
        try:
            return _check(self, *args, **kwargs)
        finally:
            self.uri = original
    return _check(self, *args, **kwargs)


ActionAuthenticatorMixin._authenticate_and_authorize_action = _canonical_query

if __name__ == "__main__":
    main(["-H", "127.0.0.1", "-p", sys.argv[1]])
