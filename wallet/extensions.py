"""Flask extensions, created unbound here and bound in create_app()."""
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

csrf = CSRFProtect()


@login_manager.user_loader
def load_user(session_id: str):
    """Return the user for a session id "<user id>:<session version>", or None if it is stale."""
    from wallet.db import get_session
    from wallet.models import User

    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = get_session().get(User, int(user_id))
    # F7: a password change or "log out everywhere" bumps the version and ends old sessions.
    if user is None or user.session_version != int(version):
        return None
    return user
