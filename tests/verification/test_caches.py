"""Every in-process cache is bounded by the bytes it holds (caches.py; docs/security.md A10, A13)."""
from __future__ import annotations

import gc
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.verification.test_status import LIST_URL, bitstring_entry, bitstring_list, credential_with_status
from tests.verification.test_vc import WEB_HOST, Signer, Site, b64url, generic_vc, verify
from wallet.services import pathway_rules
from wallet.services.verification import configure_caches, jsonld, memo, status
from wallet.services.verification.caches import REGISTRY, ByteLRU, cache_short_strings, estimate_size, memoize
from wallet.services.verification.result import Status

KB = 1024
MB = 1024 * KB


@pytest.fixture
def site(document_server: Any) -> Site:
    return Site(document_server)


@pytest.fixture(autouse=True)
def _default_budgets() -> Iterator[None]:
    status.clear_cache()
    memo.clear()
    jsonld.clear_caches()
    yield
    configure_caches()  # back to the defaults for the tests that follow
    status.clear_cache()
    memo.clear()
    jsonld.clear_caches()


# --- the building block ----------------------------------------------------------------------------


def test_byte_lru_many_large_items_stay_under_the_budget_and_the_oldest_go() -> None:
    cache: ByteLRU[bytes] = ByteLRU(1 * MB)
    for number in range(50):
        assert cache.put(f"item-{number}", bytes(100 * KB))
        assert cache.size <= 1 * MB
    assert 5 <= len(cache) <= 10
    assert cache.get("item-0") is None and "item-0" not in cache
    assert cache.get("item-49") == bytes(100 * KB)
    # The accounting covers the value, the key and the entry itself, never less than the bytes.
    assert cache.size >= len(cache) * 100 * KB


def test_byte_lru_recently_used_item_is_kept_over_older_ones() -> None:
    cache: ByteLRU[bytes] = ByteLRU(350 * KB)
    cache.put("a", bytes(100 * KB))
    cache.put("b", bytes(100 * KB))
    cache.put("c", bytes(100 * KB))
    assert cache.get("a") is not None
    cache.put("d", bytes(100 * KB))
    assert ("a" in cache, "b" in cache, "c" in cache, "d" in cache) == (True, False, True, True)


def test_byte_lru_item_larger_than_the_budget_is_not_kept() -> None:
    cache: ByteLRU[bytes] = ByteLRU(1 * MB)
    cache.put("small", b"x")
    assert not cache.put("huge", bytes(2 * MB))
    assert "huge" not in cache and "small" in cache
    assert cache.size < 1 * KB


def test_byte_lru_smaller_budget_evicts_what_no_longer_fits() -> None:
    cache: ByteLRU[bytes] = ByteLRU(1 * MB)
    for number in range(8):
        cache.put(number, bytes(100 * KB))
    cache.max_bytes = 250 * KB
    assert cache.size <= 250 * KB
    assert 7 in cache and 0 not in cache


def test_estimate_size_counts_what_a_value_holds_once() -> None:
    shared = "s" * 10_000
    assert estimate_size(bytes(50_000)) >= 50_000
    assert estimate_size({"a": [shared, shared], "b": (shared,)}) < 11_000
    assert estimate_size([bytes(1000) for _ in range(100)]) >= 100_000


def test_memoize_remembers_within_its_byte_budget_and_never_an_exception() -> None:
    calls: list[str] = []

    @memoize(64 * KB)
    def shout(text: str) -> str:
        calls.append(text)
        if text == "bad":
            raise ValueError(text)
        return text.upper()

    for number in range(20):
        shout(f"{number}" * 5000)
    assert shout.cache.size <= 64 * KB  # type: ignore[attr-defined]
    shout("19" * 5000)
    assert calls.count("19" * 5000) == 1  # the most recent: remembered
    shout("0" * 5000)
    assert calls.count("0" * 5000) == 2  # evicted long ago: computed again
    for _ in range(2):
        with pytest.raises(ValueError):
            shout("bad")
    assert calls.count("bad") == 2


# --- the caches of the verification core --------------------------------------------------------------


def _large_list(set_bits: list[int], size_bytes: int) -> str:
    bits = bytearray(size_bytes)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + b64url(gzip.compress(bytes(bits)))


def test_status_cache_many_large_lists_stay_under_its_budget(site: Site) -> None:
    configure_caches(status_bytes=int(2.5 * MB))
    signer = Signer()
    bodies: list[bytes] = []
    for number in range(6):
        path = f"/status/{number}"
        document = signer.sign_ld(bitstring_list(signer.did, _large_list([number], 1 * MB), id=WEB_HOST + path))
        site.publish(path, document)
        bodies.append(json.dumps(document).encode())
        entry = bitstring_entry(number, statusListCredential=WEB_HOST + path)
        assert verify(credential_with_status(signer, entry), site.fetch).status is Status.REVOKED
        assert status.CACHE.size <= 2.5 * MB
    assert len(status.CACHE) == 2
    assert status.CACHE.size >= 2 * MB  # each decoded list is counted with its megabyte


def test_status_cache_list_larger_than_the_budget_is_used_but_not_kept(site: Site) -> None:
    configure_caches(status_bytes=512 * KB)
    signer = Signer()
    site.publish("/status/1", signer.sign_ld(bitstring_list(signer.did, _large_list([3], 1 * MB))))
    credential = credential_with_status(signer, bitstring_entry(3))
    assert verify(credential, site.fetch).status is Status.REVOKED
    assert len(status.CACHE) == 0 and status.CACHE.size == 0
    assert LIST_URL.endswith("/status/1")


def test_memo_many_large_results_stay_under_its_budget() -> None:
    configure_caches(result_bytes=1 * MB)
    signer = Signer()
    for number in range(12):
        credential = signer.sign_ld(generic_vc(signer.did, description=f"{number} " + "words " * 30_000))
        assert verify(credential).status is Status.VALID
        assert memo.RESULTS.size <= 1 * MB
    assert 1 <= len(memo.RESULTS) < 12
    assert memo.RESULTS.size >= len(memo.RESULTS) * 180 * KB  # each result holds its 180 KB credential


def test_canonical_forms_many_large_documents_stay_under_their_budget() -> None:
    configure_caches(canonical_bytes=1 * MB)
    signer = Signer()
    for number in range(12):
        jsonld.canonize(generic_vc(signer.did, description=f"{number} " + "words " * 30_000))
        assert jsonld.CANONICAL_FORMS.size <= 1 * MB
    assert 1 <= len(jsonld.CANONICAL_FORMS) < 12


def test_cache_short_strings_keeps_short_strings_and_passes_long_ones_through() -> None:
    calls: list[str | None] = []

    @cache_short_strings(maxsize=2, max_chars=10)
    def fold(text: str | None) -> str:
        calls.append(text)
        return (text or "").casefold()

    assert fold("Robotics") == fold("Robotics") == "robotics"
    long_name = "Robotics " * 100_000
    assert fold(long_name) == fold(long_name) == long_name.casefold()
    assert calls == ["Robotics", long_name, long_name]
    assert fold.cache_info().currsize == 1  # type: ignore[attr-defined]


def test_pathway_rules_long_names_from_credentials_are_not_kept() -> None:
    before = pathway_rules._fold.cache_info().currsize  # type: ignore[attr-defined]
    for number in range(20):
        pathway_rules._fold(f"{number} " + "word " * 20_000)
        pathway_rules.normalize_identifier(f"https://issuer.example/{number}/" + "x" * 100_000)
    assert pathway_rules._fold.cache_info().currsize == before  # type: ignore[attr-defined]


# --- one registry ----------------------------------------------------------------------------------


def test_registry_clear_all_empties_every_kind_of_cache() -> None:
    @memoize(1 * MB)
    def double(number: int) -> int:
        return number * 2

    @cache_short_strings(maxsize=4, max_chars=10)
    def fold(text: str | None) -> str:
        return (text or "").casefold()

    own: ByteLRU[bytes] = ByteLRU(1 * MB)
    own.put("a", b"x")
    double(21)
    fold("Robotics")
    memo.RESULTS.put("a result", b"x", size=1)
    status.CACHE.put("a list", b"x", size=1)  # type: ignore[arg-type]
    jsonld.canonize(generic_vc(Signer().did))
    assert all(len(cache) for cache in (own, double.cache, memo.RESULTS, status.CACHE,  # type: ignore[attr-defined]
                                        jsonld.CANONICAL_FORMS, jsonld.PROCESSED_CONTEXTS))
    assert fold.cache_info().currsize == 1  # type: ignore[attr-defined]

    REGISTRY.clear_all()

    assert not any(len(cache) for cache in (own, double.cache, memo.RESULTS, status.CACHE,  # type: ignore[attr-defined]
                                            jsonld.CANONICAL_FORMS, jsonld.PROCESSED_CONTEXTS))
    assert fold.cache_info().currsize == 0  # type: ignore[attr-defined]


def test_registry_refuses_what_cannot_be_cleared_and_lets_a_cache_go_with_its_owner() -> None:
    with pytest.raises(TypeError):
        REGISTRY.add(object())
    before = len(REGISTRY)
    ByteLRU(1 * MB)  # belongs to nothing: not kept alive by the registry
    gc.collect()
    assert len(REGISTRY) == before
