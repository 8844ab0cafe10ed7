"""A small Hugging-Face-compatible HTTP server for tests, with switches for network faults.

It answers what huggingface_hub 2.x asks when `HF_ENDPOINT` points at it:

- `HEAD/GET /{datasets/}{owner}/{name}/resolve/{revision}/{path}` with the headers the
  library checks (`X-Repo-Commit`, `ETag`, `X-Linked-Etag`, `X-Linked-Size`,
  `Content-Length`, `Accept-Ranges`), honouring `Range: bytes=N-` with a 206;
- `GET /api/{datasets|models}/{owner}/{name}[/revision/{rev}]` (repo info) and
  `GET /api/.../tree/{rev}[/{path}]?recursive=...` (the listing, paginated with a `Link`
  header like the Hub);
- 404s carry `X-Error-Code` (RepoNotFound / RevisionNotFound / EntryNotFound) as the Hub does.

It never sends Xet headers, so the library uses plain HTTP. Each response closes its
connection (HTTP/1.0), so `stop()` can join every handler thread and a test leaves none.

Faults, per file path: `drop_after[path] = n` (first GET sends n bytes, then the connection
is cut), `corrupt.add(path)` (right size, wrong bytes), `slow[path] = (chunk, delay)`.
`advertise_xet = True` adds the Xet headers the real Hub sends for Xet-backed files (its token
route answers 404 here, so only a client that stays on plain HTTP succeeds).
`requests` records every request; `sent` records the body bytes of each GET.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".ckpt", ".bin", ".onnx", ".pt", ".safetensors")


@dataclass
class HubFile:
    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_oid(self) -> str:
        return hashlib.sha1(b"blob %d\0" % len(self.data) + self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_oid


@dataclass
class Request:
    method: str
    path: str  # decoded URL path, without the query
    range: str | None = None


@dataclass
class Repo:
    files: dict[str, HubFile] = field(default_factory=dict)

    @property
    def commit(self) -> str:
        """Changes whenever the content changes, like a real commit id."""
        digest = hashlib.sha1()
        for path in sorted(self.files):
            digest.update(path.encode() + b"\0" + self.files[path].etag.encode())
        return digest.hexdigest()


class FakeHub:
    """The server and its state; use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[Request] = []
        self.sent: list[tuple[str, int]] = []  # (path, body bytes written) per GET
        self.drop_after: dict[str, int] = {}
        self.corrupt: set[str] = set()
        self.slow: dict[str, tuple[int, float]] = {}
        self.tree_page_size = 1000
        self.advertise_xet = False
        self._lock = threading.Lock()
        self._dropped: set[str] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- content --------------------------------------------------------------------

    def add(self, repo_id: str, path: str, data: bytes, repo_type: str = "model",
            lfs: bool | None = None) -> HubFile:
        if lfs is None:
            lfs = path.endswith(LFS_SUFFIXES)
        hub_file = HubFile(data=data, lfs=lfs)
        self.repos.setdefault((repo_type, repo_id), Repo()).files[path] = hub_file
        return hub_file

    def clear(self, repo_id: str, repo_type: str = "model") -> None:
        self.repos[(repo_type, repo_id)] = Repo()

    # --- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.hub = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub",
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and join every thread; safe to call twice."""
        if self._server is None:
            return
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads (block_on_close)
        assert self._thread is not None
        self._thread.join()
        self._server = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- inspection -----------------------------------------------------------------

    def count(self, method: str | None = None, contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests
                       if (method is None or r.method == method) and contains in r.path)

    def gets(self, contains: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == "GET" and contains in r.path]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sent.clear()

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def record_sent(self, path: str, count: int) -> None:
        with self._lock:
            self.sent.append((path, count))

    def take_drop(self, path: str) -> int | None:
        """The byte count to cut after, on the first GET of `path` only."""
        with self._lock:
            if path in self.drop_after and path not in self._dropped:
                self._dropped.add(path)
                return self.drop_after[path]
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    hub: FakeHub

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.stopping = threading.Event()

    def handle_error(self, request, client_address) -> None:  # a cut connection is expected
        pass


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers after stop()

    def log_message(self, format: str, *args: object) -> None:
        pass

    @property
    def hub(self) -> FakeHub:
        return self.server.hub

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_POST(self) -> None:
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        self.hub.record(Request(self.command, path, self.headers.get("Range")))
        segments = [unquote(s) for s in url.path.split("/")[1:]]
        if segments and segments[0] == "api":
            self._api(segments[1:], parse_qs(url.query))
        else:
            self._resolve(segments, head)

    # --- /resolve -------------------------------------------------------------------

    def _resolve(self, segments: list[str], head: bool) -> None:
        repo_type = "model"
        if segments and segments[0] in ("datasets", "spaces"):
            repo_type, segments = segments[0][:-1], segments[1:]
        if len(segments) < 5 or segments[2] != "resolve":
            return self._error(404, "RepoNotFound")
        repo = self.hub.repos.get((repo_type, f"{segments[0]}/{segments[1]}"))
        if repo is None:
            return self._error(404, "RepoNotFound")
        if segments[3] not in ("main", repo.commit):
            return self._error(404, "RevisionNotFound", repo.commit)
        file_path = "/".join(segments[4:])
        hub_file = repo.files.get(file_path)
        if hub_file is None:
            return self._error(404, "EntryNotFound", repo.commit)
        start = self._range_start(len(hub_file.data))
        self.send_response(206 if start else 200)
        self.send_header("X-Repo-Commit", repo.commit)
        self.send_header("ETag", f'"{hub_file.etag}"')
        if hub_file.lfs:
            self.send_header("X-Linked-Etag", f'"{hub_file.sha256}"')
            self.send_header("X-Linked-Size", str(len(hub_file.data)))
            if self.hub.advertise_xet:
                self.send_header("X-Xet-Hash", hub_file.sha256)
                route = (f"/api/{repo_type}s/{segments[0]}/{segments[1]}"
                         f"/xet-read-token/{repo.commit}")
                self.send_header("X-Xet-Refresh-Route", f"http://{self.headers['Host']}{route}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(hub_file.data) - start))
        if start:
            self.send_header("Content-Range",
                             f"bytes {start}-{len(hub_file.data) - 1}/{len(hub_file.data)}")
        self.end_headers()
        if not head:
            self._send_body(file_path, hub_file, start)

    def _range_start(self, size: int) -> int:
        value = self.headers.get("Range") or ""
        if value.startswith("bytes=") and value.endswith("-"):
            start = int(value[len("bytes="):-1])
            return start if 0 < start < size else 0
        return 0

    def _send_body(self, file_path: str, hub_file: HubFile, start: int) -> None:
        data = hub_file.data
        if file_path in self.hub.corrupt:
            data = bytes(b ^ 0xFF for b in data[:64]) + data[64:]
        body = data[start:]
        cut = self.hub.take_drop(file_path)
        chunk, delay = self.hub.slow.get(file_path, (len(body) or 1, 0.0))
        sent = 0
        try:
            while sent < len(body) and not self.server.stopping.is_set():
                piece = body[sent:sent + chunk]
                if cut is not None and sent + len(piece) > cut:
                    piece = piece[:cut - sent]
                self.wfile.write(piece)
                self.wfile.flush()
                sent += len(piece)
                if cut is not None and sent >= cut:
                    self.connection.shutdown(socket.SHUT_RDWR)  # the network goes away
                    break
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client hung up (cancelled)
        finally:
            self.close_connection = True
            self.hub.record_sent(file_path, sent)

    # --- /api -----------------------------------------------------------------------

    def _api(self, segments: list[str], query: dict[str, list[str]]) -> None:
        if len(segments) < 3 or segments[0] not in ("models", "datasets"):
            return self._error(404, "RepoNotFound")
        repo_type = segments[0][:-1]
        repo_id = f"{segments[1]}/{segments[2]}"
        repo = self.hub.repos.get((repo_type, repo_id))
        if repo is None:
            return self._error(404, "RepoNotFound")
        rest = segments[3:]
        if not rest or rest[0] == "revision":
            if rest and rest[1] not in ("main", repo.commit):
                return self._error(404, "RevisionNotFound", repo.commit)
            return self._json({"id": repo_id, "sha": repo.commit, "private": False,
                               "siblings": [{"rfilename": p} for p in sorted(repo.files)]})
        if rest[0] == "tree" and len(rest) >= 2:
            if rest[1] not in ("main", repo.commit):
                return self._error(404, "RevisionNotFound", repo.commit)
            return self._tree(repo, "/".join(rest[2:]), query)
        return self._error(404, "EntryNotFound", repo.commit)

    def _tree(self, repo: Repo, folder: str, query: dict[str, list[str]]) -> None:
        recursive = (query.get("recursive") or ["false"])[0].lower() == "true"
        items = _tree_items(repo, folder, recursive)
        cursor = int((query.get("cursor") or ["0"])[0])
        page = items[cursor:cursor + self.hub.tree_page_size]
        headers = {}
        if cursor + len(page) < len(items):
            base = f"http://{self.headers['Host']}{urlsplit(self.path).path}"
            next_url = (f"{base}?recursive={str(recursive).lower()}&expand=false"
                        f"&cursor={cursor + len(page)}")
            headers["Link"] = f'<{next_url}>; rel="next"'
        self._json(page, headers)

    # --- plumbing -------------------------------------------------------------------

    def _json(self, payload: object, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, code: str, commit: str | None = None) -> None:
        body = json.dumps({"error": code}).encode()
        self.send_response(status)
        self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _tree_items(repo: Repo, folder: str, recursive: bool) -> list[dict]:
    """Files and folders under `folder`, shaped like the Hub's tree API."""
    prefix = f"{folder}/" if folder else ""
    files = sorted(p for p in repo.files if p.startswith(prefix))
    folders: set[str] = set()
    items = []
    for path in files:
        relative = path[len(prefix):].split("/")
        for depth in range(1, len(relative)):
            folders.add(prefix + "/".join(relative[:depth]))
        if not recursive and len(relative) > 1:
            continue
        hub_file = repo.files[path]
        item = {"type": "file", "oid": hub_file.git_oid, "size": len(hub_file.data), "path": path}
        if hub_file.lfs:
            item["lfs"] = {"oid": hub_file.sha256, "size": len(hub_file.data), "pointerSize": 134}
        items.append(item)
    if not recursive:
        folders = {f for f in folders if "/" not in f[len(prefix):]}
    items += [{"type": "directory", "oid": hashlib.sha1(f.encode()).hexdigest(), "size": 0,
               "path": f} for f in sorted(folders)]
    return sorted(items, key=lambda item: item["path"])


def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def serve(hub: FakeHub, entry, size: int = 300_000) -> dict:
    """Put every file of `entry` on the fake Hub: the big one random, the others small."""
    contents = {}
    for index, file in enumerate(entry.files):
        name = PurePosixPath(file.path).name
        big = name.endswith((".ckpt", ".bin"))
        data = payload(size, index) if big else json.dumps({"name": name, "i": index}).encode()
        hub.add(entry.repo_id, file.path, data, repo_type=entry.repo_type)
        contents[file.path] = data
    return contents
