"""Real training runs that write real logs, one per failure kind and healthy ones.

Each run trains a small model on a scikit-learn data set with plain PyTorch and logs what people
log (training loss per step, validation loss every few steps, the learning rate, the gradient
norm before clipping) through the real writer: torch's SummaryWriter, Lightning's CSVLogger, or
the Hugging Face Trainer itself. The faults are the real ones (a learning rate too high, an epoch
schedule stepped per batch, a corrupted batch, too little data), not curves drawn by hand, so the
end-to-end tests check `advisor logs` on what such a run really leaves on disk.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass
class Recipe:
    """One run: its data, model width, optimizer, schedule and the fault, if any."""

    task: str = "digits"           # "digits" (classification) or "diabetes" (regression)
    train_size: int | None = None  # fewer training samples (overfitting)
    hidden: int = 64
    depth: int = 2
    steps: int = 1000
    batch: int = 32
    optimizer: str = "adamw"
    lr: float = 3e-3
    weight_decay: float = 0.01
    momentum: float = 0.0          # SGD's
    warmup: int = 100
    schedule: str = "cosine"       # "cosine" over the steps, "constant", "per_batch_epoch_decay"
    epochs: int = 30               # what an epoch schedule is sized for
    clip: float | None = 1.0
    bad_batch_at: int | None = None    # a batch scaled by 1e3 (a corrupted record)
    val_every: int = 50
    seed: int = 0


HEALTHY = Recipe()
KINDS: dict[str, Recipe] = {
    "healthy": HEALTHY,
    "healthy_sgd": Recipe(optimizer="sgd", lr=0.05, warmup=50, clip=None, steps=1000),
    # a warmup to a rate the model cannot take: it learns, then the loss turns NaN
    "nan": Recipe(task="diabetes", optimizer="sgd", lr=2.0, clip=None, warmup=600,
                  schedule="constant", steps=800),
    # ... to a rate just under that: it learns, then the loss climbs for good
    "diverging": Recipe(task="diabetes", optimizer="sgd", lr=1.0, clip=None, warmup=600,
                        schedule="constant", steps=800),
    # a rate so high with momentum that a classifier stays near chance all run
    "never_learns": Recipe(optimizer="sgd", lr=1.5, momentum=0.9, clip=None, warmup=0,
                           schedule="constant"),
    "overfitting": Recipe(train_size=100, hidden=256, steps=1200, weight_decay=0.0,
                          clip=None, schedule="constant", warmup=0, lr=1e-3),
    "scheduler_per_batch": Recipe(schedule="per_batch_epoch_decay", warmup=0, steps=1000),
    "bad_batch_spike": Recipe(optimizer="sgd", lr=0.05, clip=None, warmup=0,
                              schedule="constant", bad_batch_at=500, steps=1000),
}


def _data(recipe: Recipe) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_diabetes, load_digits

    loader = load_digits if recipe.task == "digits" else load_diabetes
    x, y = loader(return_X_y=True)
    rng = np.random.default_rng(recipe.seed)
    order = rng.permutation(len(x))
    x, y = x[order].astype(np.float32), y[order]
    cut = int(0.8 * len(x))
    mean, std = x[:cut].mean(0), x[:cut].std(0) + 1e-6
    x = (x - mean) / std
    if recipe.task == "diabetes":
        y = ((y - y[:cut].mean()) / y[:cut].std()).astype(np.float32)
    train = slice(0, recipe.train_size or cut)
    as_y = torch.long if recipe.task == "digits" else torch.float32
    return (torch.tensor(x[train]), torch.tensor(y[train], dtype=as_y),
            torch.tensor(x[cut:]), torch.tensor(y[cut:], dtype=as_y))


def _model(recipe: Recipe, n_in: int, n_out: int) -> nn.Module:
    layers: list[nn.Module] = []
    width = n_in
    for _ in range(recipe.depth):
        layers += [nn.Linear(width, recipe.hidden), nn.ReLU()]
        width = recipe.hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def _schedule(recipe: Recipe, steps_per_epoch: int) -> Callable[[int], float]:
    """The learning-rate factor at a step (LambdaLR's lambda)."""
    def factor(step: int) -> float:
        if recipe.warmup and step < recipe.warmup:
            return (step + 1) / recipe.warmup
        if recipe.schedule == "cosine":
            done = (step - recipe.warmup) / max(recipe.steps - recipe.warmup, 1)
            return 0.5 * (1 + math.cos(math.pi * min(done, 1.0)))
        if recipe.schedule == "per_batch_epoch_decay":
            # sized for `epochs` epochs, stepped every batch: reaches 0 after `epochs` steps
            return max(0.0, 1 - step / recipe.epochs)
        return 1.0
    return factor


def train(recipe: Recipe, log: Callable[[str, float, int], None]) -> None:
    """Train by the recipe, calling log(tag, value, step) as a training script would."""
    torch.manual_seed(recipe.seed)
    x, y, vx, vy = _data(recipe)
    classify = recipe.task == "digits"
    model = _model(recipe, x.shape[1], 10 if classify else 1)
    loss_fn: Callable = nn.CrossEntropyLoss() if classify else (
        lambda out, t: nn.functional.mse_loss(out.squeeze(-1), t))
    opt_cls = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.SGD
    kwargs = {"weight_decay": recipe.weight_decay} if recipe.optimizer == "adamw" else \
        {"momentum": recipe.momentum}
    opt = opt_cls(model.parameters(), lr=recipe.lr, **kwargs)
    per_epoch = max(len(x) // recipe.batch, 1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(recipe, per_epoch))
    gen = torch.Generator().manual_seed(recipe.seed)
    order = torch.randperm(len(x), generator=gen)
    at = 0
    for step in range(recipe.steps):
        if at + recipe.batch > len(x):
            order, at = torch.randperm(len(x), generator=gen), 0
        idx = order[at:at + recipe.batch]
        at += recipe.batch
        xb = x[idx] * (1e3 if step == recipe.bad_batch_at else 1.0)
        loss = loss_fn(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(),
                                              recipe.clip if recipe.clip else float("inf"))
        log("train/loss", loss.item(), step)
        log("train/grad_norm", float(norm), step)
        log("train/lr", opt.param_groups[0]["lr"], step)
        log("epoch", step / per_epoch, step)
        opt.step()
        sched.step()
        if (step + 1) % recipe.val_every == 0:
            model.eval()
            with torch.no_grad():
                log("val/loss", loss_fn(model(vx), vy).item(), step)
            model.train()


def tensorboard_run(logdir: Path, kind: str) -> Path:
    """A TensorBoard run folder written by torch's SummaryWriter."""
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(log_dir=str(logdir))
    train(KINDS[kind], lambda tag, value, step: writer.add_scalar(tag, value, step))
    writer.close()
    return logdir


def csv_run(path: Path, kind: str) -> Path:
    """The same run as a plain CSV of step,tag columns (one row per step, blanks where none),
    without the epoch: a table that says nothing of epochs."""
    rows: dict[int, dict[str, float]] = {}
    train(KINDS[kind], lambda tag, value, step: rows.setdefault(step, {}).__setitem__(tag, value))
    tags = ["train/loss", "train/grad_norm", "train/lr", "val/loss"]
    lines = ["step," + ",".join(tags)]
    for step in sorted(rows):
        lines.append(f"{step}," + ",".join(repr(rows[step][t]) if t in rows[step] else ""
                                           for t in tags))
    path.write_text("\n".join(lines) + "\n")
    return path


def hf_trainer_run(output_dir: Path, *, lr: float, optim: str = "adamw_torch",
                   max_steps: int = 60, max_grad_norm: float = 1.0) -> Path:
    """A real Hugging Face Trainer run of a tiny GPT-2 built from a config (nothing fetched);
    its trainer_state.json is what the Trainer itself saves."""
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=64,
                                       n_positions=32))

    class Tokens(torch.utils.data.Dataset):
        def __init__(self, n: int, seed: int) -> None:
            self.ids = torch.randint(0, 64, (n, 16), generator=torch.Generator().manual_seed(seed))

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return {"input_ids": self.ids[i], "labels": self.ids[i]}

    args = TrainingArguments(
        output_dir=str(output_dir), max_steps=max_steps, logging_steps=2, learning_rate=lr,
        optim=optim, per_device_train_batch_size=8, save_strategy="no", report_to=[],
        use_cpu=True, eval_strategy="steps", eval_steps=20, disable_tqdm=True,
        max_grad_norm=max_grad_norm)
    trainer = Trainer(model=model, args=args, train_dataset=Tokens(256, 1),
                      eval_dataset=Tokens(32, 2))
    trainer.train()
    trainer.state.save_to_json(str(output_dir / "trainer_state.json"))
    return output_dir


def lightning_run(save_dir: Path, kind: str) -> Path:
    """The recipe trained by Lightning (the same model, optimizer and per-step schedule),
    logged by its CSVLogger: train_loss every step, val_loss every `val_every` steps, the
    learning rate by LearningRateMonitor. Returns the run's metrics.csv."""
    from lightning.pytorch import LightningModule, Trainer
    from lightning.pytorch.callbacks import LearningRateMonitor
    from lightning.pytorch.loggers import CSVLogger

    recipe = KINDS[kind]
    torch.manual_seed(recipe.seed)
    x, y, vx, vy = _data(recipe)
    classify = recipe.task == "digits"

    class Module(LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = _model(recipe, x.shape[1], 10 if classify else 1)

        def _loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            xb, yb = batch
            out = self.net(xb)
            return (nn.functional.cross_entropy(out, yb) if classify
                    else nn.functional.mse_loss(out.squeeze(-1), yb))

        def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> torch.Tensor:
            loss = self._loss(batch)
            self.log("train_loss", loss, on_step=True, on_epoch=False)
            return loss

        def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], _: int) -> None:
            self.log("val_loss", self._loss(batch))

        def configure_optimizers(self) -> dict:
            opt_cls = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.SGD
            opt = opt_cls(self.parameters(), lr=recipe.lr)
            per_epoch = max(len(x) // recipe.batch, 1)
            sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(recipe, per_epoch))
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    gen = torch.Generator().manual_seed(recipe.seed)
    train_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                               batch_size=recipe.batch, shuffle=True,
                                               generator=gen, drop_last=True)
    val_loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(vx, vy),
                                             batch_size=len(vx))
    logger = CSVLogger(str(save_dir), name=kind)
    trainer = Trainer(max_steps=recipe.steps, logger=logger, log_every_n_steps=1,
                      val_check_interval=recipe.val_every, check_val_every_n_epoch=None,
                      gradient_clip_val=recipe.clip, callbacks=[LearningRateMonitor("step")],
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, accelerator="cpu", devices=1)
    trainer.fit(Module(), train_loader, val_loader)
    return Path(logger.log_dir) / "metrics.csv"
