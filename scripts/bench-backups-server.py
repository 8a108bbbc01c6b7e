#!/usr/bin/env python3
"""A Kubernetes API that serves little but a List of N Velero Backups, generated page by page as it is read
(scripts/bench --phase hostile). The lab cluster holds every object in memory (1,000,000 backups took more
than 17 GiB there); this server holds none, so only the collector's memory is measured.

    scripts/bench-backups-server.py COUNT PORTFILE

Serves plain HTTP on 127.0.0.1 (a free port, written to PORTFILE): /version, the velero.io group with one
resource (backups), the namespace `velero`, and /apis/velero.io/v1/[namespaces/velero/]backups in pages
(`limit`, `continue`). Every other path answers 404, which the collector records and goes past.
"""
import json
import sys
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

COUNT = int(sys.argv[1])
START = datetime(2020, 1, 1, tzinfo=timezone.utc)


def backup(i):
    created = (START + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {
            "name": f"hourly-{i:07d}",
            "namespace": "velero",
            "uid": f"00000000-0000-0000-0000-{i:012d}",
            "creationTimestamp": created,
            "labels": {"velero.io/schedule-name": "hourly", "velero.io/storage-location": "default"},
        },
        "spec": {
            "includedNamespaces": ["app"],
            "storageLocation": "default",
            "ttl": "720h0m0s",
            "defaultVolumesToFsBackup": True,
        },
        "status": {
            "phase": "Failed" if i % 1000 == 999 else "Completed",
            "startTimestamp": created,
            "completionTimestamp": created,
            "expiration": created,
            "version": 1,
            "formatVersion": "1.1.0",
            "progress": {"itemsBackedUp": 120, "totalItems": 120},
        },
    }


FIXED = {
    "/version": {"major": "1", "minor": "29", "gitVersion": "v1.29.4", "platform": "linux/amd64"},
    "/apis/velero.io": {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": "velero.io",
        "versions": [{"groupVersion": "velero.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "velero.io/v1", "version": "v1"},
    },
    "/apis/velero.io/v1": {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "velero.io/v1",
        "resources": [{"name": "backups", "singularName": "backup", "namespaced": True, "kind": "Backup",
                       "verbs": ["get", "list"]}],
    },
    "/api/v1/namespaces": {
        "kind": "NamespaceList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero"}}],
    },
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, value):
        body = json.dumps(value, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlparse(self.path)
        if url.path in FIXED:
            return self.answer(200, FIXED[url.path])
        if url.path in ("/apis/velero.io/v1/backups", "/apis/velero.io/v1/namespaces/velero/backups"):
            query = parse_qs(url.query)
            limit = int(query.get("limit", ["500"])[0] or 500) or COUNT
            offset = int(query.get("continue", ["0"])[0] or 0)
            end = min(offset + limit, COUNT)
            metadata = {"resourceVersion": "1"}
            if end < COUNT:
                metadata["continue"] = str(end)
                metadata["remainingItemCount"] = COUNT - end
            return self.answer(200, {"apiVersion": "velero.io/v1", "kind": "BackupList", "metadata": metadata,
                                     "items": [backup(i) for i in range(offset, end)]})
        self.answer(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                          "code": 404, "message": f"the server could not find the requested resource ({url.path})"})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.do_GET()

    do_DELETE = do_POST


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
