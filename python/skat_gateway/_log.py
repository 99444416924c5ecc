"""How the Rust core's log records meet Python's logging: the level filter read at each call."""

from __future__ import annotations

import logging

LOGGER_NAME = "skat_gateway"


def lowest_enabled_level() -> int:
    """The lowest level that the ``skat_gateway`` logger or any of its children (``skat_gateway.ftp``,
    ``skat_gateway.sim``, ...) would handle, taking ``logging.disable`` into account. Records below it are
    dropped in Rust before they are even formatted."""
    manager = logging.Logger.manager
    levels = [logging.getLogger(LOGGER_NAME).getEffectiveLevel()]
    prefix = LOGGER_NAME + "."
    for name, logger in list(manager.loggerDict.items()):
        if name.startswith(prefix) and isinstance(logger, logging.Logger):
            levels.append(logger.getEffectiveLevel())
    return max(min(levels), manager.disable + 1)
