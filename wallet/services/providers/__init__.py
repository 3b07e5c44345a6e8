"""Wallet as a Service Consumer: connect a provider's OB 3.0 / CLR 2.0 Host or Badge Connect backpack and pull.

discovery.py reads what the provider serves, oauth.py speaks OAuth 2.0 to it, sync.py pulls its
credentials through the normal import, connections.py is what routes and tasks call, and
secrets.py seals what is kept.
"""
from wallet.services.providers.connections import (
    Authorization,
    begin_connect,
    complete_connect,
    disconnect,
    due_connections,
    get_connection,
    list_connections,
    queue_sync,
    run_sync,
)
from wallet.services.providers.discovery import KIND_NAMES, Discovery, discover
from wallet.services.providers.oauth import ProviderClient, ReconnectNeededError
from wallet.services.providers.secrets import Sealer

__all__ = [
    "KIND_NAMES", "Authorization", "Discovery", "ProviderClient", "ReconnectNeededError", "Sealer", "begin_connect",
    "complete_connect", "disconnect", "discover", "due_connections", "get_connection", "list_connections",
    "queue_sync", "run_sync",
]
