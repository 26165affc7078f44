"""The Exchange Web Services emulator of the sandbox (see ``service.ExchangeService``).

Implemented operations (anything else is a SOAP fault naming the operation): GetFolder, FindFolder,
CreateFolder, FindItem, GetItem, CreateItem, UpdateItem, DeleteItem, SyncFolderItems, ResolveNames.
"""

from .service import ExchangeService

__all__ = ["ExchangeService"]
