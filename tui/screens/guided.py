"""Guided diagnosis: one question at a time, chosen by the engine's backward chaining.

The left pane asks (answer choices plus "don't know", or a number field); the right pane shows
the hypotheses the answers support, with certainty bars that move after every answer, and the
answers so far, any of which can be picked to change it. Without given facts the interview
starts from a symptom the person picks; after a probe or a report it asks only what is still
unknown (the engine never asks a known fact). The interview ends, and the results open by
themselves, when nothing is left to ask, when no answer to any remaining question can change
the leading diagnoses, or after MAX_QUESTIONS; the screen says which, and lists what was asked
and answered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from advisor.tui.session import (
    GuidedSession,
    NotANumber,
    format_value,
    parse_number,
    short_label,
    symptom_facts,
    symptom_label,
)
from advisor.tui.widgets.hypotheses import HypothesisBars
from advisor.tui.widgets.number_input import NumberInput
from advisor.tui.widgets.plain import Plain
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList
from textual.widgets.option_list import Option

from advisor.engine import Question

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

UNKNOWN = "unknown"  # the option id of "don't know"
NO_SYMPTOM = "none"  # "none of these": let the engine ask from scratch
HYPOTHESES_SHOWN = 5


def _numbered(index: int, label: Text) -> Text:
    """Prefix the first nine choices with the digit that picks them."""
    key = f"{index + 1} " if index < 9 else "  "
    return Text.assemble((key, "dim"), label)


class GuidedScreen(Screen):
    """The interview. Keys: 1-9 pick a choice, d don't know, w why, b back, a answers (to change
    one), r results, escape home."""

    BINDINGS = [
        Binding("w", "why", "Why?"),
        Binding("b", "back", "Back"),
        Binding("d", "dont_know", "Don't know"),
        Binding("a", "answers", "Answers"),
        Binding("r", "results", "Results"),
        Binding("escape", "home", "Home"),
        *(Binding(str(n), f"choose({n})", f"Choice {n}", show=False) for n in range(1, 10)),
    ]

    def __init__(self, session: GuidedSession, *, source: str = "",
                 series: dict[str, list[float]] | None = None,
                 results: dict[str, Any] | None = None) -> None:
        """`results`: what the results screen gets besides the diagnosis (the setup probed,
        a verified report's trials): passed through."""
        super().__init__()
        self.session = session
        self.source = source
        self.series = series or {}
        self.results = dict(results or {})
        self.question: Question | None = None
        self.mode = "symptom"  # symptom | question | done
        self.reinsert_at: int | None = None  # where a changed answer goes back in the history
        self._choices: list[Any] = []

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="guided-body"):
            with Vertical(id="question-pane"):
                yield Plain("", id="guided-step")
                yield Plain("", id="question-text")
                yield Plain("", id="question-help")
                yield OptionList(id="choices")
                yield NumberInput(placeholder="a number, then enter", id="number")
                yield Input(placeholder="type the answer, then enter", id="text")
                yield Plain("", id="number-error")
            with Vertical(id="side-pane"):
                yield Plain("Hypotheses", classes="pane-title")
                yield HypothesisBars(id="hypotheses")
                yield Plain("Your answers (enter to change)", classes="pane-title")
                yield OptionList(id="answers")
        yield Footer()

    def on_mount(self) -> None:
        if self.session.given:
            self._advance()
        else:
            self._show_symptoms()

    # ------------------------------------------------------------------ showing
    def _show_symptoms(self) -> None:
        self.mode, self.question = "symptom", None
        facts = symptom_facts(self.session.kb)
        self._choices = [f.name for f in facts] + [NO_SYMPTOM]
        self._step("Start with what you saw.")
        self.query_one("#question-text", Plain).update(
            Text("What went wrong? Pick the symptom you noticed first.", style="bold"))
        self.query_one("#question-help", Plain).update(
            "advisor then asks only the questions that tell the likely causes apart.")
        labels = [Text(symptom_label(f)) for f in facts]
        labels.append(Text("None of these / not sure: let advisor ask", style="italic"))
        options = [Option(_numbered(i, label), id=f"c{i}") for i, label in enumerate(labels)]
        self._set_options(options)
        self._refresh_side()

    def _show_question(self, question: Question) -> None:
        self.mode, self.question = "question", question
        fact = question.fact
        self.query_one("#question-text", Plain).update(Text(question.text, style="bold"))
        self.query_one("#question-help", Plain).update(question.help)
        choices = question.choices
        self._choices = [value for value, _ in choices] + [None]
        number = self.query_one("#number", NumberInput)
        self.query_one("#number-error", Plain).update("")
        if choices:
            labels = [Text(str(label)) for _, label in choices]
            labels.append(Text("Don't know (d)", style="italic"))
            options = [Option(_numbered(i, label), id=f"c{i}") for i, label in enumerate(labels)]
            self._set_options(options)
        elif fact.type == "string":  # free text: every key is typing, so enter alone = unknown
            self._set_options([])
            text = self.query_one("#text", Input)
            text.value = ""
            text.display = True
            text.focus()
            self.query_one("#number-error", Plain).update(
                Text("enter with nothing typed: don't know", style="dim"))
        else:
            self._set_options([])
            number.value = ""
            number.display = True
            number.placeholder = (f"a number ({fact.unit}), then enter" if fact.unit
                                  else "a number, then enter")
            number.focus()
            self.query_one("#number-error", Plain).update(
                Text("d: don't know", style="dim"))
        self._step(f"Question {self.session.asked + 1}")
        self._refresh_side()

    def _show_done(self) -> None:
        """The interview is over: say why, and what was asked and answered."""
        self.mode, self.question = "done", None
        ended = self.session.end_message
        self._step("No more questions.")
        self.query_one("#question-text", Plain).update(
            Text(ended or "advisor has nothing more to ask.", style="bold"))
        summary = Text()
        lines = self.session.summary()
        if lines:
            unknown = sum(1 for a in self.session.answers
                          if a.question is not None and not a.known)
            summary.append(f"{len(lines)} question(s) asked, {len(lines) - unknown} answered, "
                           f"{unknown} don't know:\n", style="bold")
            summary.append("\n".join(f"  {line}" for line in lines) + "\n\n")
        summary.append("r: see the diagnosis again   b: go back and change an answer   "
                       "escape: home", style="dim")
        self.query_one("#question-help", Plain).update(summary)
        self._set_options([])
        self._refresh_side()

    def _set_options(self, options: list[Option]) -> None:
        choices = self.query_one("#choices", OptionList)
        choices.set_options(options)
        choices.display = bool(options)
        self.query_one("#number", NumberInput).display = False
        self.query_one("#text", Input).display = False
        if options:
            choices.highlighted = 0
            choices.focus()

    def _step(self, text: str) -> None:
        line = Text(text, style="bold")
        given = len(self.session.given)
        if given:
            line.append(f"   {given} facts from the {self.source or 'probe'}; asking only what "
                        "it could not measure.", style="not bold dim")
        self.query_one("#guided-step", Plain).update(line)

    def _refresh_side(self) -> None:
        bars = self.query_one("#hypotheses", HypothesisBars)
        bars.show(self.session.hypotheses(HYPOTHESES_SHOWN))
        answers = self.query_one("#answers", OptionList)
        options = []
        for i, a in enumerate(self.session.answers):
            fact = self.session.kb.facts.get(a.fact)
            label = Text(f"{short_label(fact) if fact else a.fact} ", style="dim")
            label.append(format_value(a.value), style="bold")
            options.append(Option(label, id=f"a{i}"))
        answers.set_options(options)

    # ------------------------------------------------------------------ answering
    def _advance(self) -> None:
        """Ask the engine for the next question; open the results when there is none."""
        self.reinsert_at = None
        try:
            question = self.session.next_question()
        except Exception as exc:  # an engine bug must not end the person's session
            self._show_done()
            self.advisor.show_message("The engine failed to pick a question",
                                      f"{type(exc).__name__}: {exc}\n\nYour answers are kept: "
                                      "press r for the diagnosis so far, or b to go back.",
                                      error=True)
            return
        if question is None:
            self._show_done()
            if self.session.end_message:
                self.notify(self.session.end_message, title="Guided diagnosis", timeout=6,
                            markup=False)
            self.advisor.show_results(self.session, series=self.series, **self.results)
        else:
            self._show_question(question)

    def _record(self, value: Any) -> None:
        if self.mode == "symptom":
            return
        assert self.question is not None
        self.session.answer(self.question.fact.name, value, self.question, at=self.reinsert_at)
        self._advance()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "answers":
            self._change(event.option_index)
        else:
            self._choose(event.option_index)

    def _choose(self, index: int) -> None:
        if not 0 <= index < len(self._choices):
            return
        if self.mode == "symptom":
            name = self._choices[index]
            if name != NO_SYMPTOM:
                self.session.answer(name, True, None, at=self.reinsert_at)
            self._advance()
        elif self.mode == "question":
            self._record(self._choices[index])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "text":
            self._record(event.value.strip() or None)
            return
        try:
            number = parse_number(event.value)
        except NotANumber as exc:  # shown beside the field; the value is never guessed
            self.query_one("#number-error", Plain).update(
                Text(f"{exc}; or press d for don't know.", style="red"))
            return
        self._record(number)

    def _change(self, index: int) -> None:
        """Take an earlier answer out and ask its question again; later answers stay."""
        if not 0 <= index < len(self.session.answers):
            return
        answer = self.session.take(index)
        self.reinsert_at = index
        if answer.question is None:
            self._show_symptoms()
        else:
            self._show_question(answer.question)

    # ------------------------------------------------------------------ actions
    def action_choose(self, number: int) -> None:
        """Digit keys pick a choice directly: one key per answer."""
        if self.mode in ("symptom", "question"):
            self._choose(number - 1)

    def action_dont_know(self) -> None:
        if self.mode == "question":
            self._record(None)

    def action_back(self) -> None:
        answer = self.session.back()
        self.reinsert_at = None
        if answer is None:
            if self.mode != "symptom" and not self.session.given:
                self._show_symptoms()
            else:
                self.notify("Nothing to go back to.", timeout=2, markup=False)
            return
        if answer.question is None:
            self._show_symptoms()
        else:
            self._show_question(answer.question)

    def action_why(self) -> None:
        from advisor.tui.screens.dialogs import MessageScreen

        if self.mode == "question" and self.question is not None:
            text = Text(self.question.why(self.session.kb))
            if self.question.help:
                text.append("\n\nHow to tell: ", style="bold")
                text.append(self.question.help)
        elif self.mode == "symptom":
            text = Text("The symptom you saw first tells advisor which failure modes to "
                        "pursue; it then asks only questions whose answers change their "
                        "certainty.")
        else:
            text = Text("advisor has no open question: every hypothesis is either decided or "
                        "cannot be moved by anything left to ask.")
        self.app.push_screen(MessageScreen("Why this question?", text))

    def action_answers(self) -> None:
        answers = self.query_one("#answers", OptionList)
        if answers.option_count:
            answers.focus()
            if answers.highlighted is None:
                answers.highlighted = answers.option_count - 1
        else:
            self.notify("No answers yet.", timeout=2, markup=False)

    def action_results(self) -> None:
        self.advisor.show_results(self.session, series=self.series, **self.results)

    def action_home(self) -> None:
        self.advisor.go_home()
