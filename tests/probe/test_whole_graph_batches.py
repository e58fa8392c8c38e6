"""Whole-graph batches: one batch holds every node, a mask says which are labelled, and the
loss sees those only (issue 9: counted as one sample, or as every node)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from advisor.probing.data_scan import scan


@dataclass
class Graph:
    features: torch.Tensor
    adj: torch.Tensor
    labels: torch.Tensor
    idx: torch.Tensor


class TinyGCN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(5, 3)

    def forward(self, features, adj):
        return torch.sparse.mm(adj, self.fc(features)).log_softmax(1)


def _graph(nodes: int = 50, labelled: int = 12) -> Graph:
    g = torch.Generator().manual_seed(0)
    edges = torch.randint(0, nodes, (2, 120), generator=g)
    adj = torch.sparse_coo_tensor(edges, torch.ones(120), (nodes, nodes),
                                  check_invariants=True).coalesce()
    return Graph(torch.randn(nodes, 5, generator=g), adj,
                 torch.randint(0, 3, (nodes,), generator=g), torch.arange(labelled))


def _step(model, graph):
    return model(graph.features, graph.adj)[graph.idx], graph.labels[graph.idx]


def test_a_graph_object_counts_its_labelled_nodes():
    result = scan([_graph()], step=_step, model=TinyGCN())
    assert result.samples == 12 and result.batch_size == 12
    assert result.record().num_samples() == 12


def test_a_graph_tuple_counts_its_labelled_nodes_not_every_node():
    graph = _graph()

    def step(model, batch):
        features, adj, labels, idx = batch
        return model(features, adj)[idx], labels[idx]

    batch = (graph.features, graph.adj, graph.labels, graph.idx)
    result = scan([batch], step=step, model=TinyGCN())
    assert result.samples == 12


def test_ordinary_batches_given_to_a_step_count_as_before():
    x, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    batches = [(x[i:i + 16], y[i:i + 16]) for i in range(0, 64, 16)]
    result = scan(batches, step=lambda m, b: (m(b[0]), b[1]), model=nn.Linear(5, 3))
    assert result.samples == 64 and result.batch_size == 16
