"""Password hashing (argon2id) and the rules a new password must meet."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from wallet.services.errors import ValidationError

# The longest password we hash; argon2 copes with more, but nobody types this much and it caps the work.
MAX_PASSWORD_LENGTH = 1024

# The most common passwords in public breach corpora (NCSC "100k most used", SecLists top lists),
# kept to those a learner could plausibly type and that a length rule alone would not stop.
# ASVS 6.2.12 asks for a check against breached passwords; this offline list is the small version.
_COMMON_PASSWORDS = """
123456 123456789 12345678 1234567890 12345 1234567 password password1 password12 password123
password1234 password12345 passw0rd p@ssw0rd p@ssword pa55word qwerty qwerty123 qwerty1234
qwerty12345 qwertyuiop qwertyuiop123 qwertyui asdfghjkl asdfghjkl1 zxcvbnm zxcvbnm123 1q2w3e4r
1q2w3e4r5t 1q2w3e4r5t6y 1qaz2wsx 1qaz2wsx3edc qazwsxedc qazwsxedc123 zaq12wsx zaq1zaq1 abc123
abcd1234 abcdefgh abcdefghij abc123456 abcdef123 111111 1111111111 000000 0000000000 123123
123123123 123321 654321 666666 696969 7777777 88888888 987654321 9876543210 0987654321 1234qwer
12345qwert 123qwe 123qweasd 123qweasdzxc 1234554321 11223344 112233445566 147258369 159753
159357 1234512345 iloveyou iloveyou1 iloveyou12 iloveyou123 letmein letmein1 letmein123
welcome welcome1 welcome123 welcome2024 welcome2025 welcome2026 admin admin123 admin1234
administrator root toor changeme changeme123 default guest master master123 masterkey
monkey monkey123 dragon dragon123 football football1 football123 baseball basketball soccer
hockey superman batman spiderman starwars pokemon minecraft computer internet whatever
trustno1 sunshine sunshine1 princess princess1 shadow michael jennifer jordan23 charlie
freedom freedom1 mustang harley hunter2 ranger thomas killer secret secret123 access
access14 flower hello hello123 helloworld hello12345 lovely loveme blink182 chocolate
cheese butterfly purple orange banana pepper ginger summer summer2024 summer2025 winter
autumn spring january august september october november december monday friday
samsung nokia google facebook linkedin microsoft apple iphone android
q1w2e3r4 q1w2e3r4t5 a1b2c3d4 a1b2c3d4e5 1a2b3c4d aa123456 aa12345678 asd123 asdasd
asdasdasd asdf1234 asdfasdf qweqwe qweasd qweasdzxc qwe123 qwe123qwe zxcasdqwe
myspace1 mypassword mypass123 yourpassword newpassword newpass123 temp1234 test1234
testtest testing123 student student123 teacher school school123 college university
login login123 user1234 username demo1234 wallet wallet123 badge badges certificate
""".split()


@cache
def _hasher() -> PasswordHasher:
    # argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB, t=3, p=4).
    return PasswordHasher()


def hash_password(password: str) -> str:
    """Return the argon2id hash of `password`."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether `password` matches `password_hash` (False for a damaged hash, never raises)."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Return whether a stored hash was made with weaker parameters than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return hash_password("not a password anybody has: equalises timing")


def burn_verification_time(password: str) -> None:
    """Spend as long as a real check, so a missing account answers as slowly as a wrong password (F12)."""
    verify_password(_dummy_hash(), password)


def is_common_password(password: str) -> bool:
    """Return whether `password` is on the shipped list of most common passwords."""
    return password.strip().lower() in _common_set()


@cache
def _common_set() -> frozenset[str]:
    return frozenset(_COMMON_PASSWORDS)


def check_new_password(password: str, *, confirm: str | None = None, email: str | None = None,
                       min_length: int = 10) -> None:
    """Raise ValidationError, saying what to change, unless `password` is acceptable as a new password."""
    if not password:
        raise ValidationError("Choose a password.")
    if confirm is not None and confirm != password:
        raise ValidationError("The two passwords are not the same.")
    if len(password) < min_length:
        raise ValidationError(f"Use at least {min_length} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(f"Use at most {MAX_PASSWORD_LENGTH} characters.")
    if not password.strip():
        raise ValidationError("A password cannot be only spaces.")
    if email and password.strip().lower() == email.strip().lower():
        raise ValidationError("Your password cannot be your email address.")
    if is_common_password(password):
        raise ValidationError("That password is one of the most common ones and easy to guess. Choose another.")
