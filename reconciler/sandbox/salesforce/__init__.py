"""Salesforce emulator of the sandbox: OAuth and SOAP logins, SOQL, sObject and collection APIs."""

from .service import SalesforceService

__all__ = ["SalesforceService"]
