"""Typed SQLAlchemy models, one module per aggregate. Importing this registers every table."""
from wallet.models.credential import Credential, CredentialTag, CredentialVersion, Evidence, VerificationRecord
from wallet.models.job import Job, JobItem
from wallet.models.oauth import OAuthAuthorizationCode, OAuthClient, OAuthGrant, OAuthToken
from wallet.models.pathway import Pathway
from wallet.models.portfolio import CredentialShare, LearnerKey, Portfolio, PortfolioItem, PublicProfile
from wallet.models.user import AccountToken, ApiToken, EmailAddress, LoginSession, OutboxMessage, User

__all__ = ["AccountToken", "ApiToken", "EmailAddress", "LoginSession", "OutboxMessage", "User"]
__all__ += ["Credential", "CredentialTag", "CredentialVersion", "Evidence", "VerificationRecord"]
__all__ += ["Job", "JobItem", "Pathway"]
__all__ += ["CredentialShare", "LearnerKey", "Portfolio", "PortfolioItem", "PublicProfile"]
__all__ += ["OAuthAuthorizationCode", "OAuthClient", "OAuthGrant", "OAuthToken"]
