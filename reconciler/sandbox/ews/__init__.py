"""The Exchange Web Services emulator of the sandbox (see ``service.ExchangeService``)."""

from .service import ExchangeService

__all__ = ["ExchangeService"]
