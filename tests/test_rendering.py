"""Templates: one template serves both platforms; users can shadow any template."""

from __future__ import annotations

from bot.chat.registry import markups
from bot.core.events import Event
from bot.render.renderer import Renderer


def issue_event(title: str = "Crash on start") -> Event:
    return Event(
        source="github",
        provider="github",
        event="issues.opened",
        title=title,
        url="https://github.com/a/b/issues/1",
        actor="mona",
        text="It <b>breaks</b> *badly*",
        labels={"repo": "a/b"},
        payload={"issue": {"number": 1}},
    )


def test_same_template_formats_per_platform():
    renderer = Renderer(markups=markups())
    slack = renderer.render(issue_event(), "slack")
    discord = renderer.render(issue_event(), "discord")
    assert slack.text == "It &lt;b&gt;breaks&lt;/b&gt; *badly*"
    assert discord.text == "It <b>breaks</b> \\*badly\\*"
    assert slack.url == discord.url == "https://github.com/a/b/issues/1"
    assert "mona" in slack.footer


def test_user_template_dir_shadows_the_default(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.j2").write_text(
        '{% extends "github/default.j2" %}'
        "{% block text %}Opened by {{ event.actor | bold }}: {{ event.url | link('view') }}"
        "{% endblock %}"
    )
    renderer = Renderer(str(tmp_path), markups=markups())
    slack = renderer.render(issue_event(), "slack")
    discord = renderer.render(issue_event(), "discord")
    assert slack.text == "Opened by *mona*: <https://github.com/a/b/issues/1|view>"
    assert discord.text == "Opened by **mona**: [view](https://github.com/a/b/issues/1)"
    # Templates the user did not copy still come from the defaults.
    other = issue_event().model_copy(update={"event": "push", "payload": {"commits": []}})
    assert renderer.render(other, "slack").footer.startswith("GitHub")


def test_platform_variant_wins_for_its_platform(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.discord.j2").write_text(
        '{% extends "github/default.j2" %}{% block text %}discord only{% endblock %}'
    )
    renderer = Renderer(str(tmp_path), markups=markups())
    assert renderer.render(issue_event(), "discord").text == "discord only"
    assert renderer.render(issue_event(), "slack").text != "discord only"


def test_a_failing_template_still_posts_what_happened(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.j2").write_text(
        '{% extends "github/default.j2" %}{% block text %}{{ 1 / 0 }}{% endblock %}'
    )
    message = Renderer(str(tmp_path), markups=markups()).render(
        issue_event("<!channel> alert"), "slack"
    )
    assert message.title == "&lt;!channel&gt; alert"
    assert message.text.startswith("event received; template github/issues.j2 failed:")
    assert "division by zero" in message.text


def test_the_sandbox_refuses_unsafe_attribute_access(tmp_path):
    (tmp_path / "github").mkdir()
    (tmp_path / "github" / "issues.j2").write_text(
        '{% extends "github/default.j2" %}'
        "{% block text %}{{ event.__class__.__mro__ }}{% endblock %}"
    )
    message = Renderer(str(tmp_path), markups=markups()).render(issue_event(), "slack")
    assert "class" not in message.text  # the sandbox hides dunder attributes entirely


def test_time_filter_lets_each_reader_see_local_time():
    renderer = Renderer(markups=markups())
    env_slack = renderer._envs["slack"]
    env_discord = renderer._envs["discord"]
    template = "{{ when | time }}"
    when = 1_700_000_000
    assert env_slack.from_string(template).render(when=when).startswith("<!date^1700000000^")
    assert env_discord.from_string(template).render(when=when) == "<t:1700000000:R>"


def test_code_spans_cannot_ping_on_slack():
    renderer = Renderer(markups=markups())
    branch = "<!channel> & `main`"
    slack = renderer._envs["slack"].from_string("{{ b | code }}").render(b=branch)
    discord = renderer._envs["discord"].from_string("{{ b | code }}").render(b=branch)
    assert slack == "`&lt;!channel&gt; &amp; ˋmainˋ`"
    assert discord == "`<!channel> & ˋmainˋ`"
