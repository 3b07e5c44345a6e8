"""Imports point one way: routes -> services -> models, and the verification core stands alone.

Every module under wallet/ is parsed (never imported) and each of its imports, at module level or
inside a function, is resolved to the module it names: `from wallet.services import http` is an
arrow to `wallet.services.http`, `from . import result` inside the verification core to
`wallet.services.verification.result`. The arrows that must never exist, and why, are in
docs/architecture.md ("Arrows that must never exist").
"""
from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wallet"

CORE = "wallet.services.verification"
FETCHER = "wallet.services.http"
# The Flask family: the request, the app, sessions, logins, forms. Services take plain values.
FLASK = ("flask", "flask_login", "flask_wtf")
# Werkzeug's request machinery; its plain utilities (werkzeug.security, werkzeug.utils) are fine anywhere.
WERKZEUG_REQUEST = ("werkzeug.wrappers", "werkzeug.local", "werkzeug.exceptions", "werkzeug.routing",
                    "werkzeug.datastructures", "werkzeug.serving", "werkzeug.test")

# HTTP clients: only the guarded fetcher opens outbound connections (docs/security.md, group A).
HTTP_CLIENTS = ("requests", "urllib3", "http.client", "urllib.request", "httpx", "aiohttp")

# Forbidden arrows tolerated for now, (importing module, imported module). Empty: keep it so. An
# entry may be added only with an issue that removes it again; never to let a new arrow in.
# test_architecture_known_violations_all_still_exist fails once an arrow is gone, so its entry goes with it.
KNOWN: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Arrow:
    """One import: `source` (a module under wallet/) imports `target`, at `path:line`."""

    source: str
    target: str
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.source} -> {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


MODULES = _files()


def _within(module: str, *prefixes: str) -> bool:
    """Return whether `module` is one of `prefixes` or inside one of them."""
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _resolve_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    # Relative: level 1 is the module's own package (the module itself when it is a package's __init__).
    package = (module if is_package else module.rpartition(".")[0]).split(".")
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def arrows_in(module: str, code: str, *, shown: str, is_package: bool = False) -> Iterator[Arrow]:
    """Yield every import in `code`, the source of `module`, each resolved to the module it names."""
    for node in ast.walk(ast.parse(code, filename=shown)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Arrow(module, alias.name, shown, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_from(node, module, is_package)
            # `from package import name`: an arrow to the submodule when `name` is one, else to the package.
            targets = {f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names}
            for target in sorted(targets):
                yield Arrow(module, target, shown, node.lineno)


def forbidden(arrow: Arrow) -> str | None:
    """Return why the arrow must not exist, or None when it may."""
    source, target = arrow.source, arrow.target
    if _within(source, CORE):
        if _within(target, *FLASK):
            return "the verification core imports flask"
        if _within(target, "wallet.models"):
            return "the verification core imports the models"
        if _within(target, "wallet.routes"):
            return "the verification core imports routes"
        if _within(target, "wallet.services") and not _within(target, CORE):
            return "the verification core imports a service outside the core"
    if _within(source, "wallet.routes"):
        if _within(target, FETCHER):
            return "a route imports the fetcher (ask the wiring for it; fetch in a service)"
        if _within(target, CORE):
            return "a route imports the verification core (call a service)"
        if _within(target, "wallet.routes") and not _may_import_route(source, target):
            return "a route module imports another route module"
    if _within(source, "wallet.services"):
        if _within(target, *FLASK, *WERKZEUG_REQUEST):
            return "a service imports the request machinery"
        if _within(target, "wallet.routes"):
            return "a service imports routes"
    if _within(target, *HTTP_CLIENTS) and not _within(source, FETCHER):
        return "an HTTP client outside the guarded fetcher"
    if _within(source, "wallet.models"):
        if _within(target, "wallet.services"):
            return "a model imports services"
        if _within(target, "wallet.routes"):
            return "a model imports routes"
    return None


def _may_import_route(source: str, target: str) -> bool:
    # A module may import its own package's __init__ (wallet.routes.api.credentials -> wallet.routes.api,
    # for `bp`), and a package's __init__ its own modules (to register them on its blueprint).
    def is_package(module: str) -> bool:
        return module in MODULES and MODULES[module].name == "__init__.py"

    return source == target or (_within(source, target) and is_package(target)) or (
        _within(target, source) and is_package(source))


def all_arrows() -> list[Arrow]:
    return [arrow for module, path in MODULES.items()
            for arrow in arrows_in(module, path.read_text(encoding="utf-8"), shown=str(path.relative_to(ROOT)),
                                   is_package=path.name == "__init__.py")]


def violations(arrows: list[Arrow]) -> list[tuple[Arrow, str]]:
    return [(arrow, reason) for arrow in arrows if (reason := forbidden(arrow)) is not None]


def test_architecture_forbidden_imports_none_beyond_known() -> None:
    found = [(arrow, reason) for arrow, reason in violations(all_arrows())
             if (arrow.source, arrow.target) not in KNOWN]
    assert not found, "Forbidden imports (see docs/architecture.md):\n" + "\n".join(
        f"  {arrow}  ({reason})" for arrow, reason in found)


def test_architecture_known_violations_all_still_exist() -> None:
    present = {(arrow.source, arrow.target) for arrow, _ in violations(all_arrows())}
    fixed = sorted(KNOWN - present)
    assert not fixed, "Fixed, so remove from KNOWN in tests/test_architecture.py:\n" + "\n".join(
        f"  {source} -> {target}" for source, target in fixed)


# The checker itself: each rule catches its arrow, relative imports resolve, allowed arrows pass.

def _arrows_from(module: str, code: str, *, is_package: bool = False) -> list[Arrow]:
    return list(arrows_in(module, code, shown="example.py", is_package=is_package))


FLASK_IN_CORE = "the verification core imports flask"
MODELS_IN_CORE = "the verification core imports the models"
SERVICE_IN_CORE = "the verification core imports a service outside the core"
FETCHER_IN_ROUTE = "a route imports the fetcher (ask the wiring for it; fetch in a service)"
CORE_IN_ROUTE = "a route imports the verification core (call a service)"
ROUTE_IN_ROUTE = "a route module imports another route module"
REQUEST_IN_SERVICE = "a service imports the request machinery"


@pytest.mark.parametrize(("module", "code", "reason"), [
    (f"{CORE}.ob3", "from flask import current_app", FLASK_IN_CORE),
    (f"{CORE}.ob3", "def f():\n    from wallet.models import Credential", MODELS_IN_CORE),
    (f"{CORE}.ob3", "from wallet.services import importing", SERVICE_IN_CORE),
    (f"{CORE}.ob3", "from ..errors import WalletError", SERVICE_IN_CORE),
    (f"{CORE}.ob3", "import wallet.routes.api", "the verification core imports routes"),
    ("wallet.routes.credentials", "from wallet.services.http import fetch", FETCHER_IN_ROUTE),
    ("wallet.routes.credentials", "import wallet.services.verification.ob2", CORE_IN_ROUTE),
    ("wallet.routes.credentials", "from wallet.services.verification import FORMATS", CORE_IN_ROUTE),
    ("wallet.routes.api.portfolios", "from wallet.routes import credentials", ROUTE_IN_ROUTE),
    ("wallet.routes.api.portfolios", "from . import credentials", ROUTE_IN_ROUTE),
    ("wallet.routes.auth", "from wallet.routes.api import bp", ROUTE_IN_ROUTE),
    ("wallet.services.importing", "from flask_login import current_user", REQUEST_IN_SERVICE),
    ("wallet.services.importing", "from werkzeug.exceptions import NotFound", REQUEST_IN_SERVICE),
    ("wallet.services.importing", "from wallet.routes.api import bp", "a service imports routes"),
    ("wallet.models.credential", "from wallet.services import blobs", "a model imports services"),
    ("wallet.models.credential", "import wallet.routes", "a model imports routes"),
    ("wallet.services.images", "import requests", "an HTTP client outside the guarded fetcher"),
    ("wallet.cli", "from urllib.request import urlopen", "an HTTP client outside the guarded fetcher"),
])
def test_architecture_forbidden_arrow_is_reported(module: str, code: str, reason: str) -> None:
    arrows = _arrows_from(module, code)
    assert [forbidden(arrow) for arrow in arrows] == [reason]


@pytest.mark.parametrize(("module", "code"), [
    (f"{CORE}.ob3", "from . import result"),
    (f"{CORE}.ob3", "from wallet.services.verification.fetching import Fetch"),
    ("wallet.routes.api.credentials", "from wallet.routes.api import bp, require_token"),
    ("wallet.routes.api.credentials", "from . import bp"),
    ("wallet.routes.credentials", "from wallet.services import importing"),
    ("wallet.services.passwords", "from werkzeug.security import check_password_hash"),
    ("wallet.models.credential", "from wallet.db import Base"),
    ("wallet.services.http", "from urllib3.connection import HTTPSConnection"),
])
def test_architecture_allowed_arrow_passes(module: str, code: str) -> None:
    assert [forbidden(arrow) for arrow in _arrows_from(module, code)] == [None]


def test_architecture_package_init_may_import_its_own_modules() -> None:
    arrows = _arrows_from("wallet.routes.api", "from wallet.routes.api import credentials",
                          is_package=True)
    assert [forbidden(arrow) for arrow in arrows] == [None]


def test_architecture_relative_import_resolves_to_the_submodule() -> None:
    arrows = _arrows_from(f"{CORE}.ob3", "from .. import http\nfrom . import ob2")
    assert [arrow.target for arrow in arrows] == [FETCHER, f"{CORE}.ob2"]


def test_architecture_code_cites_only_the_repositorys_own_docs() -> None:
    # The repository stands alone: comments cite docs/ files that exist, never documents kept elsewhere.
    root = Path(__file__).resolve().parent.parent
    cited, bare = set(), []
    for path in [*root.joinpath("wallet").rglob("*"), *root.joinpath("tests").rglob("*.py"), *root.joinpath("bench").rglob("*.py")]:
        if path.suffix not in {".py", ".html", ".js", ".css"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        cited.update(re.findall(r"docs/([\w-]+\.md)", text))
        bare += [f"{path.relative_to(root)}: {m}" for m in re.findall(r"(?<![\w/])(?:security|standards|DESIGN|STYLE)\.md", text)]
    assert bare == []
    assert cited and sorted(name for name in cited if not root.joinpath("docs", name).exists()) == []
