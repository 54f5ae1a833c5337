"""``explain`` and the logs name every platform's targets without their secrets."""

from __future__ import annotations

import pytest

from bot.ops.logs import redact
from tests.conftest import fixture_path
from tests.test_explain import explain

CONFIG = """
[store]
url = "sqlite:///{db}"

[sources.github]
provider = "github"
secret = "explain-secret"

[targets.phones]
telegram = "-1001234567890"
topic = 42

[targets.mm]
mattermost = "4xp9fdt8jpgfmkwbn7rd5yqe3a"

[targets.mm-hook]
mattermost_webhook = "https://mm.example.com/hooks/hk7sd3f8bpgm5e9nq1x4ctyzwa"

[targets.teams]
teams_webhook = "https://prod-1.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig=SeCrEt-sig_1"

[[routes]]
to = ["phones", "mm", "mm-hook", "teams"]
"""


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("POST https://api.telegram.org/bot123456:AAE-sEcReT_x/sendMessage", "AAE-sEcReT_x"),
        ("https://x.logic.azure.com/workflows/a/invoke?sv=1.0&sig=SeCrEt%2B1", "SeCrEt%2B1"),
        ("https://mm.example.com/hooks/hk7sd3f8bpgm5e9nq1x4ctyzwa", "hk7sd3f8bpgm5e9nq1x4ctyzwa"),
    ],
)
def test_every_platforms_secrets_are_redacted(text, hidden):
    assert hidden not in redact(text)


def test_our_own_hook_paths_stay_readable():
    assert redact("POST /hooks/github 200") == "POST /hooks/github 200"


async def test_explain_knows_every_platform(tmp_path, fake_slack):
    code, out, err = await explain(
        tmp_path,
        fake_slack.url,
        str(fixture_path("github/issues__opened.json")),
        "--source",
        "github",
        "--header",
        "X-GitHub-Event: issues",
        config_text=CONFIG,
    )
    assert code == 0, err
    assert "-> phones: telegram -1001234567890?topic=42 (lifecycle" in out
    assert "-> mm: mattermost 4xp9fdt8jpgfmkwbn7rd5yqe3a (lifecycle" in out
    assert "-> mm-hook: mattermost https://mm.example.com/hooks/… (lifecycle" in out
    assert "-> teams: teams https://prod-1.westus.logic.azure.com/workflows/" in out
    assert "SeCrEt" not in out and "hk7sd3f8" not in out
