"""The content-addressed blob store."""
from __future__ import annotations

import hashlib

import pytest

from wallet.services.blobs import BlobStore, blob_store_from_config
from wallet.services.errors import NotFoundError


def test_blob_store_put_returns_sha256_and_keeps_bytes_verbatim(tmp_path):
    store = BlobStore(tmp_path)
    data = b"\x89PNG\r\n\x1a\n exact bytes \x00\xff"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.get(digest) == data
    assert store.path(digest) == tmp_path / digest[:2] / digest


def test_blob_store_put_twice_stores_once_and_leaves_no_temp_files(tmp_path):
    store = BlobStore(tmp_path)
    assert store.put(b"same") == store.put(b"same")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [hashlib.sha256(b"same").hexdigest()]


@pytest.mark.parametrize("digest", ["../../etc/passwd", "ab", "A" * 64, "g" * 64, ""])
def test_blob_store_path_non_sha256_name_is_refused(tmp_path, digest):
    with pytest.raises(NotFoundError):
        BlobStore(tmp_path).path(digest)


def test_blob_store_get_missing_blob_raises_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        BlobStore(tmp_path).get("0" * 64)


def test_blob_store_from_config_defaults_to_instance_folder(tmp_path):
    assert blob_store_from_config({}, str(tmp_path)).root == tmp_path / "blobs"
    assert blob_store_from_config({"BLOB_DIR": str(tmp_path / "x")}, str(tmp_path)).root == tmp_path / "x"
