"""Accounts: registration, log-in with lockout, passwords, reset links, email addresses, deletion.

Kept whole (about 510 lines): every way into an account (log-in, reset, confirmation, deletion) shares
the same lockout, token and session rules (docs/security.md F6, F7, F12, F13), reviewed together.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from wallet.db import utcnow
from wallet.models import AccountToken, EmailAddress, User
from wallet.services import blob_references, login_sessions, passwords, tokens
from wallet.services.blobs import BlobStore
from wallet.services.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ValidationError,
)
from wallet.services.mail import MailSettings, send_mail
from wallet.services.oauth import grants
from wallet.services.ratelimit import RateLimiter, describe_wait
from wallet.services.tokens import hash_secret, new_secret

log = logging.getLogger(__name__)

# The name the log-in and public-link limits were written against; one limiter serves them all.
FailureWindow = RateLimiter

VERIFY_EMAIL = "verify_email"
RESET_PASSWORD = "reset_password"
MAX_EMAILS_PER_USER = 10
DISPLAY_NAME_MAX_LENGTH = 120
EMAIL_MAX_LENGTH = 254  # RFC 5321 §4.5.3.1.3 (path) less the angle brackets
# Not RFC 5322 in full (quoted local parts and IP literals are refused on purpose): one @, no spaces,
# a dotted domain. The link we mail is the real test of an address.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")

# The link builder a route passes in: secret -> absolute URL of the page that takes it.
LinkBuilder = Callable[[str], str]


@dataclass(frozen=True)
class LoginPolicy:
    """How many wrong passwords lock an account, and for how long."""

    max_failures: int = 5
    lockout_seconds: int = 15 * 60
    password_min_length: int = 10


@dataclass(frozen=True)
class MailThrottle:
    """How often account mail (reset, confirmation) may be asked for, per address and per client (F6)."""

    per_address: RateLimiter
    per_client: RateLimiter
    client: str  # the asking client's network address

    def take(self, address: str) -> None:
        """Count one mail to `address` from this client; RateLimitedError once either limit is reached.

        Callers count before they look the address up, so the answer is the same whether or not an
        account has it (F12). A client already refused adds nothing to the address's count, so it
        cannot use up someone's allowance.
        """
        wait = self.per_client.take(self.client) or self.per_address.take(address)
        if wait:
            raise RateLimitedError(
                "Too many emails were requested for this address or from your network. "
                f"Wait {describe_wait(wait)} before asking again.", retry_after=wait)


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a log-in attempt; `error` is the sentence to show when `user` is None."""

    user: User | None
    error: str | None = None
    locked: bool = False


def normalize_email(address: str) -> str:
    """Return the address trimmed and lower-cased; ValidationError if it cannot be an email address."""
    address = (address or "").strip().lower()
    if not address:
        raise ValidationError("Enter your email address.")
    if len(address) > EMAIL_MAX_LENGTH or not _EMAIL.match(address) or _has_control_chars(address):
        raise ValidationError("Enter an email address like name@example.org.")
    return address


def clean_display_name(name: str) -> str:
    """Return the name with runs of spaces collapsed; ValidationError if empty or too long."""
    name = " ".join("".join(c for c in (name or "") if not _is_control(c)).split())
    if not name:
        raise ValidationError("Enter the name to show on your wallet.")
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationError(f"Use at most {DISPLAY_NAME_MAX_LENGTH} characters for your name.")
    return name


def find_user_by_email(session: Session, address: str) -> User | None:
    """Return the account that has this address (verified or not), or None."""
    try:
        address = normalize_email(address)
    except ValidationError:
        return None
    email = session.scalar(select(EmailAddress).where(EmailAddress.address == address))
    return email.user if email else None


def register(session: Session, *, display_name: str, email: str, password: str, confirm: str | None = None,
             password_min_length: int = 10, verified: bool = False, throttle: MailThrottle | None = None) -> User:
    """Create an account whose primary address is `email`; ConflictError if an account already has it.

    `verified` is for accounts an operator creates: the address is then taken as proven. With a
    `throttle`, the confirmation mail the caller sends next is counted first (RateLimitedError).
    """
    display_name = clean_display_name(display_name)
    address = normalize_email(email)
    if throttle is not None:
        throttle.take(address)
    passwords.check_new_password(password, confirm=confirm, email=address, min_length=password_min_length)
    if session.scalar(select(EmailAddress.id).where(EmailAddress.address == address)) is not None:
        raise ConflictError("An account already uses this email address. Log in, or reset your password if you forgot it.")
    user = User(display_name=display_name, password_hash=passwords.hash_password(password), failed_logins=0)
    user.emails.append(EmailAddress(address=address, is_primary=True, verified_at=utcnow() if verified else None))
    _insert_unique(session, user, "An account already uses this email address. Log in, or reset your password if you forgot it.")
    return user


def authenticate(session: Session, *, email: str, password: str, policy: LoginPolicy,
                 now: datetime | None = None) -> LoginResult:
    """Check an email and password, counting failures and locking the account after too many.

    The caller commits whatever the outcome: failures and locks are state too. Each attempt is
    counted by one UPDATE in the database before the password is checked, and the count it returns
    decides, so attempts arriving at once (at any number of server processes) cannot overwrite
    each other's count and never get more than `policy.max_failures` guesses checked (F6).
    """
    now = now or utcnow()
    generic = "The email address or password is not right."
    user = find_user_by_email(session, email)
    if user is None:
        passwords.burn_verification_time(password)
        return LoginResult(None, generic)
    not_locked = or_(User.locked_until.is_(None), User.locked_until <= now)
    attempt = session.execute(update(User).where(User.id == user.id, not_locked)
                              .values(failed_logins=User.failed_logins + 1)
                              .returning(User.failed_logins)
                              .execution_options(synchronize_session=False)).scalar_one_or_none()
    if attempt is None:
        return _still_locked(session, user, now)
    if attempt > policy.max_failures:
        # The other attempts in flight have used this account's allowance: refuse unchecked.
        return _lock(session, user, now, policy)
    if not passwords.verify_password(user.password_hash, password):
        if attempt >= policy.max_failures:
            return _lock(session, user, now, policy)
        session.refresh(user)
        return LoginResult(None, generic)
    # The lock may have been set by a parallel attempt while this password was being checked.
    result = session.execute(update(User).where(User.id == user.id, not_locked)
                             .values(failed_logins=0, locked_until=None, last_login_at=now)
                             .execution_options(synchronize_session=False))
    session.refresh(user)
    if result.rowcount != 1:
        return _still_locked(session, user, now)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return LoginResult(user)


def _lock(session: Session, user: User, now: datetime, policy: LoginPolicy) -> LoginResult:
    until = now + timedelta(seconds=policy.lockout_seconds)
    session.execute(update(User).where(User.id == user.id)
                    .values(failed_logins=0, locked_until=until)
                    .execution_options(synchronize_session=False))
    return _still_locked(session, user, now)


def _still_locked(session: Session, user: User, now: datetime) -> LoginResult:
    session.refresh(user)
    remaining = (user.locked_until - now) if user.locked_until and user.locked_until > now else timedelta(0)
    return LoginResult(None, _locked_message(remaining), locked=True)


def _locked_message(remaining: timedelta) -> str:
    return (f"Too many wrong passwords: this account is locked for {describe_wait(remaining.total_seconds())}. "
            "Try again later, or reset your password to get in now.")


@dataclass(frozen=True)
class LoggedOut:
    """What ending every session of an account did: shown to the learner so they know."""

    user: User
    sessions_ended: int
    tokens_revoked: int
    apps_disconnected: int = 0


def change_password(session: Session, *, owner_id: int, current: str, new: str, confirm: str | None,
                    password_min_length: int = 10, keep_session: str | None = None) -> User:
    """Set a new password after checking the current one; ends every session but `keep_session` (F7).

    Access tokens stay: the learner proved they know the password and is logged in.
    A wrong current password is AuthenticationError; a new password breaking a rule, ValidationError.
    """
    user = _get_user(session, owner_id)
    if not passwords.verify_password(user.password_hash, current or ""):
        raise AuthenticationError("Your current password is not right.")
    primary = user.primary_email
    passwords.check_new_password(new, confirm=confirm, email=primary.address if primary else None,
                                 min_length=password_min_length)
    _set_password(user, new)
    login_sessions.end_all_sessions(session, owner_id=user.id, except_secret=keep_session)
    return user


def log_out_everywhere(session: Session, *, owner_id: int) -> LoggedOut:
    """End every session of the account, revoke every access token and disconnect every connected app (F7).

    After a suspected break-in, an app the intruder approved on the consent page is a way back in like
    any token, so its grant goes too; a provider the learner still wants asks for consent again.
    """
    user = _get_user(session, owner_id)
    return LoggedOut(user, login_sessions.end_all_sessions(session, owner_id=owner_id),
                     tokens.revoke_all_tokens(session, owner_id=owner_id),
                     grants.revoke_all_grants(session, owner_id=owner_id))


def _set_password(user: User, password: str) -> None:
    user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def update_profile(session: Session, *, owner_id: int, display_name: str) -> User:
    """Change the learner's display name."""
    user = _get_user(session, owner_id)
    user.display_name = clean_display_name(display_name)
    return user


def request_password_reset(session: Session, *, email: str, mail: MailSettings, link: LinkBuilder,
                           max_age_seconds: int, throttle: MailThrottle | None = None) -> None:
    """Mail a reset link if an account has this address; do the same visible thing when none does (F12).

    With a `throttle`, every request for a well-formed address counts, known or not (RateLimitedError).
    """
    try:
        address = normalize_email(email)
    except ValidationError:
        return
    if throttle is not None:
        throttle.take(address)
    email_row = session.scalar(select(EmailAddress).where(EmailAddress.address == address))
    if email_row is None:
        return
    raw = _issue_token(session, user_id=email_row.user_id, purpose=RESET_PASSWORD, email_id=email_row.id,
                       max_age_seconds=max_age_seconds)
    hours = max(1, max_age_seconds // 3600)
    send_mail(session, mail, to=address, subject="Reset your Wallet password", body=(
        f"Hello {email_row.user.display_name},\n\n"
        "Someone (we hope you) asked to reset the password of your Wallet account. "
        "Open this link to choose a new password:\n\n"
        f"{link(raw)}\n\n"
        f"The link works once, within {hours} hour{'s' if hours != 1 else ''}. "
        "Choosing a new password logs you out everywhere, revokes your access tokens for the API and "
        "disconnects the apps you allowed into your wallet.\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n"
    ))


def check_reset_token(session: Session, raw: str) -> AccountToken:
    """Return the reset token for this secret; ValidationError if unknown, used or expired."""
    return _find_token(session, raw, RESET_PASSWORD)


def reset_password(session: Session, *, raw_token: str, new: str, confirm: str | None,
                   password_min_length: int = 10) -> LoggedOut:
    """Set a new password from an emailed link: single use; unlocks the account.

    Whoever may have had the old password may have kept a way in: every session ends and every
    access token is revoked (F7).
    """
    token = check_reset_token(session, raw_token)
    user = _get_user(session, token.user_id)
    email = session.get(EmailAddress, token.email_id) if token.email_id else None
    passwords.check_new_password(new, confirm=confirm, email=email.address if email else None,
                                 min_length=password_min_length)
    _use_token(session, token)
    _set_password(user, new)
    # Opening the link proved the learner reads this mailbox.
    if email is not None and email.verified_at is None:
        email.verified_at = utcnow()
    _expire_other_tokens(session, user_id=user.id, purpose=RESET_PASSWORD)
    return log_out_everywhere(session, owner_id=user.id)


def add_email(session: Session, *, owner_id: int, address: str, mail: MailSettings, link: LinkBuilder,
              max_age_seconds: int, throttle: MailThrottle | None = None) -> EmailAddress:
    """Add an unverified address to the account and mail it a confirmation link (counted by `throttle`)."""
    user = _get_user(session, owner_id)
    address = normalize_email(address)
    if throttle is not None:
        throttle.take(address)
    if any(e.address == address for e in user.emails):
        raise ConflictError("That address is already on your account.")
    if len(user.emails) >= MAX_EMAILS_PER_USER:
        raise ValidationError(f"An account can have at most {MAX_EMAILS_PER_USER} addresses. Remove one first.")
    if session.scalar(select(EmailAddress.id).where(EmailAddress.address == address)) is not None:
        raise ConflictError("That address belongs to another account.")
    email = EmailAddress(user_id=user.id, address=address, is_primary=not user.emails)
    _insert_unique(session, email, "That address belongs to another account.")
    session.refresh(user, ["emails"])
    send_verification(session, owner_id=owner_id, email_id=email.id, mail=mail, link=link,
                      max_age_seconds=max_age_seconds)
    return email


def send_verification(session: Session, *, owner_id: int, email_id: int, mail: MailSettings, link: LinkBuilder,
                      max_age_seconds: int, throttle: MailThrottle | None = None) -> EmailAddress:
    """Mail a fresh confirmation link for one of the owner's unverified addresses (counted by `throttle`)."""
    email = _get_email(session, owner_id, email_id)
    if email.verified_at is not None:
        raise ValidationError("That address is already confirmed.")
    if throttle is not None:
        throttle.take(email.address)
    raw = _issue_token(session, user_id=owner_id, purpose=VERIFY_EMAIL, email_id=email.id,
                       max_age_seconds=max_age_seconds)
    hours = max(1, max_age_seconds // 3600)
    send_mail(session, mail, to=email.address, subject="Confirm your email address for Wallet", body=(
        f"Hello {email.user.display_name},\n\n"
        f"Open this link to confirm that {email.address} is yours:\n\n"
        f"{link(raw)}\n\n"
        "Wallet uses confirmed addresses to recognise the badges and certificates issued to you. "
        f"The link works once, within {hours} hour{'s' if hours != 1 else ''}. "
        "If you did not add this address to a Wallet account, ignore this message.\n"
    ))
    return email


def check_email_token(session: Session, *, owner_id: int, raw_token: str) -> EmailAddress:
    """Return the address a confirmation link is for, if the link is valid and for this account."""
    return _email_token(session, owner_id, raw_token)[1]


def confirm_email(session: Session, *, owner_id: int, raw_token: str) -> EmailAddress:
    """Mark an address verified from its emailed link (single use, expiring, this account only)."""
    token, email = _email_token(session, owner_id, raw_token)
    _use_token(session, token)
    if email.verified_at is None:
        email.verified_at = utcnow()
    return email


def _email_token(session: Session, owner_id: int, raw_token: str) -> tuple[AccountToken, EmailAddress]:
    token = _find_token(session, raw_token, VERIFY_EMAIL)
    if token.user_id != owner_id:
        # Only the account that added an address may confirm it: otherwise someone could add a
        # victim's address and get it confirmed by a click from the victim (F13).
        raise PermissionDeniedError(
            "This link confirms an address for a different account. Log in to the account that added it.")
    email = session.get(EmailAddress, token.email_id) if token.email_id else None
    if email is None:
        raise ValidationError("This link is for an address that was removed.")
    return token, email


def make_primary(session: Session, *, owner_id: int, email_id: int) -> EmailAddress:
    """Make a confirmed address the one mail goes to."""
    email = _get_email(session, owner_id, email_id)
    if email.verified_at is None:
        raise ValidationError("Confirm this address before making it your main one.")
    for other in email.user.emails:
        other.is_primary = other.id == email.id
    return email


def remove_email(session: Session, *, owner_id: int, email_id: int) -> str:
    """Remove an address from the account (not the main one); return the address removed."""
    email = _get_email(session, owner_id, email_id)
    if email.is_primary or len(email.user.emails) == 1:
        raise ValidationError("You cannot remove your main address. Make another confirmed address the main one first.")
    address = email.address
    email.user.emails.remove(email)
    session.delete(email)
    session.flush()
    return address


@dataclass(frozen=True)
class AccountDeletion:
    """A deleted account and the stored files only it named, to remove once the deletion is committed."""

    user_id: int
    orphaned_blobs: frozenset[str]
    shared_blobs: int  # files the account named that other learners' rows still name


def delete_account(session: Session, *, owner_id: int, password: str, confirmed: bool) -> AccountDeletion:
    """Delete the account and everything it owns (the database cascades from users.id).

    Returns the blobs no other row names: the caller removes them with `remove_files` after
    committing, so a failed commit never leaves rows without their files. A wrong password is
    AuthenticationError; a missing confirmation, ValidationError.
    """
    user = _get_user(session, owner_id)
    if not confirmed:
        raise ValidationError("Tick the box to confirm that you want to delete everything.")
    if not passwords.verify_password(user.password_hash, password or ""):
        raise AuthenticationError("Your password is not right.")
    owned = blob_references.owned_digests(session, owner_id)
    session.delete(user)
    session.flush()
    kept = blob_references.referenced(session, owned) if owned else set()
    return AccountDeletion(owner_id, frozenset(owned - kept), len(kept))


def remove_files(blobs: BlobStore, deletion: AccountDeletion) -> int:
    """Remove a deleted account's own files from the blob store; log counts only; return how many."""
    removed = sum(1 for digest in sorted(deletion.orphaned_blobs) if blobs.delete(digest))
    log.info("Account %s deleted: %s stored files removed, %s kept (other learners' rows name them)",
             deletion.user_id, removed, deletion.shared_blobs)
    return removed


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("That account does not exist.")
    return user


def _get_email(session: Session, owner_id: int, email_id: int) -> EmailAddress:
    email = session.get(EmailAddress, email_id)
    if email is None or email.user_id != owner_id:
        raise NotFoundError("That address is not on your account.")
    return email


def _insert_unique(session: Session, row: object, message: str) -> None:
    # Two requests racing for the same address both pass the SELECT above; the unique constraint
    # decides, and the loser gets the same clear message instead of a 500.
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as error:
        raise ConflictError(message) from error


def _issue_token(session: Session, *, user_id: int, purpose: str, email_id: int | None, max_age_seconds: int) -> str:
    # Only the newest link of a kind works: an older mail that leaks later is useless.
    _expire_other_tokens(session, user_id=user_id, purpose=purpose, email_id=email_id)
    raw = new_secret()
    now = utcnow()
    session.add(AccountToken(user_id=user_id, purpose=purpose, token_hash=hash_secret(raw), email_id=email_id,
                             created_at=now, expires_at=now + timedelta(seconds=max_age_seconds)))
    session.flush()
    return raw


def _expire_other_tokens(session: Session, *, user_id: int, purpose: str, email_id: int | None = None) -> None:
    query = update(AccountToken).where(AccountToken.user_id == user_id, AccountToken.purpose == purpose,
                                       AccountToken.used_at.is_(None))
    if email_id is not None:
        query = query.where(AccountToken.email_id == email_id)
    session.execute(query.values(used_at=utcnow()).execution_options(synchronize_session="fetch"))


def _find_token(session: Session, raw: str, purpose: str) -> AccountToken:
    invalid = "This link is not valid. Copy the whole link from the email, or ask for a new one."
    if not raw or len(raw) > 200:
        raise ValidationError(invalid)
    token = session.scalar(select(AccountToken).where(AccountToken.token_hash == hash_secret(raw),
                                                      AccountToken.purpose == purpose))
    if token is None:
        raise ValidationError(invalid)
    if token.used_at is not None:
        raise ValidationError("This link was already used, or a newer one was sent. Ask for a new one if you need it.")
    if token.expires_at <= utcnow():
        raise ValidationError("This link has expired. Ask for a new one.")
    return token


def _use_token(session: Session, token: AccountToken) -> None:
    # A conditional UPDATE, so two clicks racing on the same link cannot both use it.
    result = session.execute(update(AccountToken)
                             .where(AccountToken.id == token.id, AccountToken.used_at.is_(None))
                             .values(used_at=utcnow())
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise ValidationError("This link was already used. Ask for a new one if you need it.")
    session.refresh(token)


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn")


def _has_control_chars(text: str) -> bool:
    return any(_is_control(c) for c in text)


def lock_owner(session: Session, owner_id: int) -> None:
    """Lock the learner's row until the transaction ends, so concurrent quota checks take turns (§2.10).

    PostgreSQL takes a row lock (SELECT ... FOR UPDATE). SQLite ignores it and needs none: it has
    one writer at a time, and a transaction whose snapshot went stale is refused when it writes.
    """
    session.execute(select(User.id).where(User.id == owner_id).with_for_update())
