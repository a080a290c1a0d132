"""Shared pytest fixtures."""

from __future__ import annotations

import contextlib
import http.server
import os
import socket
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest


# --- datasets fixtures ---
@pytest.fixture(scope="session")
def movielens_root() -> Path:
    """The MovieLens data root: ``$ITEM2VEC_DATA``, else ``<clone>/../shared/datasets/movielens``.

    Skips the test (with the reason) when neither exists. Session-scoped, so it is
    resolved before any function-scoped fixture that edits the environment.
    """
    env = os.environ.get("ITEM2VEC_DATA")
    if env:
        if Path(env).is_dir():
            return Path(env)
        pytest.skip(f"ITEM2VEC_DATA={env} is not a directory")
    shared = Path(__file__).resolve().parents[2] / "shared/datasets/movielens"
    if shared.is_dir():
        return shared
    pytest.skip(f"MovieLens data not available: set ITEM2VEC_DATA or provide {shared}")
# --- end datasets fixtures ---


# --- offline fixtures (shared by the datasets and CLI tests) ---
def closed_port_url() -> str:
    """A URL on 127.0.0.1 at a port nothing listens on (connections are refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/movielens"


@pytest.fixture()
def isolated(tmp_path, monkeypatch) -> Path:
    """No test sees the user's data, writes to the repo cache or reaches the internet; returns the empty cache."""
    from item2vec import datasets as ds
    from item2vec import fetch

    cache = tmp_path / "cache"
    monkeypatch.delenv("ITEM2VEC_DATA", raising=False)
    monkeypatch.setattr(ds, "default_data_dir", lambda: cache)
    monkeypatch.setattr(fetch, "default_data_dir", lambda: cache)
    monkeypatch.setenv("ITEM2VEC_MOVIELENS_URL", closed_port_url())
    return cache


@contextlib.contextmanager
def file_server(key: Callable[[str], str] = lambda path: path) -> Iterator[tuple[dict, list, str]]:
    """A local HTTP server on 127.0.0.1: yields ``(files, hits, base_url)``.

    A GET of ``path`` answers ``files[key(path)]`` (bytes, with its Content-Length) or
    404; ``hits`` lists every path asked for. The server stops on exit.
    """
    files: dict[str, bytes] = {}
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            body = files.get(key(self.path))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield files, hits, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
