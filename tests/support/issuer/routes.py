"""The test issuer's web app: metadata, offers by reference, the token, nonce, credential and deferred
credential endpoints of OID4VCI 1.0, JWT VC Issuer Metadata and the Token Status List."""
from __future__ import annotations

import html
import json
import time
from typing import TYPE_CHECKING, Any

from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error
from flask import Flask, Response, request
from jwcrypto.common import JWException
from jwcrypto.jwk import JWK
from jwcrypto.jws import JWS

from tests.support.issuer import formats
from tests.support.issuer.formats import Holder
from tests.support.issuer.oauth import make_authorization_server
from tests.support.issuer.specs import (AUTHORIZATION_DETAILS_TYPE, CONFIGURATIONS, JWT_VC, LDP_VC,
                                        PRE_AUTHORIZED_GRANT, PROOF_TYP, STATUS_LIST_MEDIA_TYPE, configurations,
                                        error, no_store)
from wallet.services.verification import make_context
from wallet.services.verification.errors import WalletError
from wallet.services.verification.keys import resolve_verification_method

if TYPE_CHECKING:
    from tests.support.issuer import Grant, TestIssuer

PROOF_ALGS = ("EdDSA", "ES256")


class ProofError(Exception):
    """A key proof the issuer refuses; `code` is invalid_proof or invalid_nonce (OID4VCI 1.0 §8.3.1.2)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code


def make_app(issuer: TestIssuer) -> Flask:
    """Return the issuer's Flask app (its authorization server is `app.extensions["oauth_server"]`)."""
    app = Flask(f"test-issuer-{id(issuer)}")
    server = make_authorization_server(app, issuer)
    app.extensions["oauth_server"] = server

    @app.before_request
    def record_and_fail() -> Any:
        issuer.requests.append((request.method, request.full_path.rstrip("?"), dict(request.headers)))
        fault = issuer.take_fault(request.path)
        if fault == "500":
            return error("server_error", "The issuer failed.", 500)
        if fault == "bad_json":
            return Response(b'{"credential_issuer": ', status=200, mimetype="application/json")
        if fault == "slow":
            time.sleep(issuer.slow_seconds)
        if fault == "hang":
            issuer.hang()
            return error("server_error", "The issuer gave up.", 503)
        return None

    # -- metadata ----------------------------------------------------------------------------

    @app.get("/.well-known/openid-credential-issuer")
    def issuer_metadata() -> Any:
        # OID4VCI 1.0 §12.2.4. The issuer is its own authorization server, and says so.
        return {
            "credential_issuer": issuer.credential_issuer,
            "authorization_servers": issuer.endpoint("authorization_servers", "")
            if "authorization_servers" in issuer.endpoint_overrides else [issuer.base_url],
            "credential_endpoint": issuer.endpoint("credential_endpoint", "/credential"),
            "nonce_endpoint": issuer.endpoint("nonce_endpoint", "/nonce"),
            "deferred_credential_endpoint": issuer.endpoint("deferred_credential_endpoint", "/deferred_credential"),
            "batch_credential_issuance": {"batch_size": 2},
            "display": [{"name": issuer.name, "locale": "en-US", "logo": {"uri": issuer.url("/logo.png")}}],
            "credential_configurations_supported": configurations(issuer.base_url, issuer.vct),
        }

    @app.get("/.well-known/oauth-authorization-server")
    def authorization_server_metadata() -> Any:
        # RFC 8414 §2, with OID4VCI 1.0 §12.3 `pre-authorized_grant_anonymous_access_supported`.
        return {
            "issuer": issuer.base_url,
            "authorization_endpoint": issuer.endpoint("authorization_endpoint", "/authorize"),
            "token_endpoint": issuer.endpoint("token_endpoint", "/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", PRE_AUTHORIZED_GRANT],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(CONFIGURATIONS),
            "authorization_details_types_supported": [AUTHORIZATION_DETAILS_TYPE],
            "pre-authorized_grant_anonymous_access_supported": True,
        }

    @app.get("/.well-known/jwt-vc-issuer")
    def jwt_vc_issuer_metadata() -> Any:
        # SD-JWT VC §5 (JWT VC Issuer Metadata): `issuer` equals the `iss` of the SD-JWT VCs, keys in `jwks`.
        return {"issuer": issuer.base_url, "jwks": {"keys": [issuer.sd_jwt_key.export_public(as_dict=True)]}}

    @app.get("/vct/learning-credential")
    def type_metadata() -> Any:
        # SD-JWT VC §6 (Type Metadata): display names and claim labels by locale.
        def label(en: str, de: str) -> list[dict[str, str]]:
            return [{"locale": "en-US", "label": en}, {"locale": "de-DE", "label": de}]
        return {
            "vct": issuer.vct, "name": "Learning Credential", "description": "A course passed at the university.",
            "display": [{"locale": "en-US", "name": "Learning Credential"}, {"locale": "de-DE", "name": "Lernnachweis"}],
            "claims": [{"path": ["given_name"], "display": label("Given name", "Vorname")},
                       {"path": ["family_name"], "display": label("Family name", "Nachname")},
                       {"path": ["email"], "display": label("Email address", "E-Mail-Adresse")},
                       {"path": ["title"], "display": label("Course", "Kurs")},
                       {"path": ["credits"], "display": label("ECTS credits", "ECTS-Punkte")},
                       {"path": ["learning_outcomes", None], "display": label("Learning outcome", "Lernergebnis")}],
        }

    @app.get("/status-lists/1")
    def status_list() -> Any:
        token = issuer.status_list.token(iss=issuer.base_url, key=issuer.sd_jwt_key, kid=issuer.sd_jwt_key.kid)
        return Response(token, mimetype=STATUS_LIST_MEDIA_TYPE, headers={"Cache-Control": "no-store"})

    @app.get("/offers/<offer_id>")
    def offer_by_reference(offer_id: str) -> Any:
        # OID4VCI 1.0 §4.1.3: the offer as JSON at credential_offer_uri.
        document = issuer.offers.get(offer_id)
        return (document, 200) if document else ({"error": "not found"}, 404)

    @app.get("/logo.png")
    def logo() -> Any:
        from tests.support.credentials import png_image
        return Response(png_image("darkgreen"), mimetype="image/png")

    # -- OAuth 2.0 ---------------------------------------------------------------------------

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        issuer.authorization_requests.append(dict(request.values.items()))
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as oauth_error:
            if oauth_error.redirect_uri:
                return server.handle_error_response(None, oauth_error)
            return _page("Authorization error", f"<p id='error'>{html.escape(oauth_error.error)}: "
                         f"{html.escape(oauth_error.description or '')}</p>"), 400
        ids, problem = _requested_configurations(issuer)
        if problem:
            return _page("Authorization error", f"<p id='error'>invalid_request: {html.escape(problem)}</p>"), 400
        if request.method == "POST":
            approved = request.form.get("decision") == "approve"
            return server.create_authorization_response(grant=grant, grant_user=ids if approved else None)
        if issuer.consent == "deny":
            return server.create_authorization_response(grant=grant, grant_user=None)
        if issuer.consent == "auto":
            return server.create_authorization_response(grant=grant, grant_user=ids)
        items = "".join(f"<li>{html.escape(i)}</li>" for i in ids)
        return _page(f"{issuer.name}: issue credentials", (
            f"<h1>{html.escape(issuer.name)} will issue to your wallet</h1><ul>{items}</ul>"
            f"<form method='post'><button name='decision' value='approve'>Approve</button>"
            f"<button name='decision' value='deny'>Deny</button></form>"))

    @app.post("/token")
    def token() -> Any:
        if request.form.get("grant_type") == PRE_AUTHORIZED_GRANT:
            response = _pre_authorized_token(issuer)
        else:
            response = server.create_token_response()
            response.headers["Cache-Control"] = "no-store"
        issuer.token_requests.append({"form": dict(request.form.items()), "status": response.status_code,
                                      "response": response.get_json(silent=True)})
        return response

    @app.post("/nonce")
    def nonce() -> Any:
        # OID4VCI 1.0 §7.2: a fresh c_nonce, not to be cached.
        return no_store({"c_nonce": issuer.new_nonce()})

    # -- credentials -------------------------------------------------------------------------

    @app.post("/credential")
    def credential() -> Any:
        grant, failure = _bearer(issuer)
        if failure is not None:
            return failure
        body = request.get_json(silent=True)
        issuer.credential_requests.append({"body": body, "access_token": grant.access_token})
        if not isinstance(body, dict):
            return error("invalid_credential_request", "The body must be a JSON object.")
        identifier = body.get("credential_identifier")
        configuration_id = body.get("credential_configuration_id")
        if (identifier is None) == (configuration_id is None):
            return error("invalid_credential_request",
                         "Exactly one of credential_configuration_id and credential_identifier is required.")
        configuration_id = configuration_id or identifier
        if configuration_id not in CONFIGURATIONS:
            return error("unknown_credential_configuration", f"Unknown configuration {configuration_id!r}.")
        if configuration_id not in grant.configuration_ids:
            return error("invalid_credential_request", "The access token does not cover this credential.")
        proofs = body.get("proofs")
        if "proof" in body:
            return error("invalid_credential_request", "OID4VCI 1.0 sends key proofs in `proofs`.")
        if not isinstance(proofs, dict) or list(proofs) != ["jwt"] or not isinstance(proofs["jwt"], list) \
                or not 1 <= len(proofs["jwt"]) <= 2:
            return error("invalid_proof", "`proofs` must hold one or two `jwt` key proofs.")
        holders = []
        for proof in proofs["jwt"]:
            try:
                holders.append(_check_proof(issuer, proof, grant))
            except ProofError as refused:
                return error(refused.code, str(refused))
        if issuer.bind_to_other_key:
            holders = [Holder.fresh() for _ in holders]
        if issuer.defer_polls is not None:
            # OID4VCI 1.0 §8.3: 202 with a transaction_id when the credential is not ready.
            transaction_id = generate_token(24)
            from tests.support.issuer import Deferred
            with issuer.lock:
                issuer.deferred[transaction_id] = Deferred(configuration_id, holders, issuer.defer_polls)
            return no_store({"transaction_id": transaction_id, "interval": issuer.interval}, 202)
        return no_store({"credentials": [{"credential": _issue(issuer, configuration_id, h)} for h in holders]})

    @app.post("/deferred_credential")
    def deferred_credential() -> Any:
        grant, failure = _bearer(issuer)
        if failure is not None:
            return failure
        body = request.get_json(silent=True)
        transaction_id = body.get("transaction_id") if isinstance(body, dict) else None
        with issuer.lock:
            pending = issuer.deferred.get(transaction_id) if isinstance(transaction_id, str) else None
            if pending is None or pending.delivered:
                return error("invalid_transaction_id", "Unknown or already delivered transaction_id.")
            if pending.polls_left > 0:
                pending.polls_left -= 1
                # OID4VCI 1.0 §9.2: still pending: 202 with the transaction_id and a new interval.
                return no_store({"transaction_id": transaction_id, "interval": issuer.interval}, 202)
            pending.delivered = True
        return no_store({"credentials": [{"credential": _issue(issuer, pending.configuration_id, holder)}
                                         for holder in pending.holders]})

    return app


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"</head><body><main>{body}</main></body></html>")


def _requested_configurations(issuer: TestIssuer) -> tuple[tuple[str, ...], str | None]:
    """Read what an authorization request asks for (OID4VCI 1.0 §5.1.1 authorization_details, §5.1.2 scope,
    §5.1.3 issuer_state); an empty answer is a problem."""
    ids: list[str] = []
    raw_details = request.values.get("authorization_details")
    if raw_details:
        try:
            details = json.loads(raw_details)
        except ValueError:
            return (), "authorization_details is not JSON."
        if not isinstance(details, list):
            return (), "authorization_details must be an array."
        for detail in details:
            if not isinstance(detail, dict) or detail.get("type") != AUTHORIZATION_DETAILS_TYPE \
                    or detail.get("credential_configuration_id") not in CONFIGURATIONS:
                return (), "Each authorization_details entry must be an openid_credential with a known " \
                           "credential_configuration_id."
            ids.append(detail["credential_configuration_id"])
    for scope in (request.values.get("scope") or "").split():
        if scope in CONFIGURATIONS:
            ids.append(scope)
    state = request.values.get("issuer_state")
    if state:
        offered = issuer.issuer_states.get(state)
        if offered is None:
            return (), "Unknown issuer_state."
        ids = ids or list(offered)
    if not ids:
        return (), "Nothing asked for: send authorization_details, a scope or the offer's issuer_state."
    return tuple(dict.fromkeys(ids)), None


def _pre_authorized_token(issuer: TestIssuer) -> Response:
    """The Token Request of the Pre-Authorized Code Flow (OID4VCI 1.0 §6.1, §6.3 errors)."""
    code = request.form.get("pre-authorized_code")
    tx_code = request.form.get("tx_code")
    with issuer.lock:
        entry = issuer.pre_authorized.get(code or "")
        if entry is None or entry.used or entry.burnt:
            return error("invalid_grant", "The pre-authorized code is unknown, used or expired.")
        if entry.tx_code is None:
            if tx_code is not None:
                return error("invalid_request", "This offer has no transaction code, but one was sent.")
        elif tx_code is None:
            return error("invalid_request", "This offer needs its transaction code (tx_code).")
        elif tx_code != entry.tx_code:
            entry.attempts += 1
            if entry.attempts >= issuer.max_tx_code_attempts:
                entry.burnt = True
            return error("invalid_grant", "The transaction code is wrong.")
        entry.used = True
    access_token = generate_token(42)
    issuer.grant_token(access_token, entry.configuration_ids, flow="pre-authorized_code",
                       expires_in=issuer.access_token_lifetime)
    return no_store({"access_token": access_token, "token_type": "Bearer", "expires_in": issuer.access_token_lifetime})


def _bearer(issuer: TestIssuer) -> tuple[Grant, None] | tuple[None, Response]:
    """Authenticate the bearer access token (RFC 6750 §3.1 errors)."""
    header = request.headers.get("Authorization", "")
    raw = header[7:].strip() if header[:7].lower() == "bearer " else ""
    grant = issuer.grants.get(raw) if raw else None
    if grant is None or grant.is_expired():
        challenge = 'Bearer error="invalid_token"' if raw else "Bearer"
        return None, error("invalid_token", "The access token is missing, unknown or expired.", 401,
                           {"WWW-Authenticate": challenge})
    return grant, None


def _check_proof(issuer: TestIssuer, proof: Any, grant: Grant) -> Holder:
    """Check a `jwt` key proof (OID4VCI 1.0 Appendix F.1, F.4) and return the holder it proves."""
    if not isinstance(proof, str):
        raise ProofError("invalid_proof", "A jwt key proof must be a compact JWT.")
    jws = JWS()
    try:
        jws.deserialize(proof)
    except JWException as problem:
        raise ProofError("invalid_proof", f"The key proof is not a JWS: {problem}") from problem
    header = jws.jose_header
    if header.get("typ") != PROOF_TYP:
        raise ProofError("invalid_proof", f"The key proof's typ must be {PROOF_TYP}.")
    alg = header.get("alg")
    if alg not in PROOF_ALGS:
        raise ProofError("invalid_proof", f"The key proof's alg must be one of {', '.join(PROOF_ALGS)}.")
    named = [name for name in ("kid", "jwk", "x5c") if name in header]
    if len(named) != 1:
        raise ProofError("invalid_proof", "The key proof must name its key by exactly one of kid, jwk, x5c.")
    holder = _holder_key(header)
    try:
        jws.allowed_algs = [alg]
        jws.verify(holder.jwk, alg=alg)
    except JWException as problem:
        raise ProofError("invalid_proof", "The key proof's signature does not verify.") from problem
    try:
        claims = json.loads(jws.payload)
    except ValueError as problem:
        raise ProofError("invalid_proof", "The key proof's payload is not JSON.") from problem
    if not isinstance(claims, dict) or claims.get("aud") != issuer.credential_issuer:
        raise ProofError("invalid_proof", "The key proof's aud must be the Credential Issuer Identifier.")
    iat = claims.get("iat")
    if not isinstance(iat, int) or abs(time.time() - iat) > issuer.proof_max_age:
        raise ProofError("invalid_proof", "The key proof's iat is missing or not recent.")
    if not issuer.use_nonce(claims.get("nonce")):
        # Appendix F.4: the nonce must be one the issuer gave (§7) and it is spent once used.
        raise ProofError("invalid_nonce", "The key proof's nonce is unknown or was used before.")
    return holder


def _holder_key(header: dict[str, Any]) -> Holder:
    if "x5c" in header:
        raise ProofError("invalid_proof", "This issuer takes did:key, did:jwk or jwk key proofs, not x5c.")
    if "jwk" in header:
        try:
            key = JWK(**header["jwk"])
        except (JWException, TypeError, ValueError) as problem:
            raise ProofError("invalid_proof", "The key proof's jwk is not a key.") from problem
        if key.has_private:
            raise ProofError("invalid_proof", "The key proof's jwk holds a private key.")
        return Holder(formats.did_jwk(key), key)
    kid = header["kid"]
    if not isinstance(kid, str) or not kid.startswith(("did:key:", "did:jwk:")) or "#" not in kid:
        raise ProofError("invalid_proof", "The key proof's kid must be a did:key or did:jwk DID URL.")
    try:
        resolved = resolve_verification_method(kid, issuer_id=None, context=make_context(), purpose="authentication")
    except WalletError as problem:
        raise ProofError("invalid_proof", f"The key proof's kid does not resolve: {problem}") from problem
    return Holder(kid.split("#", 1)[0], resolved.jwk)


def _issue(issuer: TestIssuer, configuration_id: str, holder: Holder) -> str | dict[str, Any]:
    """Sign the credential of `configuration_id` for `holder` and record it."""
    from tests.support.issuer import Issued
    email = issuer.learner["email"]
    status_index = None
    if configuration_id == JWT_VC:
        credential: str | dict[str, Any] = formats.jwt_vc_json(issuer.jwt_issuer, holder, email=email,
                                                               name=issuer.badge_name)
    elif configuration_id == LDP_VC:
        credential = formats.ldp_vc(issuer.ld_issuer, holder, email=email, name=issuer.badge_name)
    else:
        status = None
        if issuer.status_list_enabled:
            with issuer.lock:
                status_index = issuer.status_list.allocate()
            # Token Status List §6.1: the Referenced Token's `status` claim.
            status = {"status_list": {"idx": status_index, "uri": issuer.status_list.uri}}
        typ = configurations(issuer.base_url, issuer.vct)[configuration_id]["format"]
        credential = formats.sd_jwt_vc(iss=issuer.base_url, key=issuer.sd_jwt_key, kid=issuer.sd_jwt_key.kid,
                                       typ=typ, vct=issuer.vct, holder=holder, learner=issuer.learner,
                                       status=status)
        if issuer.tamper_disclosure:
            credential = formats.tamper_disclosure(credential)
    with issuer.lock:
        issuer.issued.append(Issued(configuration_id, credential, holder, status_index))
    return credential
