"""The rule graph: facts, rules and conclusions as nodes of a networkx DiGraph.

Edges run fact -> rule (the rule tests the fact), conclusion -> rule (the rule uses another
rule's conclusion) and rule -> conclusion (what the rule adds evidence to). The graph must be a
DAG; its topological order is the engine's evaluation order, and its ancestors and descendants
answer "what can never fire" and "what is never used".
"""

from __future__ import annotations

import json
from typing import Any

import networkx as nx

from advisor.kb.model import KnowledgeBase, Problem, fact_names, rule_refs

FACT, RULE, CONCLUSION = "fact", "rule", "conclusion"


def node(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def build_graph(kb: KnowledgeBase) -> nx.DiGraph:
    g = nx.DiGraph()
    for fact in kb.facts.values():
        g.add_node(node(FACT, fact.name), kind=FACT, name=fact.name, type=fact.type,
                   measured=bool(fact.measured), asked=fact.ask is not None)
    for rule in kb.rules.values():
        r = node(RULE, rule.id)
        g.add_node(r, kind=RULE, name=rule.id, cf=rule.cf, severity=rule.severity,
                   title=rule.title)
        c = node(CONCLUSION, rule.conclusion)
        g.add_node(c, kind=CONCLUSION, name=rule.conclusion)
        g.add_edge(r, c)
        for name in fact_names(rule.when):
            g.add_edge(node(FACT, name), r)
        for ref in rule_refs(rule.when):
            # a rule may use a conclusion before the file defines it: name the node here too
            g.add_node(node(CONCLUSION, ref), kind=CONCLUSION, name=ref)
            g.add_edge(node(CONCLUSION, ref), r)
    return g


def rule_order(kb: KnowledgeBase, g: nx.DiGraph | None = None) -> list[str]:
    """Rule ids in an order where every rule comes after the rules whose conclusions it uses.

    Ties are broken by the order of the files, so evaluation is deterministic. The order is
    remembered in the graph `g` given, for the next caller with the same graph.
    """
    if g is not None and "rule_order" in g.graph:
        return list(g.graph["rule_order"])
    g = g if g is not None else build_graph(kb)
    position = {node(RULE, rid): i for i, rid in enumerate(kb.rules)}
    ordered = nx.lexicographical_topological_sort(g, key=lambda n: (position.get(n, -1), n))
    order = [g.nodes[n]["name"] for n in ordered if g.nodes[n]["kind"] == RULE]
    g.graph["rule_order"] = tuple(order)
    return order


def check_graph(kb: KnowledgeBase, g: nx.DiGraph | None = None) -> list[Problem]:
    g = g if g is not None else build_graph(kb)
    cycle = None
    if not nx.is_directed_acyclic_graph(g):  # ten times faster than looking for a cycle
        cycle = nx.find_cycle(g)
    if cycle:
        rules = [g.nodes[a]["name"] for a, _ in cycle if g.nodes[a]["kind"] == RULE]
        first = kb.rules[rules[0]]
        path = " -> ".join(rules + rules[:1])
        return [Problem(first.location, f"rules depend on each other in a cycle: {path}; "
                        "a conclusion cannot be evidence for itself")]
    return _never_fire(kb, g) + _unused(kb, g)


def _never_fire(kb: KnowledgeBase, g: nx.DiGraph) -> list[Problem]:
    """Rules none of whose inputs can ever be known: nothing measures or asks what they need."""
    available: set[str] = {n for n, d in g.nodes(data=True)
                           if d["kind"] == FACT and (d["measured"] or d["asked"])}
    problems = []
    for rid in rule_order(kb, g):
        r = node(RULE, rid)
        if any(p in available for p in g.predecessors(r)):
            available.add(r)
            available.add(node(CONCLUSION, kb.rules[rid].conclusion))
        else:
            problems.append(Problem(kb.rules[rid].location, f"rule '{rid}' can never fire: no "
                                    "fact it needs is measured or asked", level="warning"))
    return problems


def _unused(kb: KnowledgeBase, g: nx.DiGraph) -> list[Problem]:
    problems = []
    for rule in kb.rules.values():
        is_leaf = rule.kind == "symptom" and not rule.concludes and rule.severity == "info"
        if is_leaf and g.out_degree(node(CONCLUSION, rule.id)) == 0:
            problems.append(Problem(rule.location, f"conclusion '{rule.id}' is an info-level "
                                    "symptom that no rule uses", level="warning"))
    for fact in kb.facts.values():
        if g.out_degree(node(FACT, fact.name)) == 0:
            problems.append(Problem(fact.location, f"fact '{fact.name}' is used by no rule",
                                    level="info"))
    return problems


def graph_of(kb: KnowledgeBase) -> nx.DiGraph:
    """The graph the loader validated, or a new one for a base assembled by hand."""
    return kb.graph if kb.graph is not None else build_graph(kb)


def to_json(kb: KnowledgeBase) -> str:
    data: dict[str, Any] = nx.node_link_data(graph_of(kb), edges="edges")
    return json.dumps(data, indent=2, sort_keys=True)


def to_dot(kb: KnowledgeBase) -> str:
    g = graph_of(kb)
    shapes = {FACT: "ellipse", RULE: "box", CONCLUSION: "doubleoctagon"}
    lines = ["digraph advisor_kb {", "  rankdir=LR;"]
    for n, d in g.nodes(data=True):
        lines.append(f'  "{n}" [shape={shapes[d["kind"]]}, label="{d["name"]}"];')
    for a, b in g.edges():
        lines.append(f'  "{a}" -> "{b}";')
    lines.append("}")
    return "\n".join(lines) + "\n"
