"""The start-up checks of every configured platform, run by one small runner.

Each platform owns its check (``Platform.check``); this runs them side by side, posting
nothing, and keeps the result where ``status`` and the inspector read it. ``serve`` runs
it in the background once it listens, so a slow chat API never delays ``$PORT``;
``python -m bot doctor`` runs it in the foreground.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bot.chat import ChatAdapter, registry
from bot.chat.platform import Finding
from bot.config.settings import Settings


class Checkup:
    """The latest findings; ``None`` until the first check has finished."""

    def __init__(self) -> None:
        self.findings: list[Finding] | None = None

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings or [] if not f.ok]

    def lines(self) -> list[str]:
        """What ``status`` shows: each finding, a problem marked as one."""
        if self.findings is None:
            return ["still checking the chat tokens and targets"]
        if not self.findings:
            return ["no chat platform configured: nothing to check"]
        return [f"{'ok' if f.ok else 'problem'}: {f.text}" for f in self.findings]

    async def run(self, adapters: Mapping[str, ChatAdapter], settings: Settings) -> list[Finding]:
        checks = [
            check(adapter, settings)
            for name, adapter in adapters.items()
            if (check := registry.PLATFORMS[name].check) is not None
        ]
        found = await asyncio.gather(*checks)
        self.findings = [finding for findings in found for finding in findings]
        return self.findings
