"""The one sanitizer at the rendering boundary (conductor/terminal.py): any text comes out with
nothing a terminal acts on — C0 controls but tab and newline, DEL, C1 controls, bidi overrides
and isolates, lone surrogates — each shown as its escape; text without them is unchanged; JSON
stays data that decodes to the same strings. And every way out passes it: reports, progress
lines and the board, errors."""

from __future__ import annotations

import importlib
import io
import json
import pkgutil
import re
import sys

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

import conductor.commands
import conductor.runner
from conductor import boundary
from conductor.errors import ConductorError
from conductor.progress import Board, say
from conductor.report import Report, display_width, json_line, json_text
from conductor.runner.publish import prbody
from conductor.terminal import MARK_OFF, MARK_ON, Screen, clean, json_escape, styled

# Never on a terminal: C0 but \t and \n, DEL, C1, the bidi embeddings, overrides and isolates,
# lone surrogates (not writable as UTF-8 at all).
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
SEQUENCES = [
    "\x1b]52;c;cHduZWQ=\x07",  # OSC 52, BEL-terminated
    "\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\",  # OSC 8, ST-terminated
    "\x1b]0;title\x07",
    "\x1b[2J\x1b[H",
    "\x1bP+q\x1b\\",  # DCS
    "\x1b_apc\x1b\\",
    "\x1b^pm\x1b\\",
    "\x1bXsos\x1b\\",
    "\x9b2J",  # 8-bit CSI
    "\x9d0;t\x9c",  # 8-bit OSC and ST
    "\r",
    "\u202e",
    "\u2066",
]
HOSTILE = st.lists(
    st.one_of(
        st.characters(exclude_categories=["Cs"]),
        # lone surrogates: bytes that were not UTF-8, as surrogateescape decodes them (only low
        # ones: a high and a low one side by side would be one character to any JSON reader)
        st.integers(0xDC80, 0xDCFF).map(chr),
        st.sampled_from([*"\x1b\x07\r\b\x7f\x85\x9b\x9c\x9d\u202a\u202e\u2066\u2069\n\t[]/;", *SEQUENCES]),
    )
).map("".join)
SAFE = st.text(alphabet=st.characters().filter(lambda c: FORBIDDEN.match(c) is None))


@given(HOSTILE)
def test_nothing_a_terminal_acts_on_comes_out(text: str) -> None:
    shown = clean(text)
    assert FORBIDDEN.search(shown) is None
    shown.encode("utf-8")  # writable: no lone surrogate left
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")
    # marked (on a terminal): the marks are the only escapes, around the same text
    marked = clean(text, marked=True)
    assert marked.replace(MARK_ON, "").replace(MARK_OFF, "") == shown


@given(SAFE)
def test_plain_text_is_unchanged(text: str) -> None:
    assert clean(text) == text
    assert clean(text, marked=True) == text


def test_each_character_is_shown_as_its_escape() -> None:
    shown = clean("".join(SEQUENCES) + "\udc80\x00\x7f")
    assert shown == (
        "\\x1b]52;c;cHduZWQ=\\x07\\x1b]8;;https://evil.example/\\x1b\\link\\x1b]8;;\\x1b\\\\x1b]0;title\\x07"
        "\\x1b[2J\\x1b[H\\x1bP+q\\x1b\\\\x1b_apc\\x1b\\\\x1b^pm\\x1b\\\\x1bXsos\\x1b\\\\x9b2J\\x9d0;t\\x9c"
        "\\r\\u202e\\u2066\\udc80\\x00\\x7f"
    )
    assert clean("a\x1bb", marked=True) == f"a{MARK_ON}\\x1b{MARK_OFF}b"
    assert clean("[bold red]x[/bold red] ünïcödé 漢字 🙂") == "[bold red]x[/bold red] ünïcödé 漢字 🙂"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | HOSTILE,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(HOSTILE, inner, max_size=4),
    max_leaves=12,
)


@pytest.mark.slow  # end to end, half a second or more: the fast tier stays under a minute
@given(JSON_VALUES)
def test_json_is_data_a_terminal_does_not_act_on_and_decodes_to_the_same_strings(data: object) -> None:
    for text in (json_text(data), json_line(data)):
        assert FORBIDDEN.search(text) is None
        assert json.loads(text) == data
    assert "\n" not in json_line(data)


def test_json_escapes_what_json_dumps_leaves_raw() -> None:
    raw = json.dumps("\x7f\x9b\u202e\udc80", ensure_ascii=False)
    assert FORBIDDEN.search(raw) is not None  # json.dumps alone lets them through
    assert json_escape(raw) == '"\\u007f\\u009b\\u202e\\udc80"'


def test_a_screen_cleans_what_is_written_and_paints_only_conductors_styles() -> None:
    out = io.StringIO()
    screen = Screen(out, marked=False)
    screen.write("a\x1b[2Jb\n")
    screen.paint("+x\x1b]52;c;aGk=\x07", "green")
    assert out.getvalue() == "a\\x1b[2Jb\n\x1b[32m+x\\x1b]52;c;aGk=\\x07\x1b[39m"
    assert Screen(io.StringIO()).marked is False  # not a terminal: no marks


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_marks_on_a_terminal_unless_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert styled(Tty()) is True and Screen(Tty()).marked is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert styled(Tty()) is False
    closed = io.StringIO()
    closed.close()
    assert styled(closed) is False


@pytest.mark.parametrize("as_json", [False, True])
def test_a_report_is_printed_through_the_sanitizer(as_json: bool) -> None:
    evil = "".join(SEQUENCES) + "[bold]x[/bold]"

    class Said(Report):
        def to_json(self) -> object:
            return {"said": evil}

        def render(self) -> str:
            return f"said: {evil}"

    out = io.StringIO()
    Said().emit(out, as_json=as_json)
    assert FORBIDDEN.search(out.getvalue()) is None
    if as_json:
        assert json.loads(out.getvalue()) == {"said": evil}
    else:
        assert out.getvalue() == f"said: {clean(evil)}\n"


def _all_reports() -> list[type[Report]]:
    for package in (conductor.commands, conductor.runner):  # the runner's rooms and their modules too
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            importlib.import_module(module.name)
    found, todo = [], [Report]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_no_report_prints_around_the_sanitizer() -> None:
    """`emit` is the one way out (final: mypy says so too); a report that streams overrides `show`."""
    reports = _all_reports()
    assert len(reports) > 20
    assert [cls.__qualname__ for cls in reports if "emit" in vars(cls) and cls is not Report] == []


def test_display_width_counts_an_escape_as_shown() -> None:
    assert display_width("a\x1bb") == len("a\\x1bb")
    assert display_width("\u202e漢") == len("\\u202e") + 2


def test_progress_lines_are_cleaned(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    say("[p/main] step_001: claimed by worker evil\x1b]52;c;aGk=\x07\u202e")
    Board(live=False).say("[p/main] step_001: \x9b2J done")
    assert err.getvalue().splitlines() == [
        "[p/main] step_001: claimed by worker evil\\x1b]52;c;aGk=\\x07\\u202e",
        "[p/main] step_001: \\x9b2J done",
    ]


def test_the_live_board_shows_agent_text_as_text_not_markup() -> None:
    board = Board(live=False)
    markup = "[bold red]markup[/bold red] [link=https://x]y[/link]"
    board.say(f"[plan-1/evil\x1b[2J] step_001: {markup} \x1b]52;c;aGk=\x07\u202e")
    out = io.StringIO()
    console = Console(file=out, width=300, force_terminal=True, color_system="standard")
    console.print(board._render())  # as the live board draws it: rich's own codes, and text
    shown = out.getvalue()
    assert "[bold red]markup[/bold red]" in shown and "[link=https://x]y[/link]" in shown
    assert "\\x1b]52;c;aGk=\\x07\\u202e" in shown and "evil\\x1b[2J" in shown
    # rich's own colour codes are the only escapes: no OSC, no clear, no BEL, C1 or bidi control
    assert "\x1b]" not in shown and "\x1b[2J" not in shown
    assert re.search("[\x07\x80-\x9f\u202a-\u202e\u2066-\u2069]", shown) is None


def test_errors_are_cleaned_at_the_boundary() -> None:
    said: list[str] = []

    def fail() -> int:
        raise ConductorError("no fork x\x1b]52;c;aGk=\x07 of plan \u202ep", hint="its forks: \x9b2J")

    assert boundary.run(fail, argv=[], verbose=lambda: False, echo=said.append) == 1
    assert said == ["error: no fork x\\x1b]52;c;aGk=\\x07 of plan \\u202ep\nhint: its forks: \\x9b2J"]

    def usage() -> int:
        raise click.UsageError("no such step '\x1b[2J'")

    said.clear()
    assert boundary.run(usage, argv=[], verbose=lambda: False, echo=said.append) == 2
    assert said == ["Error: no such step '\\x1b[2J'"]

    def bug() -> int:
        raise ValueError("\x1b]0;title\x07")

    said.clear()
    assert boundary.run(bug, argv=[], verbose=lambda: True, echo=said.append) == 3
    assert all(FORBIDDEN.search(line) is None for line in said) and "\\x1b]0;title\\x07" in said[-1]


def test_the_pull_request_body_shows_control_and_bidi_characters_as_escapes() -> None:
    facts = prbody.PrFacts(
        plan="p",
        fork="main",
        goal="Add \u202eadmin check\u202c",
        strategy="s",
        branch="conductor/p/main",
        base="0" * 40,
        steps=[
            prbody.StepFacts(
                "step_001",
                "Write \u2066x\u2069",
                "completed",
                rejections=[prbody.Rejection(1, "Constraint violation", "evil\x1b]0;t\x07.md: refused")],
            )
        ],
    )
    body, title = prbody.render(facts), prbody.title(facts)
    assert FORBIDDEN.search(body) is None and FORBIDDEN.search(title) is None
    assert "Add \\u202eadmin check\\u202c" in body and title == "Add \\u202eadmin check\\u202c"
    assert "evil\\x1b]0;t\\x07.md" in body
