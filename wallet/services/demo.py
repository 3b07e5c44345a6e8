"""Demo data for `make run`: a learner to log in as (other areas add their demo content here)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from wallet.models import User
from wallet.services import accounts

DEMO_EMAIL = "demo@example.org"
DEMO_NAME = "Demo Learner"
# Printed by `wallet demo`; the demo account is for trying Wallet on your own machine only.
DEMO_PASSWORD = "demo-wallet-password"


def ensure_demo_learner(session: Session) -> tuple[User, str]:
    """Return the demo learner, creating it (with a verified address) if missing, and its password.

    Idempotent: a second call finds the same account. The password is the one printed, unless
    someone changed it through the app.
    """
    user = accounts.find_user_by_email(session, DEMO_EMAIL)
    if user is None:
        user = accounts.register(session, display_name=DEMO_NAME, email=DEMO_EMAIL, password=DEMO_PASSWORD,
                                 verified=True)
    return user, DEMO_PASSWORD
