"""`wallet verify` over many hosted OB 2.0 URLs, beside the 1EdTech `openbadges` validator, in one run.

Run: .venv/bin/python bench/ob2_validator.py [--urls 1000] [--issuers 10] [--base-ref REF] [--skip-validator]

Serves N distinct hosted OB 2.0 assertions (with their BadgeClass, issuer profile and badge image,
over --issuers issuers) from a separate process on 127.0.0.1 (HTTP/1.1, keep-alive), then verifies
every URL, one after another, each verifier in a process of its own, after one warm-up URL:
- Wallet: `wallet verify --json --recipient EMAIL URL...` (the CLI's code path, in-process through
  Click's runner) with the guarded fetcher, private addresses allowed for loopback;
- Wallet at --base-ref (default: the commit before the fetcher kept connections alive), the same
  command from that commit's source tree, so the figure shows before and after;
- the 1EdTech reference validator (`openbadges` 1.1.2 from PyPI, `openbadges.verify(url,
  recipient_profile)`), installed into its own virtualenv under ~/.cache/wallet-bench (never into
  the project's). On Python 3.11 it needs newer releases of three of its pinned dependencies, which
  the script installs over the pins: pycryptodome 3.6.6 has Python 2 literals (`0xffffffffL`, a
  SyntaxError), python-jose 3.0.1 and pytz 2017.2 import `collections.Mapping` (removed in Python
  3.10). It fetches the OB 2.0 JSON-LD context from w3id.org; with no network here, the same pinned
  context Wallet uses (wallet/services/verification/contexts/) is handed to its `requests` sessions
  for that one URL, as its own cache would after a first fetch. Every other document it reads comes
  over loopback like Wallet's.
Each verifier must find every URL valid. Reported: verifications per second, and the ratios.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench.loopback import DocumentProcess, listening_socket, wait_for  # noqa: E402

BASE_REF = "87b45c4"  # the last commit before the fetcher kept connections alive
OB2 = "https://w3id.org/openbadges/v2"
EMAIL = "learner@example.org"
VALIDATOR = ["openbadges==1.1.2"]
# Newer releases of pins that do not import on Python 3.11 (see the docstring).
VALIDATOR_FIXES = ["pycryptodome>=3.20", "python-jose>=3.3,<4", "pytz>=2023"]
CONTEXT = ROOT / "wallet" / "services" / "verification" / "contexts" / "w3id.org_openbadges_v2.json"

VALIDATOR_RUNNER = textwrap.dedent('''
    import io, json, sys, time
    import requests
    from requests.adapters import HTTPAdapter

    CONTEXT_URL, CONTEXT = sys.argv[2], open(sys.argv[3], "rb").read()

    class ContextAdapter(HTTPAdapter):
        """Answer the one context URL (w3id.org is not reachable here) with the pinned copy."""
        def send(self, request, **kwargs):
            response = requests.Response()
            response.status_code, response.url, response.request = 200, request.url, request
            response.headers["Content-Type"] = "application/ld+json"
            response.raw, response.encoding = io.BytesIO(CONTEXT), "utf-8"
            return response

    _init = requests.Session.__init__
    def init(self, *args, **kwargs):
        _init(self, *args, **kwargs)
        self.mount(CONTEXT_URL, ContextAdapter())
    requests.Session.__init__ = init

    from openbadges import verify
    urls = json.load(open(sys.argv[1]))
    profile = {"email": sys.argv[4]}
    warm = verify(urls[0], recipient_profile=profile)["report"]
    assert warm["valid"], warm
    start = time.perf_counter()
    valid = sum(1 for url in urls[1:] if verify(url, recipient_profile=profile)["report"]["valid"])
    print(json.dumps({"count": len(urls) - 1, "valid": valid, "seconds": time.perf_counter() - start}))
''')

WALLET_RUNNER = textwrap.dedent('''
    import json, logging, sys, tempfile, time
    import wallet
    from wallet import create_app

    urls, email = json.load(open(sys.argv[1])), sys.argv[2]
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder}/wallet.db", "INSTANCE_PATH": folder,
                          "SECRET_KEY": "bench", "ALLOW_PRIVATE_NETWORK": True})
        logging.getLogger("wallet").setLevel(logging.WARNING)  # a line per fetch would be measured too
        runner = app.test_cli_runner()
        warm = runner.invoke(args=["verify", "--json", "--recipient", email, urls[0]])
        assert warm.exit_code == 0, warm.output
        start = time.perf_counter()
        result = runner.invoke(args=["verify", "--json", "--recipient", email, *urls[1:]])
        seconds = time.perf_counter() - start
        lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        valid = sum(1 for line in lines if line.get("status") == "valid")
        print(json.dumps({"count": len(urls) - 1, "valid": valid, "seconds": seconds,
                          "source": wallet.__file__}))
''')


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (29, 78, 216)).save(buffer, "PNG")
    return buffer.getvalue()


def documents(origin: str, count: int, issuers: int) -> tuple[dict[str, tuple[bytes, str]], list[str]]:
    served: dict[str, tuple[bytes, str]] = {}
    image = png()
    for number in range(issuers):
        base = f"{origin}/i{number}"
        served[f"/i{number}/issuer"] = (json.dumps({
            "@context": OB2, "id": f"{base}/issuer", "type": "Issuer", "name": f"Academy {number}",
            "url": f"{base}/", "email": f"badges{number}@issuer.example"}).encode(), "application/json")
        served[f"/i{number}/badge"] = (json.dumps({
            "@context": OB2, "id": f"{base}/badge", "type": "BadgeClass", "name": f"Robotics {number}",
            "description": "Built a robot.", "image": f"{base}/badge.png",
            "criteria": {"narrative": "Build a robot."}, "issuer": f"{base}/issuer"}).encode(), "application/json")
        served[f"/i{number}/badge.png"] = (image, "image/png")
    urls = []
    for serial in range(count + 1):  # one more: the warm-up
        number = serial % issuers
        url = f"{origin}/i{number}/assertions/{serial}"
        served[f"/i{number}/assertions/{serial}"] = (json.dumps({
            "@context": OB2, "type": "Assertion", "id": url,
            "recipient": {"type": "email", "hashed": False, "identity": EMAIL},
            "badge": f"{origin}/i{number}/badge", "issuedOn": "2026-01-05T10:00:00Z",
            "verification": {"type": "HostedBadge"}}).encode(), "application/json")
        urls.append(url)
    return served, urls


def validator_python() -> Path:
    """Return the Python of a virtualenv holding the validator, creating it on first use."""
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wallet-bench" / "openbadges-venv"
    python = home / "bin" / "python"
    marker = home / "installed.txt"
    wanted = " ".join(VALIDATOR + VALIDATOR_FIXES)
    if not marker.exists() or marker.read_text() != wanted:
        print(f"installing the validator into {home} ...", flush=True)
        venv.create(home, with_pip=True, clear=True)
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, *VALIDATOR], check=True)
        subprocess.run([*pip, *VALIDATOR_FIXES], check=True)
        marker.write_text(wanted)
    return python


def run(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    # From an empty folder: `python -c` puts the working directory first on sys.path.
    with tempfile.TemporaryDirectory() as elsewhere:
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=elsewhere)
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def base_tree(ref: str, folder: Path) -> Path:
    """Unpack the source tree of git commit `ref` into `folder`."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "wallet"], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=1000)
    parser.add_argument("--issuers", type=int, default=10)
    parser.add_argument("--base-ref", default=BASE_REF, help="git commit to measure `wallet verify` at too ('' to skip)")
    parser.add_argument("--skip-validator", action="store_true")
    parser.add_argument("--naive-server", action="store_true",
                        help="answer as http.server does by default: headers and body in two writes, Nagle on")
    args = parser.parse_args()

    python = None if args.skip_validator else validator_python()
    with tempfile.TemporaryDirectory() as folder:
        sock = listening_socket()  # the port first: the documents name it
        served, urls = documents(f"http://127.0.0.1:{sock.getsockname()[1]}", args.urls, args.issuers)
        server = DocumentProcess(served, sock, naive=args.naive_server)
        try:
            wait_for(server.base_url)
            url_file = Path(folder) / "urls.json"
            url_file.write_text(json.dumps(urls))
            rows: dict[str, dict[str, float]] = {}
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            rows["wallet verify"] = run([sys.executable, "-c", WALLET_RUNNER, str(url_file), EMAIL], env)
            if args.base_ref:
                tree = base_tree(args.base_ref, Path(folder) / "base")
                rows[f"wallet verify at {args.base_ref}"] = run(
                    [sys.executable, "-c", WALLET_RUNNER, str(url_file), EMAIL], {**os.environ, "PYTHONPATH": str(tree)})
                assert str(tree) in str(rows[f"wallet verify at {args.base_ref}"]["source"])
            if python is not None:
                rows["1EdTech openbadges validator"] = run(
                    [str(python), "-c", VALIDATOR_RUNNER, str(url_file), OB2, str(CONTEXT), EMAIL])
        finally:
            server.close()

    rates = {}
    for label, row in rows.items():
        rates[label] = row["count"] / row["seconds"]
        print(f"{label:<40} {row['valid']:>5}/{row['count']} valid  {row['seconds']:7.1f} s  {rates[label]:8.1f}/s",
              flush=True)
        if row["valid"] != row["count"]:
            raise SystemExit(f"{label}: not every URL was valid")
    validator = rates.get("1EdTech openbadges validator")
    if validator:
        for label, rate in rates.items():
            if label.startswith("wallet"):
                print(f"{label} verifies {rate / validator:.1f}x the validator's rate (goal: 5x or more)")
    if args.base_ref:
        before = rates[f"wallet verify at {args.base_ref}"]
        print(f"wallet verify: {rates['wallet verify'] / before:.2f}x its rate at {args.base_ref}")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
