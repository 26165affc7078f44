"""The Exchange Web Services emulator: ``/EWS/Exchange.asmx``, SOAP 1.1, as exchangelib 5.x speaks it.

One store per mailbox. A request acts on the mailbox named by its ExchangeImpersonation header (the
caller needs an impersonation grant on it) or, without one, on the caller's own mailbox. Callers
authenticate with Basic credentials of a service account or with a bearer token the identity
emulator issued for ``https://outlook.office365.com``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import gc
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from lxml import etree
from werkzeug.wrappers import Request, Response

from ..faults import Faults
from ..service import Service
from .model import Item, apply_change
from .operations import DEFAULT_FIND_COUNT_LIMIT, Call, Operations
from .recurrence import occurrence_starts
from .seeding import seed_mailbox_items
from .store import Mailbox
from .timezones import windows_id
from .views import series_zone
from .wire import (EwsFault, ItemError, Responder, envelope, fault_envelope, format_datetime, local, now_stamp,
                   parse, parse_datetime, s, t)

EWS_PATH = "/ews/exchange.asmx"
OUTLOOK_AUDIENCE = "https://outlook.office365.com"
IMPLEMENTED = ("GetFolder", "FindFolder", "CreateFolder", "FindItem", "GetItem", "CreateItem", "UpdateItem",
               "DeleteItem", "SyncFolderItems", "ResolveNames", "GetUserConfiguration")
# The modes that send meeting mail. The "Changed" modes (UpdateItem only) should reach only attendees
# added or removed by the update; the sandbox sends the update to all of them (a simplification).
SEND_MODES = frozenset({"SendOnlyToAll", "SendToAllAndSaveCopy", "SendOnlyToChanged", "SendToChangedAndSaveCopy"})
ATTENDEE_FIELDS = ("RequiredAttendees", "OptionalAttendees", "Resources")
# What an attendee's copy of a meeting follows when the organiser changes the meeting.
MEETING_FIELDS = ("Subject", "Body", "Start", "End", "IsAllDayEvent", "Location", "Recurrence", "StartTimeZone",
                  "EndTimeZone", "MeetingTimeZone", "RequiredAttendees", "OptionalAttendees", "Resources", "UID",
                  "Sensitivity", "Organizer")
# Meeting response objects (CreateItem of t:AcceptItem ...): the MyResponseType and attendee
# ResponseType they set, the free/busy the invitee's copy shows, and the response message's class.
RESPONSES = {
    "AcceptItem": ("Accept", "Busy", "IPM.Schedule.Meeting.Resp.Pos", "Accepted"),
    "TentativelyAcceptItem": ("Tentative", "Tentative", "IPM.Schedule.Meeting.Resp.Tent", "Tentative"),
    "DeclineItem": ("Decline", None, "IPM.Schedule.Meeting.Resp.Neg", "Declined"),
}
_DOC = "reconciler.ews.document"
_RECORDS = "reconciler.ews.records"


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building 100,000s of small objects: it would rescan
    them all again and again (seeding a 100,000-contact mailbox takes half the time without it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def uid_for(item_id: str) -> str:
    """An iCal UID in Exchange's Outlook form, stable for an item id."""
    return "040000008200E00074C5B7101A82E00800000000" + hashlib.sha1(item_id.encode()).hexdigest().upper()


class ExchangeService(Service):
    name = "exchange"

    def __init__(self) -> None:
        super().__init__()
        self.domains: list[str] = []
        self.accounts: dict[str, dict[str, str]] = {}   # lower-case username -> {username, password}
        self.grants: dict[str, set[str]] = {}           # principal -> mailboxes it may impersonate
        self.mailboxes: dict[str, Mailbox] = {}          # lower-case address -> store
        self.sent: list[dict[str, Any]] = []             # the outbox log of meeting messages
        # The throttling policy's EWSFindCountLimit (see ``operations.DEFAULT_FIND_COUNT_LIMIT``); a
        # test lowers it to make a small calendar behave like a large one.
        self.find_count_limit = DEFAULT_FIND_COUNT_LIMIT

    # -- routing -------------------------------------------------------------------------------

    def claims(self, path: str) -> bool:
        return path.lower().startswith("/ews/")

    def operation(self, request: Request) -> str:
        """The SOAP operation's element name; the parsed document is kept for ``handle``."""
        if request.method != "POST":
            return request.method.lower()
        try:
            document = parse(request.get_data(cache=True))
            operation = local(document.find(s("Body"))[0])
        except (etree.XMLSyntaxError, TypeError, IndexError, ValueError):
            return "invalid"
        request.environ[_DOC] = document
        return operation

    def records_in(self, request: Request, response: Response) -> int:
        return int(request.environ.get(_RECORDS, 0))

    def faults(self) -> Faults:
        assert self.context is not None
        return self.context.faults

    # -- authentication ------------------------------------------------------------------------

    def _principal(self, request: Request) -> str | None:
        """``user@domain`` for Basic, ``app:<client id>`` for a bearer token; None when neither holds."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            account = self.accounts.get(username.lower())
            if account and hmac.compare_digest(account["password"].encode(), password.encode()):
                return account["username"].lower()
            return None
        if scheme.lower() == "bearer" and self.context is not None:
            identity = self.context.services.get("identity")
            verify = getattr(identity, "verify_token", None)
            claims = verify(value.strip(), OUTLOOK_AUDIENCE) if verify else None
            if claims and claims.get("appid"):
                return f"app:{claims['appid']}"
        return None

    def mailbox_for(self, principal: str, address: str, impersonating: bool) -> Mailbox:
        """The store ``principal`` may act on; a fault (impersonation) or item error (folder mailbox) if not."""
        mailbox = self.mailboxes.get(address.lower())
        if mailbox is None:
            message = f"The SMTP address {address} has no mailbox associated with it."
            if impersonating:
                raise EwsFault("ErrorNonExistentMailbox", message)
            raise ItemError("ErrorNonExistentMailbox", message)
        if address.lower() != principal and address.lower() not in self.grants.get(principal, set()):
            if impersonating:
                raise EwsFault("ErrorImpersonateUserDenied",
                               "The account does not have permission to impersonate the requested user.")
            raise ItemError("ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return mailbox

    # -- requests ------------------------------------------------------------------------------

    def handle(self, request: Request, operation: str) -> Response:
        if request.path.lower() != EWS_PATH:
            return Response("not found", status=404, mimetype="text/plain")
        principal = self._principal(request)
        if principal is None:
            response = Response("401 Unauthorized", status=401, mimetype="text/plain")
            response.headers.add("WWW-Authenticate", 'Basic realm="reconciler sandbox EWS"')
            response.headers.add("WWW-Authenticate", 'Bearer authorization_uri="https://login.microsoftonline.com/common"')
            return response
        if request.method != "POST":
            return Response("EWS answers SOAP over POST", status=405, mimetype="text/plain")
        try:
            document = request.environ.get(_DOC)
            if document is None:
                raise EwsFault("ErrorSchemaValidation", "The request is not a well-formed SOAP envelope.")
            busy = self.faults().draw("exchange", operation, {"server_busy"})
            if busy is not None:
                raise EwsFault("ErrorServerBusy", "The server cannot service this request right now. Try again later.",
                               back_off_ms=busy.back_off_ms)
            impersonated = document.findtext(
                f"{s('Header')}/{t('ExchangeImpersonation')}/{t('ConnectingSID')}/{t('PrimarySmtpAddress')}")
            if impersonated:
                self.mailbox_for(principal, impersonated, impersonating=True)
            call = Call(self, principal, impersonated or (None if principal.startswith("app:") else principal))
            if operation not in IMPLEMENTED:
                raise EwsFault("ErrorInvalidOperation",
                               f"The reconciler sandbox does not implement the EWS operation {operation}. "
                               f"It implements: {', '.join(IMPLEMENTED)}.")
            env, body = envelope()
            operations = Operations(self, call, Responder(operation, body))
            getattr(operations, operation)(document.find(s("Body"))[0])
            request.environ[_RECORDS] = operations.records
            return Response(etree.tostring(env, xml_declaration=True, encoding="utf-8"), status=200,
                            content_type="text/xml; charset=utf-8")
        except EwsFault as fault:
            return Response(fault_envelope(fault), status=500, content_type="text/xml; charset=utf-8")
        except ItemError as error:
            return Response(fault_envelope(EwsFault(error.code, error.message)), status=500,
                            content_type="text/xml; charset=utf-8")
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            fault = EwsFault("ErrorInternalServerError", f"The sandbox could not process the request: {error!r}")
            return Response(fault_envelope(fault), status=500, content_type="text/xml; charset=utf-8")

    # -- mailbox changes (shared by the operations and the seed) -------------------------------

    def _organizer(self, mailbox: Mailbox) -> dict[str, str]:
        return {"Name": mailbox.display_name, "EmailAddress": mailbox.address, "RoutingType": "SMTP",
                "MailboxType": "Mailbox"}

    def _check_calendar_item(self, mailbox: Mailbox, item: Item) -> None:
        fields = item.fields
        if "Start" not in fields or "End" not in fields:
            raise ItemError("ErrorInvalidPropertySet", "A calendar item needs Start and End.")
        if parse_datetime(fields["End"]) < parse_datetime(fields["Start"]):
            raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate", "The end date is earlier than the start date.")
        if "Recurrence" in fields:
            try:
                next(occurrence_starts(fields["Recurrence"], parse_datetime(fields["Start"]),
                                       series_zone(mailbox, item), None), None)
            except (KeyError, ValueError) as error:
                raise ItemError("ErrorInvalidRecurrence", f"The recurrence pattern is invalid: {error}") from None

    def create_item(self, mailbox: Mailbox, folder: Any, kind: str, fields: dict[str, Any],
                    extended: dict[str, dict[str, Any]], send: str = "SendToNone",
                    exceptions: dict[str, dict[str, Any]] | None = None, deleted: list[str] | None = None) -> Item:
        now = now_stamp()
        item = Item(mailbox.new_item_id(), kind, folder.id, mailbox.new_changekey(), now, now, fields, extended,
                    exceptions or {}, deleted or [])
        if kind == "CalendarItem":
            self._check_calendar_item(mailbox, item)
            fields.setdefault("UID", uid_for(item.id))
            fields["Organizer"] = self._organizer(mailbox)
            fields["MyResponseType"] = "Organizer"
            sending = send in SEND_MODES
            for name in ATTENDEE_FIELDS:
                for attendee in fields.get(name, []):
                    attendee.setdefault("ResponseType", "NoResponseReceived" if sending else "Unknown")
        mailbox.add_item(item)
        if kind == "CalendarItem" and send in SEND_MODES and self._attendees(item):
            self._send(mailbox, item, "invitation")
        self.changed()
        return item

    def update_item(self, mailbox: Mailbox, item: Item, original: str | None, updates: list[etree._Element],
                    send: str) -> Item:
        if original is None:
            working = copy.deepcopy(item)
            for change in updates:
                apply_change(working, change)
            if working.kind == "CalendarItem":
                self._check_calendar_item(mailbox, working)
            old_uid = item.fields.get("UID")
            item.fields, item.extended = working.fields, working.extended
            if old_uid != item.fields.get("UID"):
                mailbox.uids.pop(old_uid or "", None)
                if item.fields.get("UID"):
                    mailbox.uids[item.fields["UID"]] = item.id
        else:
            occurrence = copy.deepcopy(item)
            occurrence.fields.pop("Recurrence", None)
            duration = parse_datetime(item.fields["End"]) - parse_datetime(item.fields["Start"])
            occurrence.fields["Start"] = original
            occurrence.fields["End"] = format_datetime(parse_datetime(original) + duration)
            occurrence.fields.update(copy.deepcopy(item.exceptions.get(original, {})))
            for change in updates:
                apply_change(occurrence, change)
            self._check_calendar_item(mailbox, occurrence)
            changed = {k: v for k, v in occurrence.fields.items() if item.fields.get(k) != v}
            changed["Start"], changed["End"] = occurrence.fields["Start"], occurrence.fields["End"]
            item.exceptions[original] = changed
        item.changekey = mailbox.new_changekey()
        item.modified = now_stamp()
        mailbox.touch(mailbox.folders[item.folder], item.id, "update")
        if self._is_organised_here(mailbox, item) and send in SEND_MODES:
            self._send(mailbox, item, "update")
        self.changed()
        return item

    def delete_item(self, mailbox: Mailbox, item: Item, original: str | None, delete_type: str, send: str) -> None:
        if original is not None:
            item.exceptions.pop(original, None)
            item.deleted.append(original)
            item.changekey = mailbox.new_changekey()
            item.modified = now_stamp()
            mailbox.touch(mailbox.folders[item.folder], item.id, "update")
            self.changed()
            return
        if self._is_organised_here(mailbox, item) and send in SEND_MODES:
            self._send(mailbox, item, "cancellation")
        mailbox.remove_item(item)
        trash = mailbox.distinguished["deleteditems"]
        if delete_type == "MoveToDeletedItems" and item.folder != trash:
            item.folder = trash
            item.changekey = mailbox.new_changekey()
            mailbox.add_item(item)
        self.changed()

    def respond(self, mailbox: Mailbox, item: Item, response: str, sent_folder: Any | None) -> None:
        """An invitee answers a meeting (exchangelib's ``accept()``, ``tentatively_accept()``, ``decline()``).

        The invitee's copy records the answer (MyResponseType) and the organizer's item, when the
        organizer's mailbox is in the sandbox, records it on the attendee (ResponseType,
        LastResponseTime): Exchange processes the response message into the organizer's calendar.
        A decline moves the copy to Deleted Items, as Outlook does by default, and stops it being
        the mailbox's copy of that UID, so a later update from the organizer is delivered anew.
        ``sent_folder`` (SendAndSaveCopy) keeps the response message there.
        """
        my_response, free_busy, message_class, verb = RESPONSES[response]
        organizer_address = (item.fields.get("Organizer") or {}).get("EmailAddress", "")
        if item.kind != "CalendarItem" or not organizer_address:
            raise ItemError("ErrorInvalidReferenceItem", "Only a meeting can be accepted or declined.")
        if organizer_address.lower() == mailbox.address.lower():
            raise ItemError("ErrorInvalidReferenceItem", "The organizer cannot respond to their own meeting.")
        uid = item.fields["UID"]
        now = now_stamp()
        item.fields["MyResponseType"] = my_response
        item.fields["AppointmentReplyTime"] = now
        if free_busy is not None:
            item.fields["LegacyFreeBusyStatus"] = free_busy
        item.changekey = mailbox.new_changekey()
        item.modified = now
        if response == "DeclineItem":
            mailbox.remove_item(item)
            item.folder = mailbox.distinguished["deleteditems"]
            mailbox.add_item(item)
            mailbox.uids.pop(uid, None)
        else:
            mailbox.touch(mailbox.folders[item.folder], item.id, "update")
        organizer = self.mailboxes.get(organizer_address.lower())
        original_id = organizer.uids.get(uid) if organizer is not None else None
        if organizer is not None and original_id is not None:
            original = organizer.items[original_id]
            for attendee in self._attendees(original):
                if attendee.get("EmailAddress", "").lower() == mailbox.address.lower():
                    attendee["ResponseType"] = my_response
                    attendee["LastResponseTime"] = now
            original.changekey = organizer.new_changekey()
            original.modified = now
            organizer.touch(organizer.folders[original.folder], original.id, "update")
        subject = f"{verb}: {item.fields.get('Subject', '')}"
        if sent_folder is not None:
            fields = {"Subject": subject, "ItemClass": message_class}
            mailbox.add_item(Item(mailbox.new_item_id(), "Message", sent_folder.id, mailbox.new_changekey(), now, now,
                                  fields))
        self.sent.append({"from": mailbox.address, "kind": my_response.lower(), "uid": uid, "subject": subject,
                          "recipients": [organizer_address], "itemId": item.id, "at": now})
        self.changed()

    def _attendees(self, item: Item) -> list[dict[str, str]]:
        return [a for name in ATTENDEE_FIELDS for a in item.fields.get(name, [])]

    def _is_organised_here(self, mailbox: Mailbox, item: Item) -> bool:
        organizer = (item.fields.get("Organizer") or {}).get("EmailAddress", "")
        return item.kind == "CalendarItem" and bool(self._attendees(item)) and organizer.lower() == mailbox.address.lower()

    def _send(self, organizer: Mailbox, item: Item, kind: str) -> None:
        """Log a meeting message in the outbox and deliver it to attendees whose mailboxes are here."""
        recipients = [a.get("EmailAddress", "") for a in self._attendees(item)]
        uid = item.fields["UID"]
        self.sent.append({"from": organizer.address, "kind": kind, "uid": uid, "subject": item.fields.get("Subject", ""),
                          "recipients": recipients, "itemId": item.id, "at": now_stamp()})
        for address in recipients:
            attendee = self.mailboxes.get(address.lower())
            if attendee is None or attendee is organizer:
                continue
            existing = attendee.uids.get(uid)
            if existing is None and kind != "cancellation":  # invited now, or added by this update
                fields = {k: copy.deepcopy(v) for k, v in item.fields.items() if k in MEETING_FIELDS}
                fields.update({"LegacyFreeBusyStatus": "Tentative", "MyResponseType": "NoResponseReceived",
                               "IsCancelled": "false", "ReminderIsSet": "true", "ReminderMinutesBeforeStart": "15"})
                now = now_stamp()
                calendar = attendee.folders[attendee.distinguished["calendar"]]
                copy_item = Item(attendee.new_item_id(), "CalendarItem", calendar.id, attendee.new_changekey(), now,
                                 now, fields, {}, copy.deepcopy(item.exceptions), list(item.deleted))
                attendee.add_item(copy_item)
            elif existing is not None:
                copy_item = attendee.items[existing]
                if kind == "cancellation":
                    copy_item.fields["IsCancelled"] = "true"
                else:
                    for key in MEETING_FIELDS:
                        if key in item.fields:
                            copy_item.fields[key] = copy.deepcopy(item.fields[key])
                    copy_item.exceptions = copy.deepcopy(item.exceptions)
                    copy_item.deleted = list(item.deleted)
                copy_item.changekey = attendee.new_changekey()
                copy_item.modified = now_stamp()
                attendee.touch(attendee.folders[copy_item.folder], copy_item.id, "update")

    def resolve(self, needle: str) -> list[Mailbox]:
        """ResolveNames over mailboxes: an exact SMTP address, else a prefix of the name or address."""
        lowered = needle.lower()
        if lowered in self.mailboxes:
            return [self.mailboxes[lowered]]
        if not lowered:
            return []
        return [box for box in self.mailboxes.values()
                if box.address.lower().startswith(lowered)
                or any(word.lower().startswith(lowered) for word in box.display_name.split())
                or box.display_name.lower().startswith(lowered)]

    # -- the outbox ------------------------------------------------------------------------------

    def outbox(self, mailbox: str | None = None) -> list[dict[str, Any]]:
        """Meeting invitations, updates and cancellations "sent", oldest first (from ``mailbox`` if given)."""
        with self.lock:
            return [dict(entry) for entry in self.sent
                    if mailbox is None or entry["from"].lower() == mailbox.lower()]

    # -- seed, persistence, endpoints -----------------------------------------------------------

    def seed(self, data: dict[str, Any]) -> None:
        with collector_paused():
            self._seed(data)

    def _seed(self, data: dict[str, Any]) -> None:
        self.domains = list(data.get("domains") or [])
        self.accounts, self.grants, self.mailboxes, self.sent = {}, {}, {}, []
        for account in data.get("serviceAccounts") or []:
            username = account["username"]
            self.accounts[username.lower()] = {"username": username,
                                               "password": account.get("password") or secrets.token_urlsafe(18)}
            self.grants[username.lower()] = {a.lower() for a in account.get("impersonates") or []}
        for app in data.get("applications") or []:
            self.grants[f"app:{app['clientId']}"] = {a.lower() for a in app.get("impersonates") or []}
        specs = data.get("mailboxes") or []
        for number, spec in enumerate(specs, start=1):
            zone = spec.get("timeZone") or None
            if zone is not None:
                windows_id(zone)   # GetUserConfiguration answers the Windows name: refuse a zone without one now
            mailbox = Mailbox(number, spec["address"], spec.get("displayName") or spec["address"], zone,
                              secrets.token_hex(16))
            mailbox.create_distinguished()
            self.mailboxes[mailbox.address.lower()] = mailbox
        for spec in specs:
            seed_mailbox_items(self, self.mailboxes[spec["address"].lower()], spec)
        self.changed()

    def snapshot(self) -> dict[str, Any]:
        return {"domains": self.domains, "accounts": list(self.accounts.values()),
                "grants": {k: sorted(v) for k, v in self.grants.items()},
                "mailboxes": [box.to_json() for box in self.mailboxes.values()], "outbox": self.sent}

    def restore(self, data: dict[str, Any]) -> None:
        with collector_paused():
            self._restore(data)

    def _restore(self, data: dict[str, Any]) -> None:
        self.domains = data["domains"]
        self.accounts = {a["username"].lower(): a for a in data["accounts"]}
        self.grants = {k: set(v) for k, v in data["grants"].items()}
        self.mailboxes = {}
        for raw in data["mailboxes"]:
            box = Mailbox.from_json(raw)
            self.mailboxes[box.address.lower()] = box
        self.sent = data["outbox"]

    def endpoints(self) -> dict[str, Any]:
        assert self.context is not None
        account = next(iter(self.accounts.values()), None)
        credentials = ({"serviceAccountUsername": account["username"], "serviceAccountPassword": account["password"]}
                       if account else {})
        return {"ewsUrl": self.context.base_url + "/EWS/Exchange.asmx", "domains": list(self.domains),
                "credentials": credentials}
