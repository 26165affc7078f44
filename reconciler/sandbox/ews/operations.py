"""The EWS operations the sandbox answers, one method per SOAP operation.

Each method reads the request element and fills a ``Responder``; per-element failures become
ResponseClass="Error" messages (``ItemError``), whole-request failures SOAP faults (``EwsFault``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lxml import etree

from .model import FieldPath, Item, Shape, field_path, read_item, render, values_at
from .restriction import compile_restriction
from .store import ITEM_PREFIX, Folder, Mailbox, decode_id
from .timezones import windows_id
from .views import calendar_view, item_values, occurrence_originals, occurrence_values, resolve_occurrence
from .wire import EwsFault, ItemError, Responder, local, m, parse_datetime, sub, t

if TYPE_CHECKING:
    from .service import ExchangeService

# The meeting response objects CreateItem answers (see ``ExchangeService.respond``).
RESPONSES = frozenset({"AcceptItem", "TentativelyAcceptItem", "DeclineItem"})

MAX_SYNC_CHANGES = 512
# EWSFindCountLimit, the throttling policy's cap on the items one FindItem/FindFolder answers: 1,000
# by default on Exchange 2010 and later ("EWS throttling in Exchange", learn.microsoft.com). A paged
# request gets a partial answer with IncludesLastItemInRange="false" ("the default policy limits the
# page size to 1000 items"). A CalendarView with MaxEntriesReturned is cut the same way, without an
# offset ("Get appointments and meetings by using EWS in Exchange": MaxEntriesReturned="5" over 33
# occurrences answers 5, TotalItemsInView="33" IncludesLastItemInRange="false"). A CalendarView
# without it over the limit fails with ErrorExceededFindCountLimit, as clients report
# (jamesiarmes/php-ews#143, PolicyLimit 1000; OfficeDev/ews-java-api#310).
# ``ExchangeService.find_count_limit`` sets the limit per sandbox.
DEFAULT_FIND_COUNT_LIMIT = 1000
FIND_COUNT_MESSAGE = ("You have exceeded the maximum number of objects that can be returned for the find operation. "
                      "Use paging to reduce the result size and try your request again.")
# "ErrorCalendarViewRangeTooBig occurs when the Start to End range for the CalendarView element is more
# than the maximum allowed, currently 2 years" (EWS ResponseCode reference; OfficeDev/ews-java-api#131).
CALENDAR_VIEW_YEARS = 2
# The user configuration object in which OWA keeps a mailbox's regional options (its root folder).
OWA_USER_OPTIONS = "OWA.UserOptions"


@dataclass
class Call:
    """One authenticated request: who is calling and which mailbox it acts on."""

    service: "ExchangeService"
    principal: str
    target: str | None  # impersonated address, else the caller's own

    def mailbox(self) -> Mailbox:
        if self.target is None:
            raise EwsFault("ErrorNonExistentMailbox", "The caller has no mailbox and impersonates none.")
        return self.service.mailbox_for(self.principal, self.target, impersonating=True)


class Operations:
    """The handlers of one request; ``records`` counts the items it carried or returned (request log)."""

    def __init__(self, service: "ExchangeService", call: Call, responder: Responder) -> None:
        self.service = service
        self.call = call
        self.out = responder
        self.records = 0

    # -- shared helpers ----------------------------------------------------------------------

    def folder_of(self, elem: etree._Element) -> tuple[Mailbox, Folder]:
        """A t:FolderId or t:DistinguishedFolderId (with an optional t:Mailbox) -> its mailbox and folder."""
        if local(elem) == "DistinguishedFolderId":
            address = elem.findtext(f"{t('Mailbox')}/{t('EmailAddress')}")
            if address and (self.call.target or "").lower() != address.lower():
                mailbox = self.service.mailbox_for(self.call.principal, address, impersonating=False)
            else:
                mailbox = self.call.mailbox()
            key = elem.get("Id", "")
            if key not in mailbox.distinguished:
                raise ItemError("ErrorFolderNotFound", f"The distinguished folder {key} does not exist in the sandbox.")
            return mailbox, mailbox.folders[mailbox.distinguished[key]]
        if local(elem) == "FolderId":
            mailbox = self.call.mailbox()
            return mailbox, mailbox.folder(elem.get("Id", ""))
        raise ItemError("ErrorInvalidIdMalformed", f"unsupported folder id element {local(elem)}")

    def render_folder(self, parent: etree._Element, mailbox: Mailbox, folder: Folder) -> None:
        elem = sub(parent, t(folder.element))
        sub(elem, t("FolderId"), Id=folder.id, ChangeKey="AQAAAA==")
        if folder.parent:
            sub(elem, t("ParentFolderId"), Id=folder.parent, ChangeKey="AQAAAA==")
        if folder.folder_class:
            sub(elem, t("FolderClass"), folder.folder_class)
        sub(elem, t("DisplayName"), folder.name)
        if folder.distinguished:
            sub(elem, t("DistinguishedFolderId"), folder.distinguished)
        sub(elem, t("TotalCount"), str(len(folder.items)))
        sub(elem, t("ChildFolderCount"), str(len(mailbox.children(folder.id))))
        if folder.element not in ("ContactsFolder", "CalendarFolder"):
            sub(elem, t("UnreadCount"), "0")

    def _items_container(self, message: etree._Element) -> etree._Element:
        return sub(message, m("Items"))

    def _record_failure(self, operation: str) -> None:
        """The ``record_failure`` fault: this element of the batch fails, the others go on."""
        rule = self.service.faults().draw("exchange", operation, {"record_failure"})
        if rule is not None:
            code = "ErrorCannotDeleteObject" if operation == "DeleteItem" else "ErrorItemSave"
            raise ItemError(code, "The sandbox failed this item on purpose (record_failure fault).")

    def _locate(self, mailbox: Mailbox, id_elem: etree._Element) -> tuple[Item, str | None]:
        """An ItemId (or ReferenceItemId) / OccurrenceItemId / RecurringMasterItemId -> (stored item, original start or None)."""
        kind = local(id_elem)
        if kind in ("ItemId", "ReferenceItemId"):
            parts = decode_id(id_elem.get("Id", ""), ITEM_PREFIX)
            if parts[0] == "O":
                return resolve_occurrence(mailbox, parts)
            return mailbox.item(id_elem.get("Id", "")), None
        if kind == "RecurringMasterItemId":
            parts = decode_id(id_elem.get("OccurrenceId", ""), ITEM_PREFIX)
            if parts[0] == "O":
                return mailbox.item(mailbox.parse_occurrence_id(parts)[0]), None
            return mailbox.item(id_elem.get("OccurrenceId", "")), None
        if kind == "OccurrenceItemId":
            master = mailbox.item(id_elem.get("RecurringMasterId", ""))
            if "Recurrence" not in master.fields:
                raise ItemError("ErrorItemNotFound", "The item is not a recurring master.")
            index = int(id_elem.get("InstanceIndex", "0"))
            originals = occurrence_originals(mailbox, master, None)[: index]
            if index < 1 or len(originals) < index:
                raise ItemError("ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange",
                                "The occurrence index is out of the recurrence range.")
            return master, originals[index - 1]
        raise ItemError("ErrorInvalidIdMalformed", f"unsupported item id element {kind}")

    def _view(self, mailbox: Mailbox, item: Item, original: str | None) -> tuple[str, dict[str, Any]]:
        if original is None:
            return item.id, item_values(mailbox, item)
        return mailbox.occurrence_id(item.id, original), occurrence_values(mailbox, item, original)

    def _lookup(self, mailbox: Mailbox, item: Item) -> Callable[[FieldPath], list[str]]:
        """Field values for a restriction or sort; computed fields only when asked for (100,000-item scans)."""
        def lookup(path: FieldPath) -> list[str]:
            if path.extended is not None or path.container is not None or path.name in item.fields:
                return values_at(item.fields, item.extended, path)
            return values_at(item_values(mailbox, item), item.extended, path)
        return lookup

    # -- folders -----------------------------------------------------------------------------

    def GetFolder(self, request: etree._Element) -> None:
        for elem in request.find(m("FolderIds")):
            try:
                mailbox, folder = self.folder_of(elem)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            self.render_folder(sub(self.out.success(), m("Folders")), mailbox, folder)

    def FindFolder(self, request: etree._Element) -> None:
        deep = request.get("Traversal", "Shallow") == "Deep"
        matches = compile_restriction(request.find(m("Restriction")))
        page = request.find(m("IndexedPageItemView"))
        for elem in request.find(m("ParentFolderIds")):
            try:
                mailbox, parent = self.folder_of(elem)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            found: list[Folder] = []
            pending = [parent.id]
            while pending:
                for child in mailbox.children(pending.pop(0)):
                    values = {"DisplayName": child.name, "FolderClass": child.folder_class,
                              "TotalCount": str(len(child.items))}
                    if matches(lambda path, v=values: values_at(v, {}, path)):
                        found.append(child)
                    if deep:
                        pending.append(child.id)
            try:
                chosen, offset, last = _page(found, page, self.service.find_count_limit)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            root = sub(self.out.success(), m("RootFolder"), IndexedPagingOffset=str(offset),
                       TotalItemsInView=str(len(found)), IncludesLastItemInRange=_bool(last))
            folders = sub(root, t("Folders"))
            for folder in chosen:
                self.render_folder(folders, mailbox, folder)

    def CreateFolder(self, request: etree._Element) -> None:
        try:
            mailbox, parent = self.folder_of(request.find(m("ParentFolderId"))[0])
        except ItemError as error:
            self.out.error(error.code, error.message)
            return
        for spec in request.find(m("Folders")):
            name = spec.findtext(t("DisplayName")) or ""
            folder_class = spec.findtext(t("FolderClass")) or {
                "ContactsFolder": "IPF.Contact", "CalendarFolder": "IPF.Appointment"}.get(local(spec), "IPF.Note")
            if not name:
                self.out.error("ErrorInvalidFolderName", "A folder needs a DisplayName.")
                continue
            if any(c.name.lower() == name.lower() for c in mailbox.children(parent.id)):
                self.out.error("ErrorFolderExists", "A folder with the specified name already exists.")
                continue
            folder = mailbox.add_folder(parent.id, name, folder_class)
            elem = sub(sub(self.out.success(), m("Folders")), t(folder.element))
            sub(elem, t("FolderId"), Id=folder.id, ChangeKey="AQAAAA==")
            self.service.changed()

    # -- reading items -----------------------------------------------------------------------

    def GetItem(self, request: etree._Element) -> None:
        shape = Shape.parse(request.find(m("ItemShape")))
        mailbox = self.call.mailbox()
        for id_elem in request.find(m("ItemIds")):
            try:
                item, original = self._locate(mailbox, id_elem)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            item_id, values = self._view(mailbox, item, original)
            render(self._items_container(self.out.success()), item.kind, item_id, item.changekey, values,
                   item.extended, shape)
            self.records += 1

    def FindItem(self, request: etree._Element) -> None:
        if request.get("Traversal", "Shallow") != "Shallow":
            raise EwsFault("ErrorInvalidOperation", "The sandbox implements FindItem with Traversal=Shallow only.")
        shape = Shape.parse(request.find(m("ItemShape")))
        restriction = request.find(m("Restriction"))
        calendar = request.find(m("CalendarView"))
        page = request.find(m("IndexedPageItemView"))
        for elem in request.find(m("ParentFolderIds")):
            try:
                mailbox, folder = self.folder_of(elem)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            if calendar is not None:
                try:
                    self._calendar_view(mailbox, folder, calendar, shape)
                except ItemError as error:
                    self.out.error(error.code, error.message)
                continue
            ids = self._query(mailbox, folder, restriction, request.find(m("SortOrder")))
            try:
                chosen, offset, last = _page(ids, page, self.service.find_count_limit)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            root = sub(self.out.success(), m("RootFolder"), IndexedPagingOffset=str(offset),
                       TotalItemsInView=str(len(ids)), IncludesLastItemInRange=_bool(last))
            items = sub(root, t("Items"))
            for item_id in chosen:
                item = mailbox.items[item_id]
                render(items, item.kind, item.id, item.changekey, item_values(mailbox, item), item.extended, shape)
            self.records += len(chosen)

    def _query(self, mailbox: Mailbox, folder: Folder, restriction: etree._Element | None,
               sort: etree._Element | None) -> list[str]:
        """Ids matching a restriction, in order; cached per folder version so paging costs one pass."""
        key = (folder.id, folder.version,
               etree.tostring(restriction) if restriction is not None else None,
               etree.tostring(sort) if sort is not None else None)
        cached = mailbox.query_cache.get(key)
        if cached is not None:
            return cached
        if restriction is None:
            ids = list(folder.items)
        else:
            matches = compile_restriction(restriction)
            ids = [item_id for item_id in folder.items if matches(self._lookup(mailbox, mailbox.items[item_id]))]
        for order in reversed(list(sort) if sort is not None else []):
            path = field_path(order[0])

            def sort_key(item_id: str, path: FieldPath = path) -> str:
                found = self._lookup(mailbox, mailbox.items[item_id])(path)
                return found[0].casefold() if found else ""
            ids.sort(key=sort_key, reverse=order.get("Order") == "Descending")
        mailbox.query_cache.clear()
        mailbox.query_cache[key] = ids
        return ids

    def _calendar_view(self, mailbox: Mailbox, folder: Folder, view: etree._Element, shape: Shape) -> None:
        start = parse_datetime(view.get("StartDate", ""))
        end = parse_datetime(view.get("EndDate", ""))
        if end <= start:
            raise ItemError("ErrorCalendarEndDateIsEarlierThanStartDate", "EndDate is earlier than StartDate.")
        if end > _years_later(start, CALENDAR_VIEW_YEARS):
            raise ItemError("ErrorCalendarViewRangeTooBig",
                            f"The CalendarView range may span at most {CALENDAR_VIEW_YEARS} years.")
        shown: list[tuple[str, Item, dict[str, Any]]] = []
        for item_id in folder.items:
            item = mailbox.items[item_id]
            if item.kind != "CalendarItem":
                continue
            shown.extend((oid, item, values) for oid, values in calendar_view(mailbox, item, start, end))
        shown.sort(key=lambda entry: (entry[2]["Start"], entry[0]))
        # MaxEntriesReturned makes the view a paged request: the server answers the first entries up to
        # the smaller of it and the find count limit, and says the view was cut. Without it, a view
        # over the limit fails (the view cannot be paged by offset).
        cap = self.service.find_count_limit
        asked = view.get("MaxEntriesReturned")
        if asked is None and len(shown) > cap:
            raise ItemError("ErrorExceededFindCountLimit", FIND_COUNT_MESSAGE)
        limit = min(int(asked), cap) if asked is not None else cap
        root = sub(self.out.success(), m("RootFolder"), TotalItemsInView=str(len(shown)),
                   IncludesLastItemInRange=_bool(len(shown) <= limit))
        items = sub(root, t("Items"))
        for oid, item, values in shown[:limit]:
            render(items, item.kind, oid, item.changekey, values, item.extended, shape)
        self.records += min(len(shown), limit)

    def SyncFolderItems(self, request: etree._Element) -> None:
        shape = Shape.parse(request.find(m("ItemShape")))
        try:
            mailbox, folder = self.folder_of(request.find(m("SyncFolderId"))[0])
            state = request.findtext(m("SyncState"))
            position = mailbox.read_sync_state(folder.id, state) if state else 0
        except ItemError as error:
            # Exchange (and exchangelib's parser) keep these two elements in a failed sync message too.
            message = self.out.error(error.code, error.message)
            sub(message, m("SyncState"))
            sub(message, m("IncludesLastItemInRange"), "true")
            return
        limit = max(1, min(int(request.findtext(m("MaxChangesReturned")) or MAX_SYNC_CHANGES), MAX_SYNC_CHANGES))
        changes, new_position, at_end = folder.journal.since(position, limit)
        if at_end:
            new_position = max(new_position, mailbox.seq)
        message = self.out.success()
        sub(message, m("SyncState"), mailbox.sync_state(folder.id, new_position))
        sub(message, m("IncludesLastItemInRange"), _bool(at_end))
        container = sub(message, m("Changes"))
        for change, item_id in changes:
            node = sub(container, t(change))
            if change == "Delete":
                sub(node, t("ItemId"), Id=item_id, ChangeKey="")
                continue
            item = mailbox.items[item_id]
            render(node, item.kind, item.id, item.changekey, item_values(mailbox, item), item.extended, shape)
        self.records += len(changes)

    # -- writing items -----------------------------------------------------------------------

    def CreateItem(self, request: etree._Element) -> None:
        send = request.get("SendMeetingInvitations", "SendToNone")
        disposition = request.get("MessageDisposition")
        target = request.find(m("SavedItemFolderId"))
        try:
            if target is not None:
                mailbox, folder = self.folder_of(target[0])
            else:
                mailbox = self.call.mailbox()
                folder = None
        except ItemError as error:
            for _ in request.find(m("Items")):
                self.out.error(error.code, error.message)
            return
        for spec in request.find(m("Items")):
            try:
                self._record_failure("CreateItem")
                kind = local(spec)
                if kind in RESPONSES:
                    self._respond(mailbox, spec, kind, disposition, folder)
                    self._items_container(self.out.success())
                    self.records += 1
                    continue
                fields, extended = read_item(spec)
                destination = folder or mailbox.folders[mailbox.distinguished[
                    "calendar" if kind == "CalendarItem" else "contacts" if kind == "Contact" else "inbox"]]
                item = self.service.create_item(mailbox, destination, kind, fields, extended, send)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            sub(sub(self._items_container(self.out.success()), t(item.kind)), t("ItemId"),
                Id=item.id, ChangeKey=item.changekey)
            self.records += 1

    def _respond(self, mailbox: Mailbox, spec: etree._Element, kind: str, disposition: str | None,
                 folder: Folder | None) -> None:
        """A meeting response object: answers the meeting its ReferenceItemId names.

        The response is a message, so it must be sent (SendOnly, or SendAndSaveCopy keeping it in
        the SavedItemFolderId); the sandbox keeps no draft responses (SaveOnly) and answers only
        whole meetings, not single occurrences of a series.
        """
        if disposition not in ("SendOnly", "SendAndSaveCopy"):
            raise ItemError("ErrorInvalidOperation",
                            "The sandbox sends meeting responses only (MessageDisposition SendOnly or SendAndSaveCopy).")
        reference = spec.find(t("ReferenceItemId"))
        if reference is None:
            raise ItemError("ErrorInvalidReferenceItem", f"{kind} needs a ReferenceItemId.")
        item, original = self._locate(mailbox, reference)
        if original is not None:
            raise ItemError("ErrorInvalidReferenceItem",
                            "The sandbox answers whole meetings only, not an occurrence of a series.")
        self.service.respond(mailbox, item, kind, folder if disposition == "SendAndSaveCopy" else None)

    def UpdateItem(self, request: etree._Element) -> None:
        resolution = request.get("ConflictResolution", "AutoResolve")
        send = request.get("SendMeetingInvitationsOrCancellations", "SendToNone")
        mailbox = self.call.mailbox()
        for change in request.find(m("ItemChanges")):
            try:
                self._record_failure("UpdateItem")
                id_elem = change[0]
                item, original = self._locate(mailbox, id_elem)
                sent_key = id_elem.get("ChangeKey")
                if resolution == "NeverOverwrite" and sent_key and sent_key != item.changekey:
                    raise ItemError("ErrorIrresolvableConflict",
                                    "The send or update operation could not be performed because the change key "
                                    "passed in the request does not match the current change key for the item.")
                updates = change.find(t("Updates"))
                item = self.service.update_item(mailbox, item, original, list(updates), send)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            message = self.out.success()
            item_id = mailbox.occurrence_id(item.id, original) if original else item.id
            sub(sub(self._items_container(message), t(item.kind)), t("ItemId"), Id=item_id, ChangeKey=item.changekey)
            sub(sub(message, m("ConflictResults")), t("Count"), "0")
            self.records += 1

    def DeleteItem(self, request: etree._Element) -> None:
        delete_type = request.get("DeleteType", "HardDelete")
        send = request.get("SendMeetingCancellations", "SendToNone")
        mailbox = self.call.mailbox()
        for id_elem in request.find(m("ItemIds")):
            try:
                self._record_failure("DeleteItem")
                item, original = self._locate(mailbox, id_elem)
                self.service.delete_item(mailbox, item, original, delete_type, send)
            except ItemError as error:
                self.out.error(error.code, error.message)
                continue
            self.out.success()
            self.records += 1

    # -- user configurations -----------------------------------------------------------------

    def GetUserConfiguration(self, request: etree._Element) -> None:
        """The one user configuration object the sandbox keeps: ``OWA.UserOptions`` in the mailbox's
        root folder, whose Dictionary holds the entry ``timezone`` with the mailbox's zone as OWA
        stores it, a Windows zone name (``Pacific Standard Time``). A mailbox without a zone has no
        such object (ErrorItemNotFound), as on a server whose user never opened OWA's options; so
        has any other name or folder. Properties ``Id``, ``Dictionary`` or ``All`` (XmlData and
        BinaryData: OWA.UserOptions has none)."""
        name = request.find(m("UserConfigurationName"))
        properties = (request.findtext(m("UserConfigurationProperties")) or "").strip()
        if name is None or len(name) != 1 or properties not in ("Id", "Dictionary", "XmlData", "BinaryData", "All"):
            raise EwsFault("ErrorSchemaValidation",
                           "GetUserConfiguration needs a UserConfigurationName with one folder id and "
                           "UserConfigurationProperties.")
        try:
            mailbox, folder = self.folder_of(name[0])
            if (name.get("Name") != OWA_USER_OPTIONS or folder.id != mailbox.distinguished["root"]
                    or mailbox.time_zone is None):
                raise ItemError("ErrorItemNotFound", "The specified object was not found in the store.")
        except ItemError as error:
            self.out.error(error.code, error.message)
            return
        configuration = sub(self.out.success(), m("UserConfiguration"))
        sub(sub(configuration, t("UserConfigurationName"), Name=OWA_USER_OPTIONS), t("FolderId"), Id=folder.id,
            ChangeKey="AQAAAA==")
        if properties in ("Id", "All"):
            sub(configuration, t("ItemId"), Id=mailbox.user_configuration_id(), ChangeKey="CQAAAA==")
        if properties in ("Dictionary", "All"):
            entry = sub(sub(configuration, t("Dictionary")), t("DictionaryEntry"))
            for part, value in (("DictionaryKey", "timezone"), ("DictionaryValue", windows_id(mailbox.time_zone))):
                typed = sub(entry, t(part))
                sub(typed, t("Type"), "String")
                sub(typed, t("Value"), value)
        self.records += 1

    # -- directory ---------------------------------------------------------------------------

    def ResolveNames(self, request: etree._Element) -> None:
        entry = (request.findtext(m("UnresolvedEntry")) or "").strip()
        needle = entry[5:] if entry.lower().startswith("smtp:") else entry
        found = self.service.resolve(needle)
        if not found:
            self.out.error("ErrorNameResolutionNoResults", "No results were found.")
            return
        message = self.out.success() if len(found) == 1 else self.out.warning(
            "ErrorNameResolutionMultipleResults", "Multiple results were found.")
        resolution_set = sub(message, m("ResolutionSet"), TotalItemsInView=str(len(found)),
                             IncludesLastItemInRange="true")
        for mailbox in found:
            box = sub(sub(resolution_set, t("Resolution")), t("Mailbox"))
            sub(box, t("Name"), mailbox.display_name)
            sub(box, t("EmailAddress"), mailbox.address)
            sub(box, t("RoutingType"), "SMTP")
            sub(box, t("MailboxType"), "Mailbox")
        self.records += len(found)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _years_later(moment: dt.datetime, years: int) -> dt.datetime:
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:   # 29 February
        return moment.replace(year=moment.year + years, day=28)


def _page(ids: list[Any], page: etree._Element | None, cap: int) -> tuple[list[Any], int, bool]:
    """Slice an IndexedPageItemView: (page, next offset, includes the last item?). A page holds at most
    ``cap`` entries (the find count limit); an unpaged request over it fails."""
    if page is None:
        if len(ids) > cap:
            raise ItemError("ErrorExceededFindCountLimit", FIND_COUNT_MESSAGE)
        return ids, len(ids), True
    size = min(int(page.get("MaxEntriesReturned") or len(ids) or 1), cap)
    offset = int(page.get("Offset") or 0)
    if page.get("BasePoint", "Beginning") == "End":
        stop = max(len(ids) - offset, 0)
        begin = max(stop - size, 0)
        return ids[begin:stop], offset + (stop - begin), begin == 0
    chosen = ids[offset:offset + size]
    return chosen, offset + len(chosen), offset + len(chosen) >= len(ids)

