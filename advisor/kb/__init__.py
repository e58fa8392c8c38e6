"""Knowledge loading and validation. Imports neither torch nor textual."""

from advisor.kb.loader import KBError, builtin_dir, load_kb
from advisor.kb.model import Fact, KnowledgeBase, Location, Problem, Rule

__all__ = ["KBError", "Fact", "KnowledgeBase", "Location", "Problem", "Rule", "builtin_dir",
           "load_kb"]
