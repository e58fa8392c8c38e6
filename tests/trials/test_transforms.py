"""The trial transforms on real setups (the examples and a few small ones): each does what it
says to the copy an arm trains, leaves the user's model, optimizer and data as they were, and
says in a sentence why it cannot apply when it cannot."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from advisor.trials.arm import ArmSpec, TrialNotApplicable
from advisor.trials.transforms import TRANSFORMS, apply, class_indices, like_outputs
from tests.trials.helpers import (
    assert_same,
    build_arm,
    example,
    make_env,
    outputs_of,
    snapshot,
    train_arm,
)


def applied(env, transform, /, **args) -> ArmSpec:
    spec = ArmSpec()
    apply(spec, transform, args, env)
    return spec


def not_applicable(env, transform, /, **args) -> str:
    spec = ArmSpec()
    with pytest.raises(TrialNotApplicable) as info:
        apply(spec, transform, args, env)
    assert spec == ArmSpec(), "a transform that does not apply left edits behind"
    message = str(info.value)
    assert len(message) > 30 and "\n" not in message  # one sentence for the report
    return message


def blob_setup(model: nn.Module | None = None, n: int = 96, dim: int = 8, classes: int = 3,
               **overrides):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, dim, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    model = model or nn.Sequential(nn.Linear(dim, 16), nn.ReLU(), nn.Linear(16, classes))
    setup = {"model": model, "train_data": DataLoader(TensorDataset(x, y), batch_size=16),
             "loss_fn": nn.CrossEntropyLoss(),
             "optimizer": torch.optim.Adam(model.parameters(), lr=1e-3)}
    setup.update(overrides)
    return setup


# ------------------------------------------------------------------------------ vocabulary
def test_the_names_are_the_knowledge_base_vocabulary():
    """Every transform the loader accepts can be applied, and nothing else exists."""
    from advisor.kb.trials import TRANSFORMS as VOCABULARY

    assert set(TRANSFORMS) == set(VOCABULARY)


def test_an_unknown_transform_is_not_applicable_and_names_the_known_ones():
    env = make_env(blob_setup())
    message = not_applicable(env, "scale_learning_rate", factor=0.1)
    assert "scale_learning_rate" in message and "scale_lr" in message


def test_a_transform_that_does_not_apply_leaves_the_spec_as_it_was():
    env = make_env(example("excessive_dropout"))
    spec = applied(env, "set_dropout", p=0.1)
    edits = list(spec.model_edits)
    with pytest.raises(TrialNotApplicable):
        apply(spec, "train_mode", {}, env)  # the model is in train mode already
    assert spec.model_edits == edits and not spec.force_train_mode


# ------------------------------------------------------------------------------ optimizer
def test_scale_lr_scales_every_group_of_the_copy_only():
    setup = blob_setup()
    setup["optimizer"] = torch.optim.SGD(
        [{"params": setup["model"][0].parameters(), "lr": 0.1},
         {"params": setup["model"][2].parameters()}], lr=0.5, momentum=0.9)
    env = make_env(setup)
    before = snapshot(env.ctx.setup)
    spec = applied(env, "scale_lr", factor=0.1)
    trainee, _ = train_arm(env, spec, steps=3)
    assert [g["lr"] for g in trainee.optimizer.param_groups] == pytest.approx([0.01, 0.05])
    assert_same(before, snapshot(env.ctx.setup))


def test_scale_lr_also_scales_the_rate_a_new_scheduler_would_start_from():
    """A scheduler the user built on the optimizer left `initial_lr` in its groups; a scheduler
    the runner builds on the copy starts from it, so it must be scaled too."""
    setup = blob_setup()
    opt = torch.optim.SGD(setup["model"].parameters(), lr=0.2)
    torch.optim.lr_scheduler.StepLR(opt, step_size=10)
    setup["optimizer"] = opt
    env = make_env(setup)
    trainee = build_arm(env, applied(env, "scale_lr", factor=0.5))
    torch.optim.lr_scheduler.StepLR(trainee.optimizer, step_size=10)
    assert trainee.optimizer.param_groups[0]["lr"] == pytest.approx(0.1)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2)


def test_use_suggested_lr_moves_every_group_to_the_suggestion_keeping_their_ratios():
    setup = blob_setup()
    setup["optimizer"] = torch.optim.SGD(
        [{"params": setup["model"][0].parameters(), "lr": 0.1},
         {"params": setup["model"][2].parameters()}], lr=0.5)
    env = make_env(setup)
    env.ctx.obs.set("optim.lr", 0.5)
    with pytest.raises(TrialNotApplicable, match="suggested no learning rate"):
        applied(env, "use_suggested_lr")
    env.ctx.obs.set("lr_range.suggested_lr", 0.05)
    trainee = build_arm(env, applied(env, "use_suggested_lr"))
    assert [g["lr"] for g in trainee.optimizer.param_groups] == pytest.approx([0.01, 0.05])
    assert [g["lr"] for g in setup["optimizer"].param_groups] == pytest.approx([0.1, 0.5])
    env.ctx.obs.set("lr_range.suggested_lr", 0.51)
    with pytest.raises(TrialNotApplicable, match="already"):
        applied(env, "use_suggested_lr")


def test_set_optimizer_builds_that_class_over_the_same_parameters():
    env = make_env(example("symmetric_constant_init"))  # SGD, lr 0.05, momentum 0.9
    before = snapshot(env.ctx.setup)
    spec = applied(env, "set_optimizer", name="Adam", momentum=0.8)
    trainee, losses = train_arm(env, spec, steps=3)
    opt = trainee.optimizer
    assert type(opt) is torch.optim.Adam
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)  # kept
    assert opt.param_groups[0]["betas"] == (0.8, 0.999)
    held = {id(p) for g in opt.param_groups for p in g["params"]}
    assert held == {id(p) for p in trainee.model.parameters()}
    assert all(math.isfinite(v) for v in losses)
    assert_same(before, snapshot(env.ctx.setup))

    sgd = build_arm(env, applied(env, "set_optimizer", name="SGD", lr=0.01, weight_decay=1e-4))
    group = sgd.optimizer.param_groups[0]
    assert (group["lr"], group["weight_decay"], group["momentum"]) == (0.01, 1e-4, 0)


def test_set_optimizer_with_momentum_for_adagrad_is_not_applicable():
    env = make_env(blob_setup())
    assert "Adagrad has no momentum" in not_applicable(env, "set_optimizer", name="Adagrad",
                                                        momentum=0.9)


def test_set_momentum_sgd_and_adam():
    sgd = make_env(example("symmetric_constant_init"))
    trainee = build_arm(sgd, applied(sgd, "set_momentum", value=0.5))
    assert trainee.optimizer.param_groups[0]["momentum"] == 0.5
    assert sgd.ctx.setup.optimizer.param_groups[0]["momentum"] == 0.9
    adam = make_env(blob_setup())
    trainee = build_arm(adam, applied(adam, "set_momentum", value=0.5))
    assert trainee.optimizer.param_groups[0]["betas"] == (0.5, 0.999)
    assert "already has momentum 0.9" in not_applicable(adam, "set_momentum", value=0.9)


def test_set_momentum_without_a_momentum_setting_is_not_applicable():
    model = nn.Linear(8, 3)
    env = make_env(blob_setup(model, optimizer=torch.optim.Adagrad(model.parameters())))
    assert "Adagrad" in not_applicable(env, "set_momentum", value=0.9)


def test_set_weight_decay():
    env = make_env(blob_setup())
    trainee = build_arm(env, applied(env, "set_weight_decay", value=0.01))
    assert trainee.optimizer.param_groups[0]["weight_decay"] == 0.01
    assert env.ctx.setup.optimizer.param_groups[0]["weight_decay"] == 0
    assert "already has weight_decay 0" in not_applicable(env, "set_weight_decay", value=0)
    model = nn.Linear(8, 3)
    lbfgs = make_env(blob_setup(model, optimizer=torch.optim.LBFGS(model.parameters())))
    assert "LBFGS" in not_applicable(lbfgs, "set_weight_decay", value=0.01)


def test_clip_grad_norm_and_a_train_step_setup():
    env = make_env(blob_setup())
    assert applied(env, "clip_grad_norm", max_norm=1.0).clip_grad_norm == 1.0
    own = make_env(example("healthy_steplr_train_step"))
    assert "train_step" in not_applicable(own, "clip_grad_norm", max_norm=1.0)
    assert "train_step" in not_applicable(own, "swap_loss", to="mse")
    # what does not touch the loss still applies to a train_step setup
    assert applied(own, "scale_lr", factor=0.1).optimizer_edits


def test_add_missing_params_trains_the_head_of_the_copy_only():
    env = make_env(example("untrained_head_not_in_optimizer"))
    before = snapshot(env.ctx.setup)
    head = env.ctx.setup.model.head.weight.detach().clone()
    spec = applied(env, "add_missing_params")
    trainee, _ = train_arm(env, spec, steps=3)
    held = {id(p) for g in trainee.optimizer.param_groups for p in g["params"]}
    assert id(trainee.model.head.weight) in held
    assert trainee.optimizer.param_groups[-1]["lr"] == trainee.optimizer.param_groups[0]["lr"]
    assert not torch.equal(trainee.model.head.weight, head)   # the copy's head trained
    assert torch.equal(env.ctx.setup.model.head.weight, head)
    assert_same(before, snapshot(env.ctx.setup))
    healthy = make_env(blob_setup())
    assert "already holds" in not_applicable(healthy, "add_missing_params")


def test_unfreeze_makes_every_parameter_trainable_and_held():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    model[0].requires_grad_(False)
    setup = blob_setup(model, optimizer=torch.optim.SGD(model[2].parameters(), lr=0.1))
    env = make_env(setup)
    before = snapshot(env.ctx.setup)
    trainee, _ = train_arm(env, applied(env, "unfreeze"), steps=2)
    assert all(p.requires_grad for p in trainee.model.parameters())
    held = {id(p) for g in trainee.optimizer.param_groups for p in g["params"]}
    assert held == {id(p) for p in trainee.model.parameters()}
    assert not torch.equal(trainee.model[0].weight, model[0].weight)
    assert_same(before, snapshot(env.ctx.setup))
    assert "already trainable" in not_applicable(make_env(blob_setup()), "unfreeze")


def test_unfreeze_restarts_a_param_group_left_at_learning_rate_zero():
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    opt = torch.optim.SGD([{"params": model[0].parameters(), "lr": 0.0},
                           {"params": model[2].parameters()}], lr=0.1)
    env = make_env(blob_setup(model, optimizer=opt))
    trainee = build_arm(env, applied(env, "unfreeze"))
    assert [g["lr"] for g in trainee.optimizer.param_groups] == [0.1, 0.1]
    assert opt.param_groups[0]["lr"] == 0.0


# ------------------------------------------------------------------------------ model
def test_reinitialize_default_breaks_the_constant_init_of_the_copy():
    env = make_env(example("symmetric_constant_init"))
    before = snapshot(env.ctx.setup)
    spec = applied(env, "reinitialize", scheme="default")
    trainee = build_arm(env, spec)
    w = trainee.model[0].weight
    assert w.std() > 0.01  # rows differ: the symmetry is broken
    assert torch.equal(build_arm(env, spec, seed=0).model[0].weight, w)  # drawn from the seed
    assert not torch.equal(build_arm(env, spec, seed=1).model[0].weight, w)
    assert torch.all(env.ctx.setup.model[0].weight == 0.05)
    assert torch.all(env.ctx.pristine[0].weight == 0.05)  # the probe's pristine copy too
    assert_same(before, snapshot(env.ctx.setup))


@pytest.mark.parametrize("scheme", ["he", "xavier"])
def test_reinitialize_he_and_xavier(scheme):
    model = nn.Sequential(nn.Conv2d(3, 64, 3), nn.Flatten(), nn.Linear(64 * 36, 256),
                          nn.ReLU(), nn.Linear(256, 3))
    x = torch.randn(32, 3, 8, 8)
    y = torch.randint(0, 3, (32,))
    env = make_env(blob_setup(model, train_data=DataLoader(TensorDataset(x, y), batch_size=8)))
    trainee = build_arm(env, applied(env, "reinitialize", scheme=scheme))
    lin = trainee.model[2]
    fan_in, fan_out = 64 * 36, 256
    expected = (math.sqrt(2 / fan_in) if scheme == "he"
                else math.sqrt(2 / (fan_in + fan_out)))
    assert float(lin.weight.detach().std()) == pytest.approx(expected, rel=0.05)
    assert torch.all(lin.bias == 0) and torch.all(trainee.model[0].bias == 0)


def test_reinitialize_he_without_linear_or_conv_is_not_applicable():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Flatten(), nn.LayerNorm(8))
    x = torch.randint(0, 10, (32, 2))
    env = make_env({"model": model, "train_data": DataLoader(TensorDataset(x, torch.randn(32, 8)),
                                                             batch_size=8),
                    "loss_fn": nn.MSELoss()})
    assert "no Linear or Conv" in not_applicable(env, "reinitialize", scheme="he")
    assert applied(env, "reinitialize", scheme="default").model_edits


def test_set_dropout_on_the_copy():
    env = make_env(example("excessive_dropout"))
    before = snapshot(env.ctx.setup)
    trainee = build_arm(env, applied(env, "set_dropout", p=0.1))
    ps = [m.p for m in trainee.model.modules() if isinstance(m, nn.Dropout)]
    assert ps == [0.1, 0.1]
    assert [m.p for m in env.ctx.pristine.modules() if isinstance(m, nn.Dropout)] == [0.9, 0.9]
    assert_same(before, snapshot(env.ctx.setup))
    assert "already has p=0.9" in not_applicable(env, "set_dropout", p=0.9)
    assert "no Dropout module" in not_applicable(make_env(blob_setup()), "set_dropout", p=0.1)


def test_train_mode():
    env = make_env(example("model_left_in_eval_mode"))
    assert applied(env, "train_mode").force_train_mode
    assert not env.ctx.setup.model.training
    assert "already in training mode" in not_applicable(make_env(blob_setup()), "train_mode")


# ------------------------------------------------------------------------------ final activation
def test_remove_a_final_softmax_module():
    env = make_env(example("softmax_before_cross_entropy"))
    before = snapshot(env.ctx.setup)
    spec = applied(env, "remove_final_activation")
    assert spec.changes_loss_meaning and spec.outputs_are == "logits"
    trainee = build_arm(env, spec)
    batch = env.stats_batches[0]
    out, _ = outputs_of(env, spec, trainee.model, batch)
    assert not torch.allclose(out.sum(1), torch.ones(len(out)))  # logits, not probabilities
    expected = trainee.model[2](trainee.model[1](trainee.model[0](batch[0])))
    assert torch.allclose(out, expected)
    assert isinstance(env.ctx.setup.model[3], nn.Softmax)
    assert_same(before, snapshot(env.ctx.setup))


def test_replace_a_final_softmax_module_with_log_softmax():
    env = make_env(example("softmax_before_cross_entropy"))
    spec = applied(env, "replace_final_activation", **{"with": "log_softmax"})
    assert spec.outputs_are == "logits" and spec.changes_loss_meaning
    trainee = build_arm(env, spec)
    assert isinstance(trainee.model[3], nn.LogSoftmax) and trainee.model[3].dim == 1
    assert "already a softmax" in not_applicable(env, "replace_final_activation",
                                                 **{"with": "softmax"})


def test_removing_a_regression_output_activation_keeps_the_loss_comparable():
    g = torch.Generator().manual_seed(4)
    x, y = torch.randn(64, 8, generator=g), torch.rand(64, 1, generator=g)
    model = nn.Sequential(nn.Linear(8, 1), nn.ReLU())
    env = make_env({"model": model, "loss_fn": nn.MSELoss(), "task": "regression",
                    "train_data": DataLoader(TensorDataset(x, y), batch_size=16)})
    spec = applied(env, "remove_final_activation")
    assert not spec.changes_loss_meaning and spec.outputs_are is None
    assert isinstance(build_arm(env, spec).model[1], nn.Identity)


def test_reinitialize_default_reaches_attention_in_projections():
    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            return self.head(self.mha(x, x, x)[0].mean(1))

    model = Attn()
    nn.init.constant_(model.mha.in_proj_weight, 0.1)
    x, y = torch.randn(32, 5, 8), torch.randint(0, 3, (32,))
    env = make_env(blob_setup(model, train_data=DataLoader(TensorDataset(x, y), batch_size=8)))
    trainee = build_arm(env, applied(env, "reinitialize", scheme="default"))
    assert trainee.model.mha.in_proj_weight.std() > 0.01
    assert torch.all(model.mha.in_proj_weight == 0.1)


class FunctionalHead(nn.Module):
    """Sigmoid hidden units (functional) and a functional softmax at the output."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 3)

    def forward(self, x):
        return torch.softmax(self.b(torch.sigmoid(self.a(x))), dim=1)

    def logits(self, x):
        return self.b(torch.sigmoid(self.a(x)))


def test_remove_a_functional_final_softmax_with_a_forward_mode():
    env = make_env(blob_setup(FunctionalHead()))
    spec = applied(env, "remove_final_activation")
    assert spec.forward_mode is not None and not spec.model_edits
    trainee = build_arm(env, spec)
    x = env.stats_batches[0][0]
    out, _ = outputs_of(env, spec, trainee.model, env.stats_batches[0])
    assert torch.allclose(out, trainee.model.logits(x))
    assert torch.allclose(trainee.model(x).sum(1), torch.ones(len(x)))  # outside the mode
    replaced = applied(env, "replace_final_activation", **{"with": "log_softmax"})
    out, _ = outputs_of(env, replaced, trainee.model, env.stats_batches[0])
    assert torch.allclose(out, torch.log_softmax(trainee.model.logits(x), 1), atol=1e-6)


class SharedSigmoid(nn.Module):
    """One nn.Sigmoid module used for the hidden layer and the output."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.act = nn.Linear(8, 16), nn.Linear(16, 1), nn.Sigmoid()

    def forward(self, x):
        return self.act(self.b(self.act(self.a(x))))


def test_a_shared_activation_module_is_changed_at_its_last_call_only():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 2, (64, 1), generator=g).float()
    env = make_env({"model": SharedSigmoid(), "loss_fn": nn.BCEWithLogitsLoss(),
                    "train_data": DataLoader(TensorDataset(x, y), batch_size=16)})
    spec = applied(env, "remove_final_activation")
    assert spec.forward_mode is not None  # the module also runs in the hidden layer
    trainee = build_arm(env, spec)
    m = trainee.model
    out, _ = outputs_of(env, spec, m, env.stats_batches[0])
    xb = env.stats_batches[0][0]
    assert torch.allclose(out, m.b(torch.sigmoid(m.a(xb))))


def test_final_activation_not_applicable_cases():
    plain = make_env(example("unshuffled_sorted_labels"))
    assert "does not come from an activation" in not_applicable(plain, "remove_final_activation")

    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(64, 8, generator=g), torch.randint(0, 2, (64, 1), generator=g).float()
    sigmoid = nn.Sequential(nn.Linear(8, 1), nn.Sigmoid())
    bce = make_env({"model": sigmoid, "loss_fn": nn.BCELoss(),
                    "train_data": DataLoader(TensorDataset(x, y), batch_size=16)})
    assert "bce_with_logits" in not_applicable(bce, "remove_final_activation")
    assert "already a sigmoid" in not_applicable(bce, "replace_final_activation",
                                                 **{"with": "sigmoid"})
    assert "single output" in not_applicable(bce, "replace_final_activation",
                                             **{"with": "softmax"})

    class Joined(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 2), nn.Linear(8, 1)

        def forward(self, x):
            return torch.cat([torch.sigmoid(self.a(x)), torch.sigmoid(self.b(x))], 1)

    joined = make_env({"model": Joined(), "loss_fn": nn.BCELoss(),
                       "train_data": DataLoader(TensorDataset(x, y.expand(-1, 3).clone()),
                                                batch_size=16)})
    assert "joins several activations" in not_applicable(joined, "remove_final_activation")


class Unrolled(nn.Module):
    """A Python loop over the sequence with sigmoid gates, then a sigmoid output: the number of
    sigmoid calls depends on the sequence length."""

    def __init__(self):
        super().__init__()
        self.cell, self.out = nn.Linear(4, 4), nn.Linear(4, 1)

    def forward(self, x):
        h = torch.zeros(x.shape[0], 4)
        for t in range(x.shape[1]):
            h = torch.sigmoid(self.cell(x[:, t] + h))
        return torch.sigmoid(self.out(h))


def test_an_activation_whose_call_count_varies_is_not_applicable():
    batches = [(torch.randn(8, n, 4), torch.rand(8, 1)) for n in (3, 5, 4)]
    env = make_env({"model": Unrolled(), "loss_fn": nn.MSELoss(), "train_data": batches})
    assert "changes between batches" in not_applicable(env, "remove_final_activation")


def test_softmax_inside_the_loss_for_multilabel_targets():
    """The softmax of softmax_multilabel is CrossEntropyLoss's own: there is no final
    activation to replace, and the loss swap is the trial that changes it."""
    env = make_env(example("softmax_multilabel"))
    message = not_applicable(env, "replace_final_activation", **{"with": "sigmoid"})
    assert "does not come from an activation" in message
    spec = applied(env, "swap_loss", to="bce_with_logits")
    assert spec.outputs_are == "logits"
    _, losses = train_arm(env, spec, steps=30)
    assert losses[-1] < losses[0]


# ------------------------------------------------------------------------------ loss
def test_swap_loss_converts_targets():
    out = torch.randn(4, 3)
    assert class_indices(out, torch.tensor([[0], [2], [1], [1]])).tolist() == [0, 2, 1, 1]
    onehot = torch.eye(3)[[2, 0, 1, 1]]
    assert class_indices(out, onehot).tolist() == [2, 0, 1, 1]
    assert class_indices(out, torch.tensor([2.0, 0.0, 1.0, 1.0])).dtype == torch.long
    assert torch.equal(like_outputs(out, torch.tensor([2, 0, 1, 1])), onehot)
    single = torch.randn(4, 1)
    fixed = like_outputs(single, torch.tensor([1, 0, 1, 1]))
    assert fixed.shape == (4, 1) and fixed.dtype == torch.float32
    seg = torch.randn(2, 3, 5, 5)
    assert like_outputs(seg, torch.randint(0, 3, (2, 5, 5))).shape == seg.shape


def test_swap_mse_on_class_indices_to_cross_entropy_needs_outputs_per_class():
    env = make_env(example("mse_on_class_indices"))  # one output
    assert "single output" in not_applicable(env, "swap_loss", to="cross_entropy")
    # with one output per class the swap trains (the targets (N, 1) become indices (N,))
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    setup = example("mse_on_class_indices")
    wide = make_env({"model": model, "train_data": setup.train_data, "loss_fn": nn.MSELoss(),
                     "optimizer": torch.optim.Adam(model.parameters(), lr=1e-2)})
    spec = applied(wide, "swap_loss", to="cross_entropy")
    assert spec.changes_loss_meaning and spec.outputs_are == "logits"
    _, losses = train_arm(wide, spec, steps=40)
    assert losses[-1] < losses[0]


def test_swap_loss_to_huber_and_its_not_applicable_cases():
    env = make_env(example("outlier_regression_targets"))
    spec = applied(env, "swap_loss", to="huber")
    assert not spec.changes_loss_meaning  # judged by the setup's MSE at evaluation
    outputs, targets = outputs_of(env, spec, build_arm(env, spec).model, env.stats_batches[0])
    assert torch.isclose(spec.loss_fn(outputs, targets), nn.HuberLoss()(outputs, targets))
    assert "already computes mse" in not_applicable(env, "swap_loss", to="mse")
    assert "log-probabilities" in not_applicable(env, "swap_loss", to="nll")
    assert "probabilities in [0, 1]" in not_applicable(env, "swap_loss", to="bce")


# ------------------------------------------------------------------------------ data
def test_standardize_inputs_with_training_statistics():
    env = make_env(example("unnormalized_raw_features"))
    before = snapshot(env.ctx.setup)
    spec = applied(env, "standardize_inputs")
    raw = [b[0].clone() for b in env.stats_batches]
    fixed = torch.cat([spec.batch_fn(b)[0] for b in env.stats_batches])
    assert fixed.mean(0).abs().max() < 1e-4
    assert (fixed.std(0) - 1).abs().max() < 1e-3
    # not in place
    assert all(torch.equal(b[0], r) for b, r in zip(env.stats_batches, raw, strict=True))
    assert torch.equal(spec.batch_fn(env.stats_batches[0])[1], env.stats_batches[0][1])
    _, losses = train_arm(env, spec, steps=5)
    assert all(math.isfinite(v) for v in losses)
    assert_same(before, snapshot(env.ctx.setup))
    standard = make_env(blob_setup())  # N(0, 1) features
    assert "already standardised" in not_applicable(standard, "standardize_inputs")


def test_standardize_images_per_channel():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(64, 3, 6, 6, generator=g) * torch.tensor([1.0, 10.0, 100.0]).view(1, 3, 1, 1)
    x = x + torch.tensor([5.0, -50.0, 500.0]).view(1, 3, 1, 1)
    x[:, 0, 0, 0] = 5.0  # not a per-feature statistic: the channel is what counts
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(64, 2))
    env = make_env({"model": model, "loss_fn": nn.CrossEntropyLoss(),
                    "train_data": DataLoader(TensorDataset(x, torch.randint(0, 2, (64,))),
                                             batch_size=16)})
    spec = applied(env, "standardize_inputs")
    fixed = torch.cat([spec.batch_fn(b)[0] for b in env.stats_batches])
    assert fixed.mean((0, 2, 3)).abs().max() < 1e-3
    assert (fixed.std((0, 2, 3)) - 1).abs().max() < 1e-2


def test_standardize_integer_inputs_is_not_applicable():
    x = torch.randint(0, 50, (32, 6))
    model = nn.Sequential(nn.Embedding(50, 4), nn.Flatten(), nn.Linear(24, 2))
    env = make_env({"model": model, "loss_fn": nn.CrossEntropyLoss(),
                    "train_data": DataLoader(TensorDataset(x, torch.randint(0, 2, (32,))),
                                             batch_size=8)})
    assert "torch.int64" in not_applicable(env, "standardize_inputs")


def test_scale_targets_trains_in_standard_units_and_maps_outputs_back():
    env = make_env(example("outlier_regression_targets"))
    before = snapshot(env.ctx.setup)
    spec = applied(env, "scale_targets")
    y = torch.cat([b[1] for b in env.stats_batches])
    mean, std = y.double().mean(), y.double().std()
    out = torch.randn(5, 1)
    t = torch.randn(5, 1) * 40
    expected = nn.MSELoss()(out, ((t - mean) / std).float())
    assert torch.isclose(spec.loss_fn(out, t), expected, rtol=1e-4)
    assert torch.allclose(spec.output_fn(out), (out * std + mean).float(), rtol=1e-4)
    assert spec.batch_fn is None  # evaluation compares output_fn(outputs) with the raw targets
    _, losses = train_arm(env, spec, steps=5)
    assert all(math.isfinite(v) for v in losses)
    assert_same(before, snapshot(env.ctx.setup))
    classes = make_env(example("softmax_before_cross_entropy"))
    assert "regression" in not_applicable(classes, "scale_targets")


def test_fix_target_shape_reshapes_the_targets_to_the_outputs():
    env = make_env(example("target_shape_broadcast"))
    spec = applied(env, "fix_target_shape")
    trainee = build_arm(env, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # MSELoss warns when it broadcasts
        outputs, targets = outputs_of(env, spec, trainee.model, env.stats_batches[0])
        env.ctx.setup.loss_fn(outputs, targets)
    assert targets.shape == outputs.shape == (32, 1)
    assert env.stats_batches[0][1].shape == (32,)
    fine = make_env(example("outlier_regression_targets"))
    assert "already have the outputs' shape" in not_applicable(fine, "fix_target_shape")
    classes = make_env(blob_setup())
    assert "different numbers of values" in not_applicable(classes, "fix_target_shape")


def labels_of(loader) -> list[list[int]]:
    return [b[1].tolist() for b in loader]


def test_shuffle_data_rebuilds_a_seeded_shuffled_loader():
    env = make_env(example("unshuffled_sorted_labels"))
    before = snapshot(env.ctx.setup)
    order = labels_of(env.train_data)
    spec = applied(env, "shuffle_data")
    first, again, other = (labels_of(spec.data(s)) for s in (0, 0, 1))
    assert first == again and first != other
    assert len(set(first[0])) >= 5  # a batch mixes classes now
    assert sorted(sum(first, [])) == sorted(sum(order, []))
    loader = spec.data(0)
    assert loader.batch_size == 32 and loader.num_workers == 0
    assert labels_of(env.train_data) == order  # the user's loader still reads in order
    assert_same(before, snapshot(env.ctx.setup))
    assert "already shuffles" in not_applicable(make_env(blob_setup(train_data=DataLoader(
        TensorDataset(torch.randn(32, 8), torch.randint(0, 3, (32,))), batch_size=8,
        shuffle=True))), "shuffle_data")


class Stream(IterableDataset):
    def __iter__(self):
        g = torch.Generator().manual_seed(0)
        for _ in range(64):
            yield torch.randn(8, generator=g), torch.randint(0, 3, (), generator=g)


def test_data_transforms_need_a_dataloader_over_a_sized_dataset():
    batches = [(torch.randn(16, 8), torch.randint(0, 3, (16,))) for _ in range(4)]
    listed = make_env(blob_setup(train_data=batches))
    assert "not a DataLoader" in not_applicable(listed, "shuffle_data")
    assert "not a DataLoader" in not_applicable(listed, "set_batch_size", size=8)
    stream = make_env(blob_setup(train_data=DataLoader(Stream(), batch_size=16)))
    assert "IterableDataset" in not_applicable(stream, "shuffle_data")


def test_set_batch_size_keeps_the_sampling():
    env = make_env(example("unshuffled_sorted_labels"))
    order = sum(labels_of(env.train_data), [])
    spec = applied(env, "set_batch_size", size=64)
    loader = spec.data(0)
    assert loader.batch_size == 64
    assert sum(labels_of(loader), []) == order  # still in the user's (sequential) order
    halved = applied(env, "set_batch_size", factor=0.5).data(0)
    assert halved.batch_size == 16
    assert "already have size 32" in not_applicable(env, "set_batch_size", size=32)
    shuffled = make_env(example("excessive_dropout"))
    a, b = (applied(shuffled, "set_batch_size", size=8).data(s) for s in (0, 1))
    assert labels_of(a) != labels_of(b)  # random sampling, drawn from the seed
    assert type(a.sampler).__name__ == "RandomSampler"


def test_a_custom_sampler_is_copied_and_reseeded_never_driven():
    from torch.utils.data import WeightedRandomSampler

    x, y = torch.randn(64, 8), torch.arange(64) % 3
    sampler = WeightedRandomSampler(torch.ones(64), num_samples=64)
    env = make_env(blob_setup(train_data=DataLoader(TensorDataset(x, y), batch_size=16,
                                                    sampler=sampler)))
    assert "WeightedRandomSampler" in not_applicable(env, "shuffle_data")
    spec = applied(env, "set_batch_size", size=8)
    a, b = spec.data(0), spec.data(0)
    assert a.sampler is not sampler and type(a.sampler) is WeightedRandomSampler
    assert labels_of(a) == labels_of(b) and a.batch_size == 8
    assert sampler.generator is None  # the user's sampler keeps its own (none)


# ------------------------------------------------------------------------------ setups with code
def test_a_setup_step_or_train_step_limits_what_applies():
    setup = blob_setup()
    pairs = setup["train_data"]
    dicts = [{"features": x, "label": y, "id": i} for i, (x, y) in enumerate(pairs)]
    stepped = make_env({**setup, "train_data": dicts,
                        "step": lambda model, b: (model(b["features"]), b["label"])})
    assert "step" in not_applicable(stepped, "standardize_inputs")
    assert "step" in not_applicable(stepped, "fix_target_shape")
    assert applied(stepped, "swap_loss", to="bce_with_logits").loss_fn is not None
    regression = example("outlier_regression_targets")
    regression.train_step = lambda model, batch, opt: 0.0
    assert "train_step" in not_applicable(make_env(regression), "scale_targets")


class Replacing(nn.Module):
    """A reset_parameters that makes new Parameters instead of re-drawing them in place."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(8, 3))

    def reset_parameters(self):
        self.w = nn.Parameter(torch.randn(8, 3))

    def forward(self, x):
        return x @ self.w


def test_a_reset_that_replaces_parameters_is_not_applicable_on_the_copy():
    env = make_env(blob_setup(Replacing()))
    spec = applied(env, "reinitialize", scheme="default")
    with pytest.raises(TrialNotApplicable, match="replaced its parameters"):
        build_arm(env, spec)
