"""One place that turns client-library exceptions into :class:`ConnectorError`.

The engine and the CLI see one error type with a *kind* (what went wrong), a message a person can
act on, a *fix* (what to do about it) and *retryable* (whether trying again later can help). The
messages are built from status codes, error codes and field names only: never from response
bodies, request URLs (SOQL carries filter values), or exception texts that could echo a secret or a
person's data.
"""

from __future__ import annotations

import json
import logging
import re
from enum import Enum
from typing import Any

import requests
import simple_salesforce.exceptions as sf_errors
from exchangelib import errors as ews_errors


class ErrorKind(str, Enum):
    CONFIGURATION = "configuration"    # the YAML or the environment is wrong (missing secret, bad URL)
    AUTHENTICATION = "authentication"  # credentials rejected
    PERMISSION = "permission"          # authenticated, but not allowed (profile, impersonation, consent)
    NOT_FOUND = "not_found"            # record, mailbox, folder or user does not exist
    CONFLICT = "conflict"              # the record moved since it was read: defer, never overwrite
    INVALID_REQUEST = "invalid_request"  # the service refused the data (validation, bad field)
    RATE_LIMITED = "rate_limited"      # quota or throttling: wait and try again
    UNAVAILABLE = "unavailable"        # 5xx, connection dropped, timeout: try again
    TLS = "tls"                        # certificate verification failed


class ConnectorError(Exception):
    """An external-system failure, described for the operator."""

    def __init__(self, kind: ErrorKind, message: str, fix: str = "", retryable: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.fix = fix
        self.retryable = retryable
        self.retry_after = retry_after  # seconds the service asked us to wait, when it said so

    def __str__(self) -> str:
        return f"{self.message} (fix: {self.fix})" if self.fix else self.message

    def __repr__(self) -> str:
        return f"ConnectorError({self.kind.value}, {self.message!r}, retryable={self.retryable})"


class MailboxNotFound(ConnectorError):
    """Exchange has no mailbox at the address (ErrorNonExistentMailbox from a listing, or
    ResolveNames finding none), as for a mailbox removed since the user's first sync. Not a failure
    of one object type's listing: the engine skips the user for all of them, with the fix."""


class CursorExpired(ConnectorError):
    """A change feed cannot resume from this cursor (Salesforce getDeleted reaches 15 days back; an
    EWS sync state dies with its folder). The caller lists from scratch (``list_changes(None)``)
    and diffs the full listing against its known pairs to find what was deleted meanwhile."""


# -- Salesforce ------------------------------------------------------------------------------------

def salesforce_error_codes(content: Any) -> list[tuple[str, list[str]]]:
    """``[(errorCode, fields)]`` from a Salesforce error body (a JSON list, a dict, or text)."""
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return []
    items = content if isinstance(content, list) else [content] if isinstance(content, dict) else []
    codes = []
    for item in items:
        if isinstance(item, dict):
            code = item.get("errorCode") or item.get("statusCode") or item.get("error")
            if code:
                codes.append((str(code), [str(f) for f in item.get("fields") or []]))
    return codes


_SF_RETRYABLE_CODES = {"REQUEST_LIMIT_EXCEEDED", "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE",
                       "QUERY_TIMEOUT", "API_CURRENTLY_DISABLED_TEMPORARILY"}
_SF_PERMISSION_CODES = {"INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG",
                        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"}
_SF_NOT_FOUND_CODES = {"NOT_FOUND", "ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY"}


def salesforce_record_error(errors: list[dict[str, Any]]) -> ConnectorError:
    """Classify the per-record ``errors`` list of a composite collection result."""
    codes = salesforce_error_codes(errors) or [("UNKNOWN_ERROR", [])]
    described = ", ".join(f"{code}" + (f" on {'/'.join(fields)}" if fields else "") for code, fields in codes)
    names = {code for code, _ in codes}
    if names & _SF_RETRYABLE_CODES:
        return ConnectorError(ErrorKind.RATE_LIMITED if "REQUEST_LIMIT_EXCEEDED" in names else ErrorKind.UNAVAILABLE,
                              f"Salesforce could not write the record now: {described}",
                              fix="retried on the next cycle", retryable=True)
    if names & _SF_PERMISSION_CODES:
        return ConnectorError(ErrorKind.PERMISSION, f"Salesforce refused the write: {described}",
                              fix="grant the integration user edit access to these records and fields")
    if names & _SF_NOT_FOUND_CODES:
        return ConnectorError(ErrorKind.NOT_FOUND, f"Salesforce record is gone: {described}",
                              fix="none: the record was deleted in Salesforce")
    return ConnectorError(ErrorKind.INVALID_REQUEST, f"Salesforce rejected the record: {described}",
                          fix="correct the named fields (validation rule, required field, field length)")


def _from_salesforce(exc: sf_errors.SalesforceError, context: str) -> ConnectorError:
    status = getattr(exc, "status", 0) or 0
    codes = salesforce_error_codes(getattr(exc, "content", None))
    names = {code for code, _ in codes}
    described = ", ".join(sorted(names)) or f"HTTP {status}"
    where = f"Salesforce {context}: " if context else "Salesforce: "
    if isinstance(exc, sf_errors.SalesforceAuthenticationFailed) or isinstance(exc, sf_errors.SalesforceExpiredSession):
        return ConnectorError(ErrorKind.AUTHENTICATION, f"{where}authentication failed ({described})",
                              fix="check the connection's auth settings and that the secret is current")
    if "REQUEST_LIMIT_EXCEEDED" in names:
        return ConnectorError(ErrorKind.RATE_LIMITED, f"{where}API request limit exceeded",
                              fix="wait for the org's rolling 24-hour limit to recover, or sync less often",
                              retryable=True)
    if names & _SF_PERMISSION_CODES or isinstance(exc, sf_errors.SalesforceRefusedRequest):
        return ConnectorError(ErrorKind.PERMISSION, f"{where}request refused ({described})",
                              fix="give the integration user API Enabled and read/edit access to Contact and User")
    if isinstance(exc, sf_errors.SalesforceResourceNotFound):
        return ConnectorError(ErrorKind.NOT_FOUND, f"{where}not found ({described})",
                              fix="check the instance URL and apiVersion")
    if isinstance(exc, sf_errors.SalesforceMalformedRequest):
        fields = sorted({f for _, fs in codes for f in fs})
        suffix = f" on fields {', '.join(fields)}" if fields else ""
        return ConnectorError(ErrorKind.INVALID_REQUEST, f"{where}request rejected ({described}){suffix}",
                              fix="check field names in fieldMappings and dataSet filters against the org's schema")
    if status >= 500 or names & _SF_RETRYABLE_CODES:
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{where}service unavailable ({described})",
                              fix="retried with back-off; check status.salesforce.com if it persists", retryable=True)
    return ConnectorError(ErrorKind.INVALID_REQUEST, f"{where}unexpected answer ({described})",
                          fix="report this with the run log")


# -- Exchange --------------------------------------------------------------------------------------

def _from_exchange(exc: ews_errors.EWSError, context: str, mailbox: str | None) -> ConnectorError:
    where = f"Exchange {context}: " if context else "Exchange: "
    name = type(exc).__name__
    if isinstance(exc, ews_errors.ErrorImpersonateUserDenied):
        return ConnectorError(ErrorKind.PERMISSION,
                              f"{where}the service account has no impersonation right on {mailbox or 'this mailbox'}",
                              fix="grant ApplicationImpersonation to the service account for this mailbox "
                                  "(New-ManagementRoleAssignment -Role ApplicationImpersonation ...), "
                                  "or for OAuth grant the app full_access_as_app")
    if isinstance(exc, (ews_errors.ErrorNonExistentMailbox, ews_errors.ErrorNameResolutionNoResults,
                        ews_errors.ErrorNameResolutionNoMailbox)):
        return MailboxNotFound(ErrorKind.NOT_FOUND, f"{where}no mailbox {mailbox or ''} ({name})".replace("  ", " "),
                              fix="check the user's mailbox address (User spec.mailbox or the Salesforce Email)")
    if isinstance(exc, ews_errors.UnauthorizedError):
        return ConnectorError(ErrorKind.AUTHENTICATION, f"{where}credentials rejected",
                              fix="check the service account's username and password (or the OAuth app's token)")
    if isinstance(exc, ews_errors.ErrorAccessDenied):
        return ConnectorError(ErrorKind.PERMISSION, f"{where}access denied ({name})",
                              fix="give the account access to the mailbox folders")
    if isinstance(exc, ews_errors.ErrorIrresolvableConflict):
        return ConnectorError(ErrorKind.CONFLICT, f"{where}the item changed since it was read",
                              fix="none: deferred to the next cycle", retryable=True)
    if isinstance(exc, (ews_errors.ErrorItemNotFound, ews_errors.ErrorFolderNotFound)):
        return ConnectorError(ErrorKind.NOT_FOUND, f"{where}not found ({name})", fix="none: the item is gone")
    if isinstance(exc, (ews_errors.ErrorServerBusy, ews_errors.RateLimitError)):
        back_off = getattr(exc, "back_off", None)
        return ConnectorError(ErrorKind.RATE_LIMITED, f"{where}server busy (throttled)",
                              fix="retried after the server's back-off", retryable=True, retry_after=back_off)
    if isinstance(exc, (ews_errors.ErrorInternalServerTransientError, ews_errors.ErrorTimeoutExpired,
                        ews_errors.ErrorMailboxStoreUnavailable, ews_errors.ErrorMailboxMoveInProgress,
                        ews_errors.ErrorConnectionFailedTransientError, ews_errors.ErrorTooManyObjectsOpened)):
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{where}temporarily unavailable ({name})",
                              fix="retried with back-off", retryable=True)
    if isinstance(exc, ews_errors.TransportError) and not isinstance(exc, ews_errors.ResponseMessageError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "SSL" in str(exc):
            return ConnectorError(ErrorKind.TLS, f"{where}TLS certificate verification failed",
                                  fix="set caFile on the connection to the CA that issued the server's certificate")
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{where}transport error ({name})",
                              fix="check ewsUrl and that the server is reachable", retryable=True)
    return ConnectorError(ErrorKind.INVALID_REQUEST, f"{where}request failed ({name})",
                          fix="see the EWS response code in the exception name")


# -- HTTP and identity -----------------------------------------------------------------------------

def _from_requests(exc: requests.RequestException, context: str) -> ConnectorError:
    where = f"{context}: " if context else ""
    if isinstance(exc, requests.exceptions.SSLError):
        return ConnectorError(ErrorKind.TLS, f"{where}TLS certificate verification failed",
                              fix="set caFile on the connection to the CA that issued the server's certificate")
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{where}could not reach the server ({type(exc).__name__})",
                              fix="check the URL, DNS and firewall; retried with back-off", retryable=True)
    return ConnectorError(ErrorKind.INVALID_REQUEST, f"{where}HTTP request failed ({type(exc).__name__})",
                          fix="check the connection URL")


_AADSTS = re.compile(r"AADSTS(\d+)")
_AADSTS_MEANING: dict[str, tuple[ErrorKind, str, str]] = {
    "7000215": (ErrorKind.AUTHENTICATION, "invalid client secret",
                "use the secret's value (not its id) from the app registration"),
    "7000222": (ErrorKind.AUTHENTICATION, "the client secret has expired", "create a new client secret"),
    "700016": (ErrorKind.CONFIGURATION, "no application with this client id in the tenant",
               "check clientId and tenantId, and that an admin consented to the app"),
    "90002": (ErrorKind.CONFIGURATION, "tenant not found", "check tenantId"),
    "700027": (ErrorKind.AUTHENTICATION, "the certificate assertion was rejected",
               "upload the certificate to the app registration and check the thumbprint"),
    "700024": (ErrorKind.AUTHENTICATION, "the client assertion is outside its validity window",
               "check the system clock"),
    "65001": (ErrorKind.PERMISSION, "the app has no admin consent",
              "have an administrator grant consent (full_access_as_app for EWS)"),
    "50049": (ErrorKind.CONFIGURATION, "unknown or invalid authority", "check the authority URL"),
}


def from_token_error(result: dict[str, Any], context: str = "token request") -> ConnectorError:
    """An msal / OAuth error dict (``error``, ``error_description`` with an AADSTS code) as an error.

    The description is not copied (it carries trace and correlation ids and may quote the client id);
    the AADSTS code and the OAuth ``error`` field are enough to act on."""
    error = str(result.get("error") or "unknown_error")
    match = _AADSTS.search(str(result.get("error_description") or ""))
    code = match.group(1) if match else None
    if code in _AADSTS_MEANING:
        kind, meaning, fix = _AADSTS_MEANING[code]
        return ConnectorError(kind, f"{context}: {meaning} (AADSTS{code})", fix=fix)
    label = f"{error}, AADSTS{code}" if code else error
    if error in ("invalid_client", "unauthorized_client", "invalid_grant"):
        return ConnectorError(ErrorKind.AUTHENTICATION, f"{context}: credentials rejected ({label})",
                              fix="check the client id, the secret or certificate, and the tenant")
    if error in ("temporarily_unavailable", "server_error"):
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{context}: identity service unavailable ({label})",
                              fix="retried with back-off", retryable=True)
    return ConnectorError(ErrorKind.AUTHENTICATION, f"{context}: token request failed ({label})",
                          fix="check the connection's auth settings")


def translate(exc: BaseException, context: str = "", mailbox: str | None = None) -> ConnectorError:
    """Any client exception as a ConnectorError; ``context`` says what we were doing."""
    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, sf_errors.SalesforceError):
        return _from_salesforce(exc, context)
    if isinstance(exc, ews_errors.EWSError):
        return _from_exchange(exc, context, mailbox)
    if isinstance(exc, requests.RequestException):
        return _from_requests(exc, context)
    if isinstance(exc, OSError):
        return ConnectorError(ErrorKind.UNAVAILABLE, f"{context}: network error ({type(exc).__name__})",
                              fix="check that the server is reachable", retryable=True)
    return ConnectorError(ErrorKind.INVALID_REQUEST, f"{context}: unexpected {type(exc).__name__}",
                          fix="report this with the run log")


# -- logs ------------------------------------------------------------------------------------------

_CREDENTIAL_PATTERNS = [
    (re.compile(r"(?i)(authorization'?\"?\s*[:=]\s*['\"]?)(basic|bearer)\s+[^\s'\",}]+"), r"\1\2 [redacted]"),
    (re.compile(r"(?i)((?:access_token|refresh_token|id_token|client_secret|password|client_assertion|assertion)"
                r"'?\"?\s*[:=]\s*['\"]?)[^\s'\",}&]+"), r"\1[redacted]"),
]


class RedactCredentialsFilter(logging.Filter):
    """Blanks Authorization headers and token fields in client-library debug logs.

    exchangelib logs every request's headers at DEBUG (Basic credentials included) and
    requests-oauthlib logs the token it adds; this filter rewrites such records before any handler
    sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for pattern, replacement in _CREDENTIAL_PATTERNS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACTED_LOGGERS = ("exchangelib.util", "exchangelib.protocol", "requests_oauthlib.oauth2_session",
                     "msal.token_cache", "msal.application", "urllib3.connectionpool", "simple_salesforce")


def install_log_redaction() -> None:
    """Attach the redaction filter to the client libraries' loggers (idempotent)."""
    for name in _REDACTED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactCredentialsFilter) for f in logger.filters):
            logger.addFilter(RedactCredentialsFilter())
