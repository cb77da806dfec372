"""Download a published data file once, check it, and keep it in a cache folder.

``download(url, md5)`` saves into ``$MINICNN_HOME`` (default ``~/.cache/minicnn``):

* a file already there with the right md5 is used as is (no network at all);
* the transfer goes to a temporary file in the same folder, is checked against the md5,
  and only then renamed to its final name (``os.replace`` is atomic), so an interrupted
  or corrupted download never leaves a file that looks complete;
* offline, a refused connection, a timeout or an HTTP error raise :class:`DownloadError`
  naming the URL and saying how to fetch the file by hand and where to put it.
"""

import hashlib
import os
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request

from ..files import atomic_write
from ..progress import Progress

__all__ = ["DownloadError", "download", "file_md5", "minicnn_home"]

_CHUNK = 1 << 20  # 1 MiB per read: few system calls, smooth progress


class DownloadError(OSError):
    """A download that failed; the message names the URL and how to get the file by hand."""


def minicnn_home():
    """The cache folder: ``$MINICNN_HOME``, else ``~/.cache/minicnn``."""
    return os.environ.get("MINICNN_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "minicnn")


def file_md5(path):
    """md5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _by_hand(url, dest, md5):
    check = f" and check that its md5 is {md5}" if md5 else ""
    return (f"To get the file by hand, download {url} on a machine with internet access, "
            f"copy it to {dest}{check}.")


def download(url, md5, filename=None, cache_dir=None, verbose=True, timeout=30.0):
    """Download ``url`` into the cache folder (once) and return the local path.

    Parameters
    ----------
    url : str
    md5 : str or None
        Expected md5 hex digest. None skips the check (then any existing file is kept).
    filename : str, optional
        Local name (default: the last part of the URL path).
    cache_dir : str or path-like, optional
        Default :func:`minicnn_home`.
    verbose : bool
        Progress bar on stderr (only on a terminal).
    timeout : float
        Seconds to wait for the server to answer or send more data.

    Returns
    -------
    str
        Path of the verified file.

    Raises
    ------
    DownloadError
        Offline, connection refused, timeout, HTTP error, or md5 mismatch. Nothing is
        left behind in the cache folder.
    """
    filename = filename or os.path.basename(urllib.parse.urlparse(url).path)
    if not filename:
        raise ValueError(f"cannot name the file from url {url!r}; pass filename=")
    folder = os.fspath(cache_dir) if cache_dir is not None else minicnn_home()
    dest = os.path.join(folder, filename)
    md5 = md5.lower() if md5 else None

    if os.path.exists(dest):
        if md5 is None or file_md5(dest) == md5:
            return dest
        if verbose:
            print(f"{dest} has the wrong md5; downloading it again.", file=sys.stderr)

    os.makedirs(folder, exist_ok=True)
    with atomic_write(dest, prefix=f".{filename}.", suffix=".part") as out:
        digest = hashlib.md5()
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                length = response.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                with Progress(total, desc=f"Downloading {filename}", unit="bytes",
                              enabled=verbose) as progress:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        progress.update(len(chunk))
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"Could not download {url}: the server answered HTTP "
                                f"{exc.code} {exc.reason}. {_by_hand(url, dest, md5)}") from None
        except (urllib.error.URLError, socket.timeout, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"Could not download {url} ({reason}): this machine seems to "
                                f"be offline or the server is unreachable. "
                                f"{_by_hand(url, dest, md5)}") from None
        got = digest.hexdigest()
        # Raising here, inside atomic_write, removes the partial file: dest is either
        # absent or complete and verified.
        if md5 is not None and got != md5:
            raise DownloadError(f"Downloaded {url} but its md5 is {got}, expected {md5}: the "
                                f"transfer was corrupted or the file changed; nothing was saved. "
                                f"{_by_hand(url, dest, md5)}")
    return dest

