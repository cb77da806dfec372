"""PneumoniaMNIST (examples/chest_xray/pneumoniamnist.py): names, sizes, and the checked download.

``minicnn.data.download`` itself (atomic file, md5 check, offline errors) is tested against a
local server in tests/data/test_download.py; here we check what the example asks it for.
"""

import pytest

from chest_xray import pneumoniamnist


def test_fetch_asks_for_the_published_file_and_its_md5(tmp_path, monkeypatch):
    calls = []

    def fake_download(url, md5, filename=None, cache_dir=None, verbose=True):
        calls.append((url, md5, filename, cache_dir, verbose))
        return str(tmp_path / filename)

    monkeypatch.setattr(pneumoniamnist.data, "download", fake_download)
    assert pneumoniamnist.fetch(224, cache_dir=tmp_path, verbose=False) == str(
        tmp_path / "pneumoniamnist_224.npz")
    pneumoniamnist.fetch(28, cache_dir=tmp_path)
    assert calls == [
        ("https://zenodo.org/records/10519652/files/pneumoniamnist_224.npz?download=1",
         "d6a3c71de1b945ea11211b03746c1fe1", "pneumoniamnist_224.npz", tmp_path, False),
        ("https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1",
         "28209eda62fecd6e6a2d98b1501bb15f", "pneumoniamnist.npz", tmp_path, True)]


def test_unpublished_size_is_refused_before_any_download(monkeypatch):
    monkeypatch.setattr(pneumoniamnist.data, "download", lambda *a, **k: pytest.fail("downloaded"))
    with pytest.raises(ValueError, match="28, 64, 128, 224"):
        pneumoniamnist.fetch(100)


def test_class_names_follow_the_file_name():
    assert pneumoniamnist.CLASS_NAMES == ["NORMAL", "PNEUMONIA"]
    assert pneumoniamnist.is_pneumoniamnist("/cache/pneumoniamnist_64.npz")
    assert not pneumoniamnist.is_pneumoniamnist("bloodmnist_64.npz")
