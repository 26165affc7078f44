"""SOAP 1.1 envelopes, EWS namespaces and the small XML helpers every operation shares.

Responses follow the shape exchangelib 5.6 parses: a ``t:ServerVersionInfo`` header, then
``m:<Op>Response/m:ResponseMessages/m:<Op>ResponseMessage`` with ``ResponseClass`` and ``m:ResponseCode``.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from lxml import etree

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
M_NS = "http://schemas.microsoft.com/exchange/services/2006/messages"
T_NS = "http://schemas.microsoft.com/exchange/services/2006/types"
E_NS = "http://schemas.microsoft.com/exchange/services/2006/errors"
NSMAP = {"s": SOAP_NS, "m": M_NS, "t": T_NS}

# An untrusted request body: no entities, no network, big batches allowed.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True)


def s(tag: str) -> str:
    return f"{{{SOAP_NS}}}{tag}"


def m(tag: str) -> str:
    return f"{{{M_NS}}}{tag}"


def t(tag: str) -> str:
    return f"{{{T_NS}}}{tag}"


def local(elem: etree._Element) -> str:
    """The element name without its namespace."""
    return etree.QName(elem).localname


def parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, _PARSER)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    child = etree.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        child.text = text
    return child


class EwsFault(Exception):
    """Answer the whole request with a SOAP fault carrying an EWS ResponseCode (HTTP 500, as Exchange does)."""

    def __init__(self, code: str, message: str, back_off_ms: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.back_off_ms = back_off_ms


class ItemError(Exception):
    """One element of a batch failed; the response message for it gets ResponseClass="Error"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def envelope() -> tuple[etree._Element, etree._Element]:
    """A response envelope with the server version header; returns (envelope, body)."""
    env = etree.Element(s("Envelope"), nsmap=NSMAP)
    header = sub(env, s("Header"))
    sub(header, t("ServerVersionInfo"), MajorVersion="15", MinorVersion="1", MajorBuildNumber="2507",
        MinorBuildNumber="6", Version="Exchange2016")
    return env, sub(env, s("Body"))


def fault_envelope(fault: EwsFault) -> bytes:
    env = etree.Element(s("Envelope"), nsmap=NSMAP)
    body = sub(env, s("Body"))
    node = sub(body, s("Fault"))
    etree.SubElement(node, "faultcode", nsmap={"a": T_NS}).text = "a:" + fault.code
    sub(node, "faultstring", fault.message)
    detail = sub(node, "detail")
    etree.SubElement(detail, f"{{{E_NS}}}ResponseCode", nsmap={"e": E_NS}).text = fault.code
    etree.SubElement(detail, f"{{{E_NS}}}Message").text = fault.message
    if fault.back_off_ms is not None:
        msg_xml = sub(detail, t("MessageXml"))
        sub(msg_xml, t("Value"), str(fault.back_off_ms), Name="BackOffMilliseconds")
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


@dataclass
class Responder:
    """Builds ``m:<Op>Response`` with one response message per request element."""

    operation: str
    body: etree._Element

    def __post_init__(self) -> None:
        self.messages = sub(sub(self.body, m(f"{self.operation}Response")), m("ResponseMessages"))

    def success(self) -> etree._Element:
        msg = sub(self.messages, m(f"{self.operation}ResponseMessage"), ResponseClass="Success")
        sub(msg, m("ResponseCode"), "NoError")
        return msg

    def warning(self, code: str, text: str) -> etree._Element:
        return self.error(code, text, response_class="Warning")

    def error(self, code: str, text: str, response_class: str = "Error") -> etree._Element:
        msg = sub(self.messages, m(f"{self.operation}ResponseMessage"), ResponseClass=response_class)
        sub(msg, m("MessageText"), text)
        sub(msg, m("ResponseCode"), code)
        sub(msg, m("DescriptiveLinkKey"), "0")
        return msg


# -- date and time values ----------------------------------------------------------------------

def parse_datetime(text: str) -> dt.datetime:
    """An xs:dateTime as EWS clients send it (``Z``, an offset, or none meaning UTC) -> aware UTC."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def format_datetime(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalise_datetime(text: str) -> str:
    """Store datetimes as Exchange answers them: UTC with ``Z``."""
    return format_datetime(parse_datetime(text))


def parse_date(text: str) -> dt.date:
    """An xs:date, possibly with a zone suffix (``2024-05-01Z``, ``2024-05-01-07:00``)."""
    return dt.date.fromisoformat(text.strip()[:10])


_last_stamp: list[Any] = [0, ""]


def now_stamp() -> str:
    """The current UTC second as EWS writes it; formatted once per second (100,000-item seeds call this a lot)."""
    second = int(time.time())
    if second != _last_stamp[0]:
        _last_stamp[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))]
    return str(_last_stamp[1])
