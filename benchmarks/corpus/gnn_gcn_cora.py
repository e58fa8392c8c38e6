"""A two-layer Graph Convolutional Network (Kipf & Welling) trained on the whole graph at once,
re-implemented from pytorch/examples `gcn/main.py` (commit
2e70ddadbcdbb2f64517ab5463c8977d05ea3e26), which trains on the Cora citation graph.

What is kept: `GraphConv` (H' = A_hat H W with a Xavier-normal kernel, no bias by default because
`--include-bias` is off), two layers with ReLU and dropout between them, `log_softmax` output and
`nn.NLLLoss`; the renormalised adjacency D^-1/2 (A + I) D^-1/2 as a `torch.sparse` tensor
multiplied with `torch.sparse.mm`; row-normalised bag-of-words features; full-graph training:
one step = one forward of the whole graph with the loss on the training nodes only (an index
tensor, as `idx_train` in the original) and validation on the validation nodes; Adam lr=0.01,
weight_decay=5e-4, dropout 0.5, hidden 16, seed 42.

Deliberate differences:
- Data: Cora is downloaded by the original; here a synthetic stochastic-block-model graph in its
  likeness: 7 classes of 100 nodes, undirected edges with probability 0.03 inside a class and
  0.002 across (mean degree about 4, homophily about 0.7, like Cora), and a 300-word binary
  bag-of-words per node (about 18 words) drawn 35 % from a class topic and 65 % uniformly, so that
  neither the words nor the graph alone give the class away. Sizes shrink from 2708 nodes and
  1433 words; the split keeps the original's proportions (37 % test, 18 % validation, 45 % train).
- The features are a dense tensor; the original turns them into a sparse one too
  (`features.to_sparse()`). Sparse features make advisor's data scan crash (torch.isfinite is
  not implemented for sparse tensors), reported to the advisor team; the adjacency stays sparse.
- One batch is a small `Graph` object (features, adjacency, labels, node indices), the way
  graph libraries hand a graph around, instead of the original's tuple of tensors: advisor's
  small-batch overfit test cuts every tensor of a tuple batch to its first rows, which breaks a
  whole-graph batch (a sparse adjacency cannot be sliced: NotImplementedError 'aten::as_strided'
  on SparseCPU; reported to the advisor team).
- The original's train_iter also evaluates after each step; here the probe does validation.
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

CORPUS = {
    "source": "https://github.com/pytorch/examples",
    "path": "gcn/main.py",
    "commit": "2e70ddadbcdbb2f64517ab5463c8977d05ea3e26",
    "family": "gnn",
    "task": "multiclass",
    "notes": "full-graph masked training on a synthetic SBM graph with class-correlated "
             "bag-of-words features (Cora-like); sparse normalized adjacency; one batch = the "
             "whole graph, loss on train indices; step() selects the masked rows",
}

N_CLASSES, PER_CLASS, N_WORDS, WORDS_PER_NODE = 7, 100, 300, 18


class GraphConv(nn.Module):
    """H' = A_hat (H W): node features times a kernel, then the sparse normalised adjacency."""

    def __init__(self, input_dim: int, output_dim: int, use_bias: bool = False):
        super().__init__()
        self.kernel = nn.Parameter(torch.empty(input_dim, output_dim))
        nn.init.xavier_normal_(self.kernel)
        self.bias = nn.Parameter(torch.zeros(output_dim)) if use_bias else None

    def forward(self, features: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        out = torch.sparse.mm(adj, torch.mm(features, self.kernel))
        return out if self.bias is None else out + self.bias


class GCN(nn.Module):
    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, use_bias: bool = False,
                 dropout_p: float = 0.5):
        super().__init__()
        self.gc1 = GraphConv(input_dim, hidden_dim, use_bias)
        self.gc2 = GraphConv(hidden_dim, output_dim, use_bias)
        self.dropout = nn.Dropout(dropout_p)

    def forward(self, features: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        h = self.dropout(F.relu(self.gc1(features, adj)))
        return F.log_softmax(self.gc2(h, adj), dim=1)


def synthetic_citation_graph(seed: int = 42):
    """(row-normalised features, labels, sparse normalised adjacency) of an SBM graph."""
    rng = np.random.default_rng(seed)
    n = N_CLASSES * PER_CLASS
    labels = np.repeat(np.arange(N_CLASSES), PER_CLASS)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, 0.03, 0.002), k=1)
    edges = np.argwhere(upper | upper.T)
    topics = rng.dirichlet(np.full(N_WORDS, 0.1), size=N_CLASSES)  # a few typical words each
    words = np.zeros((n, N_WORDS), dtype=np.float32)
    for i, c in enumerate(labels):
        mix = 0.35 * topics[c] + 0.65 / N_WORDS
        words[i, rng.choice(N_WORDS, size=WORDS_PER_NODE, replace=False, p=mix)] = 1.0
    features = torch.tensor(words / words.sum(1, keepdims=True))
    adj = torch.sparse_coo_tensor(torch.tensor(edges.T), torch.ones(len(edges)), (n, n))
    adj = (adj + torch.eye(n).to_sparse()).coalesce()
    deg_inv_sqrt = torch.sparse.sum(adj, dim=1).to_dense().pow(-0.5)
    row, col = adj.indices()
    values = deg_inv_sqrt[row] * adj.values() * deg_inv_sqrt[col]
    adj = torch.sparse_coo_tensor(adj.indices(), values, (n, n)).coalesce()
    return features, torch.tensor(labels), adj


@dataclass
class Graph:
    """The whole graph and the nodes whose loss counts (idx_train or idx_val)."""

    features: torch.Tensor
    adj: torch.Tensor
    labels: torch.Tensor
    idx: torch.Tensor


def step(model: nn.Module, graph: Graph) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole graph goes through the model; only the nodes of the batch's index set count."""
    return model(graph.features, graph.adj)[graph.idx], graph.labels[graph.idx]


def setup():
    torch.manual_seed(42)
    features, labels, adj = synthetic_citation_graph()
    idx = torch.randperm(len(labels))
    idx_val, idx_train = idx[260:386], idx[386:]  # idx[:260] is the (unused) test set
    model = GCN(features.shape[1], 16, N_CLASSES, use_bias=False, dropout_p=0.5)
    return {
        "model": model,
        "train_data": [Graph(features, adj, labels, idx_train)],
        "val_data": [Graph(features, adj, labels, idx_val)],
        "loss_fn": nn.NLLLoss(),
        "optimizer": torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4),
        "step": step,
        "task": "multiclass",
    }
