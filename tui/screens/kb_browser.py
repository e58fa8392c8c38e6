"""Knowledge-base browser: search rules and facts, read one, walk to its neighbours.

A rule is shown with the sections `advisor kb show` prints (conditions, remedies, sources,
examples), each paragraph wrapped at the pane's width (tui/kb_detail.py),
and below it its neighbours in the rule graph: the conclusions it uses, the rules that use its
conclusion, and the other rules that add evidence to the same conclusion. Enter on a neighbour
goes there, so the graph can be walked from the keyboard. `l` loads a knowledge directory of
your own; its validation problems are listed with file:line:col, as `advisor kb validate` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from advisor.tui.kb_detail import fact_blocks, rule_blocks
from advisor.tui.widgets.hypotheses import SEVERITY_MARK, SEVERITY_STYLE
from advisor.tui.widgets.plain import Plain
from advisor.tui.widgets.reflowed import Reflowed
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from advisor.kb.model import KnowledgeBase, Problem, Rule, fact_names, rule_refs

if TYPE_CHECKING:
    from advisor.tui.app import AdvisorApp

NAME_WIDTH = 24  # what fits beside the mark in the 32-column list (see kb_browser.tcss)


def fit(name: str, width: int = NAME_WIDTH) -> str:
    """One line per entry: long ids are cut with an ellipsis (the detail shows them whole)."""
    return name if len(name) <= width else name[: width - 1] + "…"


def neighbours(kb: KnowledgeBase, rule: Rule) -> dict[str, list[Rule]]:
    """The rule's neighbours in the rule graph, by relation."""
    uses = [r for ref in rule_refs(rule.when) for r in kb.rules_for(ref)]
    used_by = [r for r in kb.rules.values()
               if rule.conclusion in rule_refs(r.when) and r.id != rule.id]
    also = [r for r in kb.rules_for(rule.conclusion) if r.id != rule.id]
    if rule.concludes and rule.concludes in kb.rules:
        also = [kb.rules[rule.concludes]] + [r for r in also if r.id != rule.concludes]
    return {"uses": uses, "used by": used_by, "also concludes " + rule.conclusion: also}


def matches(words: list[str], *fields: str) -> bool:
    haystack = " ".join(fields).lower()
    return all(w in haystack for w in words)


def problems_text(problems: list[Problem], source: str) -> Text:
    errors = [p for p in problems if p.level == "error"]
    text = Text(f"{source}: {len(errors) or len(problems)} problem(s); it was not loaded.\n",
                style="bold red")
    for p in problems:
        text.append(str(p.location), style="bold")
        text.append(f": {p.message}\n")
    return text


class KBBrowserScreen(Screen):
    """Keys: / search, l load a directory, tab next pane, escape back."""

    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("l", "load", "Load dir"),
        Binding("down", "to_list", "List", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.shown: str | None = None  # option id of what the detail pane shows
        self.problems: list[Problem] = []
        self.problems_source = ""

    @property
    def advisor(self) -> AdvisorApp:
        return self.app  # type: ignore[return-value]

    @property
    def kb(self) -> KnowledgeBase:
        return self.advisor.kb or KnowledgeBase()

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="kb-body"):
            with Vertical(id="kb-left"):
                yield Input(placeholder="/ search rules and facts", id="kb-search")
                yield OptionList(id="kb-list")
            with Vertical(id="kb-right"):
                with VerticalScroll(id="kb-problems"):
                    yield Plain("", id="kb-problems-text")
                with VerticalScroll(id="kb-detail"):
                    yield Reflowed(id="kb-detail-text")
                yield Plain("Neighbours in the rule graph (enter to go)", classes="pane-title")
                yield OptionList(id="kb-neighbours")
        yield Footer()

    def on_mount(self) -> None:
        app = self.advisor
        if app.kb_problems:
            source = ", ".join(app.kb_dirs) or "the knowledge base"
            self._set_problems(app.kb_problems, source)
        else:
            self._set_problems([], "")
        self._fill("")
        self.query_one("#kb-list", OptionList).focus()

    # ------------------------------------------------------------------ list and detail
    def _fill(self, query: str) -> None:
        words = query.lower().split()
        kb = self.kb
        options: list[Option | None] = []
        rules = [r for r in kb.rules.values()
                 if matches(words, r.id, r.title, " ".join(r.tags), r.kind, r.severity)]
        facts = [f for f in kb.facts.values() if matches(words, f.name, f.meaning)]
        if rules:
            options.append(Option(Text(f"Rules ({len(rules)})", style="bold"), disabled=True))
            for r in sorted(rules, key=lambda r: r.id):
                style = SEVERITY_STYLE.get(r.severity, "")
                mark = (SEVERITY_MARK.get(r.severity, "?") + " ", style)
                options.append(Option(Text.assemble(mark, fit(r.id)), id=f"rule:{r.id}"))
        if facts:
            options.append(Option(Text(f"Facts ({len(facts)})", style="bold"), disabled=True))
            options += [Option(Text.assemble(("· ", "dim"), fit(f.name)), id=f"fact:{f.name}")
                        for f in sorted(facts, key=lambda f: f.name)]
        if not options:
            options.append(Option(Text(f"Nothing matches '{query}'.", style="dim"),
                                  disabled=True))
        listing = self.query_one("#kb-list", OptionList)
        first = next((i for i, o in enumerate(options) if o is not None and not o.disabled),
                     None)
        # Highlighting from code must not come back later as a stale "highlighted" message.
        with self.prevent(OptionList.OptionHighlighted):
            listing.set_options(options)
            if first is not None:
                listing.highlighted = first
        self._show(options[first].id if first is not None else None)  # type: ignore[union-attr]

    def _show(self, option_id: str | None) -> None:
        self.shown = option_id
        detail = self.query_one("#kb-detail-text", Reflowed)
        neighbours_list = self.query_one("#kb-neighbours", OptionList)
        kb = self.kb
        if option_id is None:
            detail.show(Text("Nothing selected.", style="dim"))
            neighbours_list.set_options([])
            return
        kind, _, name = option_id.partition(":")
        if kind == "fact" and name in kb.facts:
            detail.show(fact_blocks(kb, kb.facts[name]))
            users = [r for r in kb.rules.values() if name in fact_names(r.when)]
            neighbours_list.set_options(
                [Option(Text("used by", style="bold"), disabled=True)]
                + [Option(Text(f"  {r.id}"), id=f"n{i}:rule:{r.id}") for i, r in enumerate(users)])
            return
        rule = kb.rules.get(name)
        if rule is None:
            detail.show(Text(f"{name} is no longer in the knowledge base.", style="dim"))
            neighbours_list.set_options([])
            return
        detail.show(rule_blocks(kb, rule))
        options: list[Option] = []
        count = 0
        for relation, rules in neighbours(kb, rule).items():
            options.append(Option(Text(f"{relation} ({len(rules)})", style="bold"),
                                  disabled=True))
            for r in rules:
                options.append(Option(Text(f"  {r.id}"), id=f"n{count}:rule:{r.id}"))
                count += 1
        neighbours_list.set_options(options)
        self.query_one("#kb-detail", VerticalScroll).scroll_home(animate=False)

    def go_to(self, option_id: str) -> None:
        """Show a rule or fact and highlight it in the list, clearing a search that hides it."""
        listing = self.query_one("#kb-list", OptionList)
        try:
            index = listing.get_option_index(option_id)
        except OptionDoesNotExist:  # filtered out by the search: show everything again
            self._clear_search()
            index = listing.get_option_index(option_id)
        with self.prevent(OptionList.OptionHighlighted):
            listing.highlighted = index
        self._show(option_id)

    def _clear_search(self) -> None:
        with self.prevent(Input.Changed):
            self.query_one("#kb-search", Input).value = ""
        self._fill("")

    def _set_problems(self, problems: list[Problem], source: str) -> None:
        self.problems, self.problems_source = list(problems), source
        box = self.query_one("#kb-problems", VerticalScroll)
        box.display = bool(problems)
        self.query_one("#kb-problems-text", Plain).update(
            problems_text(problems, source) if problems else "")

    # ------------------------------------------------------------------ events
    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#kb-list", OptionList).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "kb-list" and event.option_id not in (None, self.shown):
            self._show(event.option_id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option_list.id == "kb-neighbours" and event.option_id:
            target = event.option_id.split(":", 1)[1]
            self.go_to(target)
            self.query_one("#kb-list", OptionList).focus()
        elif event.option_list.id == "kb-list":
            self.query_one("#kb-neighbours", OptionList).focus()

    # ------------------------------------------------------------------ actions
    def action_search(self) -> None:
        self.query_one("#kb-search", Input).focus()

    def action_to_list(self) -> None:
        self.query_one("#kb-list", OptionList).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#kb-search", Input):
            self.query_one("#kb-list", OptionList).focus()
            return
        self.app.pop_screen()

    def action_load(self) -> None:
        from advisor.tui.screens.dialogs import PromptScreen

        def chosen(path: str | None) -> None:
            if path:
                self.notify(f"Validating {path}…", timeout=2, markup=False)
                self.load_directory(path)

        self.app.push_screen(PromptScreen(
            "Load a knowledge directory",
            help="A folder (or one file) of YAML rules and facts, merged with the built-in "
                 "knowledge and fully validated, examples included.",
            placeholder="~/my-rules"), chosen)

    @work(thread=True, exclusive=True, group="kb-load", exit_on_error=False)
    def load_directory(self, path: str) -> None:
        """Validate and merge a user directory off the UI thread (examples run the engine)."""
        from advisor.kb import KBError, load_kb

        dirs = [*self.advisor.kb_dirs, path]
        try:
            kb = load_kb(dirs, builtin=self.advisor.builtin)
        except KBError as exc:
            self.app.call_from_thread(self._loaded, None, exc.problems, path, dirs)
        else:
            self.app.call_from_thread(self._loaded, kb, [], path, dirs)

    def _loaded(self, kb: KnowledgeBase | None, problems: list[Problem], path: str,
                dirs: list[str]) -> None:
        if kb is None:
            self._set_problems(problems, path)
            self.notify(f"{path}: {len(problems)} problem(s); nothing was loaded.",
                        title="Knowledge base", severity="error", timeout=6, markup=False)
            return
        added = len(kb.rules) - len(self.kb.rules)
        self.advisor.replace_kb(kb, dirs)
        self._set_problems([], "")
        self._clear_search()
        self.notify(f"Loaded {path}: {added} new rule(s), {len(kb.rules)} in all.",
                    title="Knowledge base", timeout=6, markup=False)

