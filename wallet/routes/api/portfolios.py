"""Portfolios and credential share links over the API; a portfolio's Verifiable Presentation."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, request

from wallet.db import get_session
from wallet.inputs import is_id
from wallet.models.credential import RECIPIENT_MISMATCH, Credential
from wallet.models.portfolio import CredentialShare, Portfolio
from wallet.routes.api import api_user, bp, require_token
from wallet.services import portfolios as service
from wallet.services import originals, presentations, public_view, share_links, sharing
from wallet.services.errors import ValidationError
from wallet.web import external_url
from wallet.wiring import collaborators

_TEXT_FIELDS = ("title", "headline", "about", "contact_email", "contact_url")
_PORTFOLIO_FIELDS = frozenset({*_TEXT_FIELDS, "show_contact", "show_originals", "visibility", "expires_at", "credentials",
                               "pathways"})
_SHARE_FIELDS = frozenset({"include_evidence", "expires_at", "show_originals"})


def _json_body(allowed: frozenset[str]) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with Content-Type: application/json.")
    unknown = sorted(set(body) - allowed)
    if unknown:
        # F11: only the fields listed can be set; anything else is refused rather than ignored.
        raise ValidationError(f"These fields cannot be set: {', '.join(unknown)}.")
    return body


def _expiry(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError('"expires_at" must be an ISO 8601 date-time with a time zone, or null.')
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError('"expires_at" must be an ISO 8601 date-time with a time zone, or null.') from None
    if moment.tzinfo is None:
        raise ValidationError('"expires_at" needs a time zone, e.g. 2027-06-30T23:59:59Z.')
    return moment


def _items(body: dict[str, Any]) -> tuple[list[tuple[int, bool]], list[int]]:
    credentials, pathways = body.get("credentials", []), body.get("pathways", [])
    if not isinstance(credentials, list) or not isinstance(pathways, list):
        raise ValidationError('"credentials" and "pathways" must be lists.')
    chosen: list[tuple[int, bool]] = []
    for entry in credentials:
        if is_id(entry):
            chosen.append((entry, True))
        elif isinstance(entry, dict) and is_id(entry.get("id")) and isinstance(entry.get("include_evidence", True), bool):
            chosen.append((entry["id"], entry.get("include_evidence", True)))
        else:
            raise ValidationError('Each of "credentials" is a credential id or {"id": ..., "include_evidence": true|false}.')
    if not all(is_id(p) for p in pathways):
        raise ValidationError('"pathways" must be a list of pathway ids.')
    return chosen, pathways


def _apply(portfolio_id: int, body: dict[str, Any]) -> Portfolio:
    session, owner_id = get_session(), api_user().id
    for name in _TEXT_FIELDS:
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise ValidationError(f'"{name}" must be text.')
    for name in ("show_contact", "show_originals"):
        if name in body and not isinstance(body[name], bool):
            raise ValidationError(f'"{name}" must be true or false.')
    service.update_portfolio(session, owner_id, portfolio_id, title=body.get("title"), headline=body.get("headline"),
                             about=body.get("about"), show_contact=body.get("show_contact"),
                             contact_email=body.get("contact_email"), contact_url=body.get("contact_url"))
    if "credentials" in body or "pathways" in body:
        portfolio = service.get_portfolio(session, owner_id, portfolio_id)
        if "credentials" not in body:
            body["credentials"] = [{"id": i.credential_id, "include_evidence": i.include_evidence}
                                   for i in portfolio.credential_items]
        if "pathways" not in body:
            body["pathways"] = [i.pathway_id for i in portfolio.pathway_items]
        credentials, pathways = _items(body)
        service.set_items(session, owner_id, portfolio_id, credentials=credentials, pathways=pathways)
    if "show_originals" in body:
        service.set_show_originals(session, owner_id, portfolio_id, body["show_originals"])
    if "expires_at" in body:
        service.set_link_expiry(session, owner_id, portfolio_id, _expiry(body["expires_at"]))
    if "visibility" in body:
        service.set_visibility(session, owner_id, portfolio_id, str(body["visibility"]))
    return service.get_portfolio(session, owner_id, portfolio_id)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _publishing_notes(credentials: list[Credential]) -> dict[str, Any]:
    """Say what the originals reveal, and which credentials no presentation will carry (and why)."""
    return {"originals_reveal": originals.disclosure(credentials).sentence,
            "not_verified": [{"credential_id": c.id, "status": c.status,
                              "reason": presentations.not_presentable_reason(c)}
                             for c in credentials if not presentations.is_presentable(c)]}


def _portfolio(portfolio: Portfolio) -> dict[str, Any]:
    public = service.is_public(portfolio)
    shown = [i.credential for i in portfolio.credential_items
             if i.credential is not None and i.credential.recipient_state != RECIPIENT_MISMATCH]
    return {
        "id": portfolio.id,
        "title": portfolio.title,
        "headline": portfolio.headline,
        "about": portfolio.about,
        "visibility": portfolio.visibility,
        "url": external_url("public.portfolio", slug=portfolio.slug),
        "link_works": public,
        "expires_at": _iso(portfolio.slug_expires_at),
        "link_revoked_at": _iso(portfolio.link_revoked_at),
        "show_contact": portfolio.show_contact,
        "contact_email": portfolio.contact_email,
        "contact_url": portfolio.contact_url,
        "view_count": portfolio.view_count,
        "published_at": _iso(portfolio.published_at),
        "created_at": _iso(portfolio.created_at),
        "updated_at": _iso(portfolio.updated_at),
        "items": [{"id": item.id, "position": item.position, "kind": item.kind, "credential_id": item.credential_id,
                   "pathway_id": item.pathway_id, "include_evidence": item.include_evidence} for item in portfolio.items],
        "show_originals": portfolio.show_originals,
        **_publishing_notes(shown),
    }


@bp.get("/portfolios")
@require_token
def list_portfolios() -> dict[str, Any]:
    """List the token owner's portfolios."""
    return {"portfolios": [_portfolio(p) for p in service.list_portfolios(get_session(), api_user().id)]}


@bp.post("/portfolios")
@require_token
def create_portfolio() -> tuple[dict[str, Any], int, dict[str, str]]:
    """Create a portfolio (private unless `visibility` says otherwise), with its items."""
    body = _json_body(_PORTFOLIO_FIELDS)
    session = get_session()
    if not isinstance(body.get("title"), str):
        raise ValidationError('"title" is required text.')
    portfolio = service.create_portfolio(session, api_user().id, title=body["title"])
    portfolio = _apply(portfolio.id, body)
    session.commit()
    return _portfolio(portfolio), 201, {"Location": f"{bp.url_prefix}/portfolios/{portfolio.id}"}


@bp.get("/portfolios/<int:portfolio_id>")
@require_token
def get_portfolio(portfolio_id: int) -> dict[str, Any]:
    """Return one portfolio with its items and link state."""
    return _portfolio(service.get_portfolio(get_session(), api_user().id, portfolio_id))


@bp.patch("/portfolios/<int:portfolio_id>")
@require_token
def update_portfolio(portfolio_id: int) -> dict[str, Any]:
    """Change the fields sent; the others stay as they are."""
    body = _json_body(_PORTFOLIO_FIELDS)
    session = get_session()
    portfolio = _apply(portfolio_id, body)
    session.commit()
    return _portfolio(portfolio)


@bp.delete("/portfolios/<int:portfolio_id>")
@require_token
def delete_portfolio(portfolio_id: int) -> tuple[str, int]:
    """Delete a portfolio; its link stops working."""
    session = get_session()
    service.delete_portfolio(session, api_user().id, portfolio_id)
    session.commit()
    return "", 204


@bp.post("/portfolios/<int:portfolio_id>/link/regenerate")
@require_token
def regenerate_link(portfolio_id: int) -> dict[str, Any]:
    """Give the portfolio a new link; the old one stops working."""
    session = get_session()
    portfolio = service.regenerate_link(session, api_user().id, portfolio_id)
    session.commit()
    return _portfolio(portfolio)


@bp.post("/portfolios/<int:portfolio_id>/link/revoke")
@require_token
def revoke_link(portfolio_id: int) -> dict[str, Any]:
    """Withdraw the portfolio's link."""
    session = get_session()
    portfolio = service.revoke_link(session, api_user().id, portfolio_id)
    session.commit()
    return _portfolio(portfolio)


@bp.get("/portfolios/<int:portfolio_id>/presentation")
@require_token
def portfolio_presentation(portfolio_id: int) -> Response:
    """Return the portfolio's credentials that verify as a plain Verifiable Presentation signed by the owner's key.

    It answers no verifier's challenge (POST /presentations does, for the owner who approves it).
    """
    session, owner_id = get_session(), api_user().id
    portfolio = service.get_portfolio(session, owner_id, portfolio_id)
    view = public_view.portfolio_view(session, portfolio)
    signed = presentations.build_presentation(
        session, owner_id, [e.credential for e in view.entries], secret_key=current_app.config["SECRET_KEY"],
        blobs=collaborators().blobs)
    session.commit()
    return current_app.json.response({"presentation": signed.document, "holder": signed.holder,
                                      "left_out": [{"credential_id": c.id, "reason": r} for c, r in signed.left_out]})


def _share(share: CredentialShare) -> dict[str, Any]:
    credential = share.credential
    url = external_url("public.shared", slug=share.slug)
    links = sharing.share_links(url, title=credential.name, text=credential.name)
    return {
        "credential_id": share.credential_id,
        "url": url,
        "link_works": share_links.is_share_public(share),
        "include_evidence": share.include_evidence,
        "show_originals": share.show_originals,
        **_publishing_notes([credential]),
        "expires_at": _iso(share.expires_at),
        "revoked_at": _iso(share.revoked_at),
        "view_count": share.view_count,
        "qr_svg_url": external_url("public.credential_qr", slug=share.slug),
        "embed_html": sharing.embed_snippet(external_url("public.embed", slug=share.slug), credential.name),
        "linkedin_add_to_profile": sharing.linkedin_add_to_profile_url(
            name=credential.name, organization_name=credential.issuer_name or credential.verified_issuer or "",
            issued_at=credential.issued_at or credential.valid_from, expires_at=credential.expires_at,
            cert_url=url, cert_id=credential.credential_uri),
        "share_links": {"linkedin": links.linkedin, "x": links.x, "facebook": links.facebook, "email": links.email},
    }


@bp.get("/shares")
@require_token
def list_shares() -> dict[str, Any]:
    """List the token owner's credential share links."""
    return {"shares": [_share(s) for s in share_links.list_shares(get_session(), api_user().id)]}


@bp.put("/shares/<int:credential_id>")
@require_token
def put_share(credential_id: int) -> dict[str, Any]:
    """Give a credential a public page (or change its settings); a withdrawn link is replaced."""
    body = _json_body(_SHARE_FIELDS)
    for name in ("include_evidence", "show_originals"):
        if not isinstance(body.get(name, False), bool):
            raise ValidationError(f'"{name}" must be true or false.')
    session = get_session()
    share = share_links.share_credential(session, api_user().id, credential_id,
                                     include_evidence=body.get("include_evidence", False),
                                     expires_at=_expiry(body.get("expires_at")),
                                     show_originals=body.get("show_originals"))
    session.commit()
    return _share(share)


@bp.post("/shares/<int:credential_id>/regenerate")
@require_token
def regenerate_share(credential_id: int) -> dict[str, Any]:
    """Give the credential's public page a new link."""
    session = get_session()
    share = share_links.regenerate_share(session, api_user().id, credential_id)
    session.commit()
    return _share(share)


@bp.delete("/shares/<int:credential_id>")
@require_token
def revoke_share(credential_id: int) -> tuple[str, int]:
    """Withdraw the credential's public page."""
    session = get_session()
    share_links.revoke_share(session, api_user().id, credential_id)
    session.commit()
    return "", 204


# --- OpenAPI ---------------------------------------------------------------------------------------

_JSON = "application/json"
_UNAUTHORIZED = {"$ref": "#/components/responses/Unauthorized"}
_NOT_FOUND = {"$ref": "#/components/responses/NotFound"}
_BAD_REQUEST = {"$ref": "#/components/responses/BadRequest"}
_PORTFOLIO_ID = {"name": "portfolio_id", "in": "path", "required": True, "schema": {"type": "integer"}}
_CREDENTIAL_ID = {"name": "credential_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {_JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


OPENAPI_PATHS: dict[str, Any] = {
    "/portfolios": {
        "get": {"operationId": "listPortfolios", "summary": "The token owner's portfolios", "tags": ["Portfolios"],
                "responses": {"200": _ok("The portfolios", "PortfolioList"), "401": _UNAUTHORIZED}},
        "post": {"operationId": "createPortfolio", "summary": "Create a portfolio (private unless told otherwise)",
                 "tags": ["Portfolios"], "requestBody": _body("PortfolioInput"),
                 "responses": {"201": _ok("The new portfolio", "Portfolio"), "400": _BAD_REQUEST,
                               "401": _UNAUTHORIZED, "404": _NOT_FOUND}},
    },
    "/portfolios/{portfolio_id}": {
        "parameters": [_PORTFOLIO_ID],
        "get": {"operationId": "getPortfolio", "summary": "One portfolio with its items and link state",
                "tags": ["Portfolios"], "responses": {"200": _ok("The portfolio", "Portfolio"), "401": _UNAUTHORIZED,
                                                      "404": _NOT_FOUND}},
        "patch": {"operationId": "updatePortfolio", "summary": "Change the fields sent", "tags": ["Portfolios"],
                  "requestBody": _body("PortfolioInput"),
                  "responses": {"200": _ok("The portfolio as saved", "Portfolio"), "400": _BAD_REQUEST,
                                "401": _UNAUTHORIZED, "404": _NOT_FOUND}},
        "delete": {"operationId": "deletePortfolio", "summary": "Delete a portfolio; its link stops working",
                   "tags": ["Portfolios"], "responses": {"204": {"description": "Deleted"}, "401": _UNAUTHORIZED,
                                                         "404": _NOT_FOUND}},
    },
    "/portfolios/{portfolio_id}/link/regenerate": {
        "parameters": [_PORTFOLIO_ID],
        "post": {"operationId": "regeneratePortfolioLink", "summary": "Give the portfolio a new link",
                 "tags": ["Portfolios"], "responses": {"200": _ok("The portfolio", "Portfolio"),
                                                       "401": _UNAUTHORIZED, "404": _NOT_FOUND}},
    },
    "/portfolios/{portfolio_id}/link/revoke": {
        "parameters": [_PORTFOLIO_ID],
        "post": {"operationId": "revokePortfolioLink", "summary": "Withdraw the portfolio's link",
                 "tags": ["Portfolios"], "responses": {"200": _ok("The portfolio", "Portfolio"),
                                                       "401": _UNAUTHORIZED, "404": _NOT_FOUND}},
    },
    "/portfolios/{portfolio_id}/presentation": {
        "parameters": [_PORTFOLIO_ID],
        "get": {"operationId": "getPortfolioPresentation", "tags": ["Portfolios"],
                "summary": "The portfolio's credentials that verify, as a plain W3C Verifiable Presentation signed "
                           "(eddsa-rdfc-2022, proofPurpose assertionMethod) by the owner's did:key",
                "responses": {"200": _ok("The signed presentation", "PresentationResult"), "400": _BAD_REQUEST,
                              "401": _UNAUTHORIZED, "404": _NOT_FOUND}},
    },
    "/shares": {
        "get": {"operationId": "listShares", "summary": "The token owner's credential share links",
                "tags": ["Portfolios"], "responses": {"200": _ok("The share links", "ShareList"), "401": _UNAUTHORIZED}},
    },
    "/shares/{credential_id}": {
        "parameters": [_CREDENTIAL_ID],
        "put": {"operationId": "shareCredential", "summary": "Give a credential a public page, or change its settings",
                "tags": ["Portfolios"], "requestBody": _body("ShareInput"),
                "responses": {"200": _ok("The share link", "Share"), "400": _BAD_REQUEST, "401": _UNAUTHORIZED,
                              "404": _NOT_FOUND}},
        "delete": {"operationId": "revokeShare", "summary": "Withdraw the credential's public page",
                   "tags": ["Portfolios"], "responses": {"204": {"description": "Withdrawn"}, "401": _UNAUTHORIZED,
                                                         "404": _NOT_FOUND}},
    },
    "/shares/{credential_id}/regenerate": {
        "parameters": [_CREDENTIAL_ID],
        "post": {"operationId": "regenerateShare", "summary": "Give the credential's public page a new link",
                 "tags": ["Portfolios"], "responses": {"200": _ok("The share link", "Share"), "401": _UNAUTHORIZED,
                                                       "404": _NOT_FOUND}},
    },
}

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
_ITEM = {"type": "object", "properties": {
    "id": {"type": "integer"}, "position": {"type": "integer"}, "kind": {"type": "string", "enum": ["credential", "pathway"]},
    "credential_id": {"type": ["integer", "null"]}, "pathway_id": {"type": ["integer", "null"]},
    "include_evidence": {"type": "boolean"}}}

_NOTES = {
    "show_originals": {"type": "boolean"},
    "originals_reveal": {"type": "string", "description": "What the published originals say about the owner "
                         "(e-mail addresses, hashed addresses with their salt), in one sentence."},
    "not_verified": {"type": "array", "description": "Credentials shown that do not verify: shown with their state, "
                     "never signed into a presentation.", "items": {"type": "object", "properties": {
                         "credential_id": {"type": "integer"}, "status": {"type": "string"},
                         "reason": {"type": "string"}}}},
}

OPENAPI_SCHEMAS: dict[str, Any] = {
    "PortfolioInput": {
        "type": "object",
        "additionalProperties": False,
        "description": "Fields to set; on update, the fields left out stay as they are.",
        "properties": {
            "title": {"type": "string", "maxLength": service.MAX_TITLE},
            "headline": {"type": "string", "maxLength": service.MAX_HEADLINE},
            "about": {"type": "string", "maxLength": service.MAX_ABOUT, "description": "Markdown; shown sanitised."},
            "visibility": {"type": "string", "enum": ["private", "unlisted", "listed"]},
            "expires_at": {**_NULLABLE_TIME, "description": "When the link stops working (with a time zone), or null."},
            "show_contact": {"type": "boolean"},
            "show_originals": {"type": "boolean", "description": "Offer each credential's original (and the signed "
                               "presentation) on the public page; false keeps them back."},
            "contact_email": {"type": ["string", "null"], "description": "One of the owner's confirmed addresses."},
            "contact_url": {"type": ["string", "null"], "format": "uri"},
            "credentials": {"type": "array", "items": {"oneOf": [
                {"type": "integer"},
                {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"},
                                                                      "include_evidence": {"type": "boolean"}}}]}},
            "pathways": {"type": "array", "items": {"type": "integer"}},
        },
    },
    "Portfolio": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"}, "title": {"type": "string"}, "headline": {"type": "string"},
            "about": {"type": "string"}, "visibility": {"type": "string", "enum": ["private", "unlisted", "listed"]},
            "url": {"type": "string", "format": "uri", "description": "The public link (works only when link_works)."},
            "link_works": {"type": "boolean"}, "expires_at": _NULLABLE_TIME, "link_revoked_at": _NULLABLE_TIME,
            "show_contact": {"type": "boolean"}, "contact_email": {"type": ["string", "null"]},
            "contact_url": {"type": ["string", "null"]}, "view_count": {"type": "integer"},
            "published_at": _NULLABLE_TIME, "created_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"}, "items": {"type": "array", "items": _ITEM},
            **_NOTES,
        },
    },
    "PortfolioList": {"type": "object", "properties": {
        "portfolios": {"type": "array", "items": {"$ref": "#/components/schemas/Portfolio"}}}},
    "PresentationResult": {"type": "object", "properties": {
        "presentation": {"type": "object", "description": "A VC 2.0 VerifiablePresentation with a DataIntegrityProof."},
        "holder": {"type": "string", "description": "The owner's did:key."},
        "left_out": {"type": "array", "items": {"type": "object", "properties": {
            "credential_id": {"type": "integer"}, "reason": {"type": "string"}}}}}},
    "ShareInput": {"type": "object", "additionalProperties": False, "properties": {
        "include_evidence": {"type": "boolean"}, "expires_at": _NULLABLE_TIME,
        "show_originals": {"type": "boolean", "description": "Offer the original on the public page (left out: "
                           "unchanged; a new share offers it)."}}},
    "Share": {"type": "object", "properties": {
        "credential_id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
        "link_works": {"type": "boolean"}, "include_evidence": {"type": "boolean"}, "expires_at": _NULLABLE_TIME,
        **_NOTES,
        "revoked_at": _NULLABLE_TIME, "view_count": {"type": "integer"}, "qr_svg_url": {"type": "string"},
        "embed_html": {"type": "string"}, "linkedin_add_to_profile": {"type": "string"},
        "share_links": {"type": "object", "properties": {
            "linkedin": {"type": "string"}, "x": {"type": "string"}, "facebook": {"type": "string"},
            "email": {"type": "string"}}}}},
    "ShareList": {"type": "object", "properties": {
        "shares": {"type": "array", "items": {"$ref": "#/components/schemas/Share"}}}},
}
