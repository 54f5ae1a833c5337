"""Chat commands (``/notify mute ...``): one core, three front ends (Slack, Discord, CLI).

The core reads like the command's life: ``grammar`` parses, ``permissions`` authorizes,
``core`` applies and replies; ``bot.pipeline.notices`` tells the channel through the outbox.
"""

from __future__ import annotations

from bot.commands.core import CommandCore, Reply
from bot.commands.grammar import CommandError
from bot.commands.permissions import Caller

__all__ = ["Caller", "CommandCore", "CommandError", "Reply"]
