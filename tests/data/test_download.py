"""download(): against a real HTTP server on 127.0.0.1 (no internet needed)."""

import hashlib
import http.server
import importlib
import os
import socket
import threading

import pytest

from minicnn.data import DownloadError, download, minicnn_home

# The package re-exports the function download(), which hides the module of the same name.
download_module = importlib.import_module("minicnn.data.download")

PAYLOAD = os.urandom(300_000)  # random bytes: any corruption changes the md5
PAYLOAD_MD5 = hashlib.md5(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    requests = []

    def do_GET(self):  # noqa: N802 - the http.server API
        Handler.requests.append(self.path)
        if self.path.split("?")[0] == "/files/data.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD)
        else:
            self.send_error(404, "Not Found")

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture()
def server():
    Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def leftovers(folder):
    return [name for name in os.listdir(folder) if name.endswith(".part")]


def test_download_saves_verifies_and_then_skips(server, tmp_path):
    path = download(f"{server}/files/data.bin", PAYLOAD_MD5, cache_dir=tmp_path, verbose=False)
    assert path == str(tmp_path / "data.bin")
    assert open(path, "rb").read() == PAYLOAD and leftovers(tmp_path) == []
    assert len(Handler.requests) == 1
    # Present with the right md5: no request at all.
    assert download(f"{server}/files/data.bin", PAYLOAD_MD5, cache_dir=tmp_path, verbose=False) == path
    assert len(Handler.requests) == 1


def test_a_file_with_the_wrong_md5_is_fetched_again(server, tmp_path):
    (tmp_path / "data.bin").write_bytes(b"stale partial content")
    path = download(f"{server}/files/data.bin", PAYLOAD_MD5, cache_dir=tmp_path, verbose=False)
    assert open(path, "rb").read() == PAYLOAD and len(Handler.requests) == 1


def test_wrong_md5_saves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match=rf"(?s)md5 is {PAYLOAD_MD5}, expected 0+.*by hand"):
        download(f"{server}/files/data.bin", "0" * 32, cache_dir=tmp_path, verbose=False)
    assert os.listdir(tmp_path) == []


def test_http_404_names_the_url(server, tmp_path):
    url = f"{server}/files/missing.npz"
    with pytest.raises(DownloadError, match="(?s)missing.npz.*HTTP 404.*by hand"):
        download(url, "0" * 32, cache_dir=tmp_path, verbose=False)
    assert os.listdir(tmp_path) == []


def test_connection_refused_says_how_to_get_the_file_by_hand(tmp_path):
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/files/images_224.npz"
    with pytest.raises(DownloadError) as info:
        download(url, "0" * 32, cache_dir=tmp_path, verbose=False, timeout=5)
    message = str(info.value)
    assert url in message and "offline" in message
    assert "by hand" in message and str(tmp_path / "images_224.npz") in message
    assert isinstance(info.value, OSError) and os.listdir(tmp_path) == []


def test_cache_folder_comes_from_minicnn_home(server, tmp_path, monkeypatch):
    monkeypatch.setenv("MINICNN_HOME", str(tmp_path / "home"))
    assert minicnn_home() == str(tmp_path / "home")
    path = download(f"{server}/files/data.bin?download=1", PAYLOAD_MD5, verbose=False)
    assert path == str(tmp_path / "home" / "data.bin")
    monkeypatch.delenv("MINICNN_HOME")
    assert minicnn_home() == os.path.join(os.path.expanduser("~"), ".cache", "minicnn")
