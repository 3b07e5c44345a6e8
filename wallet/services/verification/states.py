"""The words, icon and colour for each verification state: one table, used everywhere a state is shown.

Pure data: no Flask, no models. Pages (`credentials/_state.html`), the `wallet verify` command,
the add page script, share previews, presentations and pathway reasons all read their words here
(docs/verification.md section 1, "The words shown for each state"). Always icon + word + colour,
never colour alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from wallet.services.verification.result import Status


@dataclass(frozen=True)
class State:
    """How one status is shown: its words (with and without a date), chip class, explanation and icon."""

    status: Status
    # The word shown when no date is known ("Expired"); `dated` is the form with a date ("Expired on {date}").
    label: str
    dated: str | None
    # Which of the credential's dates fills `{date}`: its end or its start.
    date_of: Literal["expires", "valid_from"] | None
    # The chip's CSS class; its colour and icon are in static/css/wallet.css.
    chip: str
    tone: Literal["green", "red", "grey", "amber"]
    icon: str
    # One sentence saying what the state means, for a learner.
    explanation: str

    def word(self, date: str | None = None) -> str:
        """Say the state, with `date` (already formatted for people) where the state has a dated form."""
        if date and self.dated:
            return self.dated.format(date=date)
        return self.label

    def to_dict(self) -> dict[str, Any]:
        return {"status": str(self.status), "label": self.label, "dated": self.dated, "date_of": self.date_of,
                "chip": self.chip, "tone": self.tone, "icon": self.icon, "explanation": self.explanation}


def _state(status: Status, label: str, tone: Literal["green", "red", "grey", "amber"], icon: str, explanation: str,
           dated: str | None = None, date_of: Literal["expires", "valid_from"] | None = None) -> State:
    return State(status, label, dated, date_of, f"state-{status.value}", tone, icon, explanation)


# The product vocabulary (docs/verification.md section 1).
STATES: dict[str, State] = {state.status.value: state for state in (
    _state(Status.VALID, "Verified", "green", "✓",
           "Wallet checked that the issuer issued it, that it has not changed since, and that it is in force."),
    _state(Status.REVOKED, "Revoked by issuer", "red", "✕",
           "The issuer says it has withdrawn this credential."),
    _state(Status.INVALID, "Not genuine", "red", "✕",
           "It failed verification: it was altered, or it was not signed by the issuer it names."),
    _state(Status.EXPIRED, "Expired", "grey", "◷",
           "It is genuine, but the period in which it is valid has ended.",
           dated="Expired on {date}", date_of="expires"),
    _state(Status.NOT_YET_VALID, "Valid from a later date", "grey", "◷",
           "It is genuine, but the period in which it is valid has not started yet.",
           dated="Valid from {date}", date_of="valid_from"),
    _state(Status.UNVERIFIABLE, "Couldn't verify", "amber", "!",
           "Wallet could not establish whether it is genuine, for example because the issuer could not be reached."),
    _state(Status.NO_CREDENTIAL, "Couldn't check", "amber", "!",
           "Wallet found no credential it could read here."),
    _state(Status.ERROR, "Couldn't check", "amber", "!",
           "The check could not be run, so whether it is genuine is not known."),
)}


def state_of(status: str | Status | None) -> State:
    """Return how `status` is shown; a status Wallet does not know is shown as "Couldn't check"."""
    return STATES.get(str(status), STATES[Status.ERROR.value])


def state_label(status: str | Status | None, *, expires: str | None = None, valid_from: str | None = None) -> str:
    """Say `status` in the product's words, with the date it depends on (dates already formatted for people)."""
    state = state_of(status)
    return state.word({"expires": expires, "valid_from": valid_from}.get(state.date_of or ""))
