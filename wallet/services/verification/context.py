"""What one verification run carries: the fetcher, the clock, the learner's identities, a budget."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from wallet.services.verification.errors import FetchError
from wallet.services.verification.fetching import Fetch, Fetched, Kind, offline_fetch

# docs/security.md A13: a bound on the documents one verification may fetch, and on nesting.
MAX_FETCHES = 25
MAX_DEPTH = 3
# docs/security.md A13: a bound on the embedded credentials (endorsements, CLR members, at any depth)
# one verification run checks; each format also refuses a credential that carries too many.
MAX_EMBEDDED = 1000


@dataclass
class Budget:
    """Fetches and embedded credentials left for one verification run, shared by its nested credentials."""

    remaining: int = MAX_FETCHES
    embedded: int = field(default_factory=lambda: MAX_EMBEDDED)


@dataclass
class Context:
    fetch_fn: Fetch = offline_fetch
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    # The learner's verified identities (emails, URLs, telephone numbers, DIDs) for the recipient check.
    recipients: tuple[str, ...] = ()
    depth: int = 0
    budget: Budget = field(default_factory=Budget)
    # Every document fetched in this run, in order: [{"url", "sha256", "content_type", "role"}].
    documents: list[dict[str, str]] = field(default_factory=list)

    def fetch(self, url: str, *, kind: Kind = "json", role: str = "") -> Fetched:
        """Fetch through the guarded fetcher, within this run's budget, and record the document."""
        if self.budget.remaining <= 0:
            raise FetchError("Too many documents to fetch for one credential.")
        self.budget.remaining -= 1
        fetched = self.fetch_fn(url, kind=kind)
        self.documents.append(
            {"url": url, "sha256": fetched.sha256, "content_type": fetched.content_type, "role": role}
        )
        return fetched

    def nested(self) -> Context:
        """Return a context for a nested credential (endorsement, CLR member), sharing the budget."""
        if self.depth >= MAX_DEPTH:
            raise FetchError("Credentials are nested too deeply.")
        return Context(self.fetch_fn, self.now, self.recipients, self.depth + 1, self.budget, self.documents)
