"""Per-mailbox stores: folders, items indexed by id, and a compact change journal per folder.

Ids are opaque base64 to clients but decodable here, so a malformed id (ErrorInvalidIdMalformed)
and a well-formed id of a missing item (ErrorItemNotFound) are told apart, as Exchange does.
The change journal answers SyncFolderItems: every write appends ``(seq, item id)``; an item's older
entries become stale and are skipped, then dropped when the journal compacts, so a folder of 100,000
contacts keeps about one entry per item however often they change.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from .model import Item
from .wire import ItemError

ITEM_PREFIX = "AAMk"
FOLDER_PREFIX = "AQMk"

# Distinguished folders every sandbox mailbox has: (id, display name, folder class, element, parent).
DISTINGUISHED = [
    ("root", "root", "", "Folder", None),
    ("msgfolderroot", "Top of Information Store", "IPF.Note", "Folder", "root"),
    ("inbox", "Inbox", "IPF.Note", "Folder", "msgfolderroot"),
    ("deleteditems", "Deleted Items", "IPF.Note", "Folder", "msgfolderroot"),
    ("sentitems", "Sent Items", "IPF.Note", "Folder", "msgfolderroot"),
    ("contacts", "Contacts", "IPF.Contact", "ContactsFolder", "msgfolderroot"),
    ("calendar", "Calendar", "IPF.Appointment", "CalendarFolder", "msgfolderroot"),
]
FOLDER_ELEMENTS = {"IPF.Contact": "ContactsFolder", "IPF.Appointment": "CalendarFolder", "IPF.Task": "TasksFolder"}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def decode_id(value: str, prefix: str) -> list[str]:
    """The parts of an id minted by this sandbox; ErrorInvalidIdMalformed for anything else."""
    try:
        if not value.startswith(prefix):
            raise ValueError(value)
        parts = base64.b64decode(value[len(prefix):], validate=True).decode().split(":")
        int(parts[1])
        return parts
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError):
        raise ItemError("ErrorInvalidIdMalformed", "Id is malformed.") from None


class ChangeJournal:
    """Changes to one folder, in order: what SyncFolderItems reports since a position."""

    def __init__(self) -> None:
        self.entries: list[tuple[int, str]] = []
        # item id -> [latest seq, seq it entered the folder, gone?]
        self.latest: dict[str, list[Any]] = {}

    def record(self, seq: int, item_id: str, change: str) -> None:
        state = self.latest.get(item_id)
        if change == "create" or state is None:
            self.latest[item_id] = [seq, seq, False]
        else:
            state[0] = seq
            state[2] = change == "delete"
        self.entries.append((seq, item_id))
        if len(self.entries) > 2 * len(self.latest) + 1024:
            self.compact()

    def compact(self) -> None:
        self.entries = sorted((state[0], item_id) for item_id, state in self.latest.items())

    def since(self, position: int, limit: int) -> tuple[list[tuple[str, str]], int, bool]:
        """Up to ``limit`` changes after ``position``: ([(Create|Update|Delete, id)], new position, at end?).

        An item created and deleted since ``position`` is not reported; one created then updated is a
        Create; updated then deleted is a Delete.
        """
        changes: list[tuple[str, str]] = []
        index = bisect.bisect_right(self.entries, position, key=lambda entry: entry[0])
        new_position = position
        while index < len(self.entries) and len(changes) < limit:
            seq, item_id = self.entries[index]
            index += 1
            latest, entered, gone = self.latest[item_id]
            new_position = seq
            if latest != seq:
                continue
            if gone:
                if entered <= position:
                    changes.append(("Delete", item_id))
            else:
                changes.append(("Create" if entered > position else "Update", item_id))
        while index < len(self.entries) and self.latest[self.entries[index][1]][0] != self.entries[index][0]:
            new_position = self.entries[index][0]
            index += 1
        return changes, new_position, index >= len(self.entries)

    def to_json(self) -> dict[str, Any]:
        self.compact()
        return {"latest": self.latest}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ChangeJournal":
        journal = cls()
        journal.latest = data["latest"]
        journal.compact()
        return journal


@dataclass
class Folder:
    id: str
    parent: str | None
    name: str
    folder_class: str
    distinguished: str | None
    items: dict[str, None] = field(default_factory=dict)  # ordered membership: creation order
    journal: ChangeJournal = field(default_factory=ChangeJournal)
    version: int = 0  # bumps on every change, so cached query results know they are stale

    @property
    def element(self) -> str:
        return FOLDER_ELEMENTS.get(self.folder_class, "Folder")


class Mailbox:
    """One mailbox's folders and items."""

    def __init__(self, number: int, address: str, display_name: str, time_zone: str | None, sync_secret: str) -> None:
        self.number = number
        self.address = address
        self.display_name = display_name
        self.time_zone = time_zone   # IANA name as OWA's options hold it; None: the user never set one
        self.sync_secret = sync_secret
        self.folders: dict[str, Folder] = {}
        self.distinguished: dict[str, str] = {}
        self.items: dict[str, Item] = {}
        self.uids: dict[str, str] = {}  # iCal UID -> calendar item id (meeting copies find each other)
        self.seq = 0
        self.counter = 0
        self.query_cache: dict[Any, list[str]] = {}

    @property
    def calendar_zone(self) -> str:
        """The zone seed times are read in and a series without a zone of its own repeats in: the
        mailbox's zone, UTC when none is set."""
        return self.time_zone or "UTC"

    # -- ids --------------------------------------------------------------------------------

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def new_item_id(self) -> str:
        return ITEM_PREFIX + _b64(f"I:{self.number}:{self._next()}")

    def new_folder_id(self) -> str:
        return FOLDER_PREFIX + _b64(f"F:{self.number}:{self._next()}")

    def new_changekey(self) -> str:
        return "CQAAA" + _b64(f"{self.number}:{self._next()}")

    def user_configuration_id(self) -> str:
        """The item id of the mailbox's one user configuration object (OWA.UserOptions); stable, and
        never an item GetItem finds."""
        return ITEM_PREFIX + _b64(f"C:{self.number}:0")

    def occurrence_id(self, master_id: str, original_start: str) -> str:
        return ITEM_PREFIX + _b64(f"O:{self.number}:{master_id}:{original_start.replace(':', '')}")

    def parse_occurrence_id(self, parts: list[str]) -> tuple[str, str]:
        """(master id, original start) of an occurrence id's parts."""
        compact = parts[3]
        return parts[2], f"{compact[:13]}:{compact[13:15]}:{compact[15:]}"

    # -- folders ----------------------------------------------------------------------------

    def create_distinguished(self) -> None:
        for key, name, folder_class, _element, parent in DISTINGUISHED:
            folder = self.add_folder(self.distinguished.get(parent) if parent else None, name, folder_class, key)
            self.distinguished[key] = folder.id

    def add_folder(self, parent: str | None, name: str, folder_class: str, distinguished: str | None = None) -> Folder:
        folder = Folder(self.new_folder_id(), parent, name, folder_class, distinguished)
        self.folders[folder.id] = folder
        return folder

    def folder(self, folder_id: str) -> Folder:
        parts = decode_id(folder_id, FOLDER_PREFIX)
        if parts[0] != "F" or folder_id not in self.folders:
            raise ItemError("ErrorFolderNotFound", "The specified folder could not be found in the store.")
        return self.folders[folder_id]

    def children(self, folder_id: str) -> list[Folder]:
        return [f for f in self.folders.values() if f.parent == folder_id]

    # -- items and the journal --------------------------------------------------------------

    def touch(self, folder: Folder, item_id: str, change: str) -> None:
        self.seq += 1
        folder.journal.record(self.seq, item_id, change)
        folder.version += 1

    def add_item(self, item: Item) -> None:
        self.items[item.id] = item
        folder = self.folders[item.folder]
        folder.items[item.id] = None
        uid = item.fields.get("UID")
        if item.kind == "CalendarItem" and uid:
            self.uids[uid] = item.id
        self.touch(folder, item.id, "create")

    def remove_item(self, item: Item) -> None:
        del self.items[item.id]
        folder = self.folders[item.folder]
        del folder.items[item.id]
        uid = item.fields.get("UID")
        if uid and self.uids.get(uid) == item.id:
            del self.uids[uid]
        self.touch(folder, item.id, "delete")

    def item(self, item_id: str) -> Item:
        parts = decode_id(item_id, ITEM_PREFIX)
        if parts[0] != "I" or item_id not in self.items:
            raise ItemError("ErrorItemNotFound", "The specified object was not found in the store.")
        return self.items[item_id]

    # -- sync states ------------------------------------------------------------------------

    def sync_state(self, folder_id: str, position: int) -> str:
        mac = hmac.new(self.sync_secret.encode(), f"{folder_id}:{position}".encode(), hashlib.sha256).hexdigest()[:16]
        return _b64(f"{folder_id}:{position}:{mac}")

    def read_sync_state(self, folder_id: str, state: str) -> int:
        try:
            folder, position, mac = base64.b64decode(state, validate=True).decode().split(":")
            expected = hmac.new(self.sync_secret.encode(), f"{folder}:{position}".encode(),
                                hashlib.sha256).hexdigest()[:16]
            if folder != folder_id or not hmac.compare_digest(mac, expected) or int(position) > self.seq:
                raise ValueError(state)
            return int(position)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise ItemError("ErrorInvalidSyncStateData", "Synchronization state data is corrupt or otherwise invalid.") from None

    # -- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "address": self.address, "displayName": self.display_name,
            "timeZone": self.time_zone, "syncSecret": self.sync_secret, "seq": self.seq, "counter": self.counter,
            "distinguished": self.distinguished,
            "folders": [{"id": f.id, "parent": f.parent, "name": f.name, "class": f.folder_class,
                         "distinguished": f.distinguished, "items": list(f.items), "journal": f.journal.to_json()}
                        for f in self.folders.values()],
            "items": [item.to_json() for item in self.items.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Mailbox":
        mailbox = cls(data["number"], data["address"], data["displayName"], data["timeZone"], data["syncSecret"])
        mailbox.seq, mailbox.counter, mailbox.distinguished = data["seq"], data["counter"], data["distinguished"]
        for f in data["folders"]:
            folder = Folder(f["id"], f["parent"], f["name"], f["class"], f["distinguished"],
                            dict.fromkeys(f["items"]), ChangeJournal.from_json(f["journal"]))
            mailbox.folders[folder.id] = folder
        for raw in data["items"]:
            item = Item.from_json(raw)
            mailbox.items[item.id] = item
            if item.kind == "CalendarItem" and item.fields.get("UID"):
                mailbox.uids[item.fields["UID"]] = item.id
        return mailbox
