"""Wallet as an OAuth 2.0 authorization server: clients, consent, codes, tokens (docs/security.md).

Plain services, like every other: a `session` and plain values in, models or dataclasses out. The
Authlib glue that speaks the protocol over HTTP lives in wallet/authorization.py and calls these.
"""
