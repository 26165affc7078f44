"""Client failures become ConnectorErrors with an actionable message and nothing secret or personal."""

from __future__ import annotations

import logging

import requests
from exchangelib import errors as ews_errors
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from reconciler.connectors.errors import (ErrorKind, MailboxNotFound, RedactCredentialsFilter, from_token_error,
                                          salesforce_record_error, translate)


def test_msal_error_dicts_are_explained_by_their_aadsts_code() -> None:
    error = from_token_error({"error": "invalid_client", "error_description":
                              "AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2"})
    assert error.kind is ErrorKind.AUTHENTICATION
    assert error.message == "token request: invalid client secret (AADSTS7000215)"
    assert "secret's value" in error.fix
    unknown = from_token_error({"error": "invalid_client", "error_description": "AADSTS99999: something new"})
    assert unknown.message == "token request: credentials rejected (invalid_client, AADSTS99999)"


def test_salesforce_errors_keep_codes_and_fields_but_not_the_query_or_body() -> None:
    body = [{"errorCode": "INVALID_FIELD", "message": "No such column 'Secret__c' where Email = 'jane@x.example'",
             "fields": ["Secret__c"]}]
    url = "https://x/services/data/v61.0/query/?q=SELECT+Id+FROM+Contact+WHERE+Email='jane@x.example'"
    error = translate(SalesforceMalformedRequest(url, 400, "query", body), "listing contacts")
    assert error.kind is ErrorKind.INVALID_REQUEST
    assert error.message == "Salesforce listing contacts: request rejected (INVALID_FIELD) on fields Secret__c"
    assert "jane" not in str(error)

    limited = translate(SalesforceRefusedRequest(url, 403, "query", [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                                                                      "message": "TotalRequests Limit exceeded."}]))
    assert limited.kind is ErrorKind.RATE_LIMITED and limited.retryable


def test_collection_record_errors_are_retryable_or_permanent() -> None:
    locked = salesforce_record_error([{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}])
    invalid = salesforce_record_error([{"statusCode": "REQUIRED_FIELD_MISSING", "message": "x", "fields": ["LastName"]}])
    assert locked.retryable and not invalid.retryable
    assert invalid.message == "Salesforce rejected the record: REQUIRED_FIELD_MISSING on LastName"


def test_exchange_errors() -> None:
    busy = translate(ews_errors.ErrorServerBusy("busy", back_off=1.5), "listing")
    assert (busy.kind, busy.retryable, busy.retry_after) == (ErrorKind.RATE_LIMITED, True, 1.5)
    denied = translate(ews_errors.ErrorImpersonateUserDenied("denied"), "opening", mailbox="frank@acme.example")
    assert denied.kind is ErrorKind.PERMISSION and "frank@acme.example" in denied.message
    assert translate(ews_errors.ErrorIrresolvableConflict("moved")).kind is ErrorKind.CONFLICT


def test_a_mailbox_exchange_does_not_have_is_its_own_error_whoever_finds_out() -> None:
    # The engine skips the user for every object type on this error, so it must be recognisable
    # without the engine knowing exchangelib's exception classes.
    for error in (ews_errors.ErrorNonExistentMailbox("gone"), ews_errors.ErrorNameResolutionNoResults("none")):
        missing = translate(error, "listing contact changes", mailbox="gone@acme.example")
        assert isinstance(missing, MailboxNotFound) and missing.kind is ErrorKind.NOT_FOUND
        assert "gone@acme.example" in missing.message and "spec.mailbox" in missing.fix
    assert not isinstance(translate(ews_errors.ErrorItemNotFound("item")), MailboxNotFound)


def test_tls_and_connection_errors() -> None:
    assert translate(requests.exceptions.SSLError("CERTIFICATE_VERIFY_FAILED")).kind is ErrorKind.TLS
    refused = translate(requests.ConnectionError("refused"), "login")
    assert refused.kind is ErrorKind.UNAVAILABLE and refused.retryable


def test_log_redaction_blanks_credentials() -> None:
    record = logging.LogRecord("exchangelib.util", logging.DEBUG, "", 0, "headers: %s",
                               ({"Authorization": "Basic c3ZjOmh1bnRlcjI=", "X-AnchorMailbox": "a@b"},), None)
    RedactCredentialsFilter().filter(record)
    assert record.getMessage() == "headers: {'Authorization': 'Basic [redacted]', 'X-AnchorMailbox': 'a@b'}"
    form = logging.LogRecord("x", logging.DEBUG, "", 0, "body grant_type=password&password=hunter2&x=1", (), None)
    RedactCredentialsFilter().filter(form)
    assert "hunter2" not in form.getMessage()
