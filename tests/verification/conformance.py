"""The 1EdTech validator's public test corpus, and a fetch that serves its URL map offline."""
from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any

from wallet.services.errors import FetchError
from wallet.services.verification.fetching import Fetched, Kind

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "conformance" / "1edtech"
MANIFEST: list[dict[str, Any]] = json.loads((CORPUS / "manifest.json").read_text())


def corpus_fetch(url_map: dict[str, str]):
    """Return a fetch that answers from the case's URL map and fails for anything else."""

    def fetch(url: str, *, kind: Kind = "json") -> Fetched:
        path = url_map.get(url)
        if path is None:
            raise FetchError(f"Not in the corpus: {url}")
        body = (CORPUS / path).read_bytes()
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        if path.endswith((".jsonld", ".json")):
            content_type = "application/json"
        return Fetched(url=url, final_url=url, status_code=200, content_type=content_type, body=body)

    return fetch
