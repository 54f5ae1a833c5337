"""Field expressions: how a `generic` source's config reads any JSON body without code.

A value is either a dotted path into the body (``deploy.id``, ``alerts.0.name``) or a
Jinja template over it (``"{{ service }} {{ version }} {{ status }}"``); text without
``{{``/``{%`` and with spaces or punctuation is a template that renders to itself, a
constant. Templates run in Jinja's sandbox: the expressions come from the operator's
config, the values they read from senders, and neither may reach Python internals.
They are compiled when the config loads, so a syntax error or an unknown filter stops
the bot at start with the key named, instead of failing on the first event.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_PATH = re.compile(r"[A-Za-z_][\w-]*(?:\.[\w-]+)*")


def _finalize(value: Any) -> Any:
    return "" if value is None else value


_ENVIRONMENT = SandboxedEnvironment(
    autoescape=False, undefined=ChainableUndefined, finalize=_finalize
)


class ExpressionError(ValueError):
    """An expression cannot be compiled (at load) or evaluated (on an event)."""


@dataclass(frozen=True)
class FieldExpression:
    """One compiled field: ``render(body)`` is the text it makes of a JSON body."""

    source: str
    template: Template

    def render(self, body: Any) -> str:
        # Top-level keys of an object body are variables; `payload` is the whole body.
        names = {str(k): v for k, v in body.items()} if isinstance(body, dict) else {}
        try:
            return self.template.render({**names, "payload": body}).strip()
        except Exception as exc:  # whatever the expression does with the body
            raise ExpressionError(f"{self.source!r} failed: {type(exc).__name__}: {exc}") from None


def compile_field(source: str) -> FieldExpression:
    """Compile a dotted path or a template; raise ``ExpressionError`` with the reason."""
    if _PATH.fullmatch(source.strip()):
        lookups = "".join(
            f"[{part}]" if part.isdigit() else f"[{part!r}]" for part in source.strip().split(".")
        )
        text = "{{ payload" + lookups + " }}"
    else:
        text = source
    try:
        return FieldExpression(source, _ENVIRONMENT.from_string(text))
    except TemplateError as exc:
        raise ExpressionError(f"{source!r} is not a valid template: {exc}") from None
