"""Wallet as a Host of the Open Badges 3.0 and CLR 2.0 APIs: the resource side (docs/api.md).

apis.py names the two APIs, credentials.py answers getCredentials and upsertCredential, profile.py
getProfile and putProfile, discovery.py the Service Description Document. The OAuth 2.0 server that
issues the tokens these operations take is services/oauth/.
"""
from wallet.services.host.apis import APIS, CLR2, OB3, Api

__all__ = ["APIS", "CLR2", "OB3", "Api"]
