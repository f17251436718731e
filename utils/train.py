"""The three training stages the notebooks (02, 03, 05) and the ablation benchmark share.

Each stage takes a small settings dataclass whose field names are the notebooks'
parameter names, so `CNNSettings.pick(globals())` in a notebook and
`CNNSettings.pick(profile_parameters("demo"))` in a script build the same thing.
Every stage resumes its checkpoint folder when the settings and inputs match (run_key).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .augment import BatchAugment, EvalTransform
from .choices import check_choice, check_compile_backend
from .engine import autocast, fit, load_checkpoint, predict, run_key, seed_everything
from .loaders import BagBatches, ImageBatches, image_table, images_on, mean_per_bag
from .losses import FocalLoss, label_pos_weights
from .metrics import evaluate
from .models import build_backbone, build_bag_head, image_features
from .schedules import CosineLR, GammaSchedule, TemperingSchedule
from .step_graph import cuda_graph
from .swav import SwAVHead, agreement_loss, swav_loss


class _Settings:
    @classmethod
    def pick(cls, values: dict):
        """The fields of this class found in `values` (a notebook's globals, a profile)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass
class ImageSettings(_Settings):
    """What the warm-up and the CNN share: the backbone, the image size, the augmentation."""
    seed: int = 0
    backbone: str = "regnety_002"
    in_chans: int = 1
    resize_hw: list = field(default_factory=lambda: [42, 124])
    out_hw: list = field(default_factory=lambda: [40, 120])
    hflip: float = 0.0
    vflip: float = 0.0
    max_rotation: float = 0.0
    compile_backend: str | None = None  # "cuda-graph" (the step captured), "inductor", "inductor-cudagraphs"
    amp: bool = True                    # bf16 autocast on a GPU (the CPU always runs float32)
    channels_last: bool = True          # NHWC activations (faster on the CPU; see BENCHMARKS.md for GPUs)

    @property
    def memory_format(self):
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def augment(self, blur_p: float = 0.0) -> BatchAugment:
        return BatchAugment(resize_hw=tuple(self.resize_hw), out_hw=tuple(self.out_hw),
                            hflip=self.hflip, vflip=self.vflip, max_rotation=self.max_rotation,
                            blur_p=blur_p, grayscale=self.in_chans == 1)


@dataclass
class WarmupSettings(ImageSettings):
    warmup_method: str = "swav"         # "swav", "agree" or "none"
    warmup_epochs: int = 1
    warmup_batch_size: int = 32
    warmup_lr: float | None = None      # None: SwAV's 4.8 at batch 4096, scaled to the batch
    swav_prototypes: int = 100
    swav_temperature: float = 0.1
    pair_within_bag: bool = True


def scaled_warmup_lr(s: WarmupSettings) -> float:
    """The warm-up's SGD learning rate: `warmup_lr`, or SwAV's 4.8 for batches of 4096
    scaled linearly to `warmup_batch_size` (0.0375 at the paper's 32)."""
    return s.warmup_lr if s.warmup_lr is not None else 4.8 * s.warmup_batch_size / 4096


def warmup_partners(rows: list, within_bag: bool, rng: np.random.Generator) -> np.ndarray:
    """The cache row each image's second view comes from, bag by bag (`rows`: each bag's
    rows): another image of its bag, the bag rotated by a random non-zero shift, or the image
    itself when its bag has one image or `within_bag` is off."""
    return np.concatenate([r[(np.arange(len(r)) + rng.integers(1, max(len(r), 2))) % len(r)]
                           if within_bag else r for r in rows])


def compile_network(fn, backend: str | None):
    """`fn` through torch.compile with `backend` ("inductor", "inductor-cudagraphs" for
    inductor with CUDA graphs, or any torch.compile backend such as "aot_eager"), or
    unchanged (None, or "cuda-graph": see step_capture). Only the network is compiled: the
    loss's gamma and the learning rate change between epochs without a recompile."""
    if check_compile_backend(backend) in (None, "cuda-graph"):
        return fn
    if backend == "inductor-cudagraphs":
        return torch.compile(fn, backend="inductor", mode="reduce-overhead")
    return torch.compile(fn, backend=backend)


def step_capture(backend: str | None, device):
    """For `fit`: with backend "cuda-graph" on a GPU, each epoch's whole eager step (forward,
    loss, backward, optimiser) is captured once and replayed (utils.step_graph): same
    kernels, no compile, no Python between steps. Elsewhere None: the CPU runs the step as is."""
    return cuda_graph if backend == "cuda-graph" and torch.device(device).type == "cuda" else None


def _optimizer_options(device) -> dict:
    """Fused Adam/SGD (one kernel for all parameters) where the device has them."""
    return {"fused": True} if torch.device(device).type == "cuda" else {}


def _with_rate(history):
    """The history with the training images per second of each epoch (steps alone), from
    the `train_images` that each epoch records (checkpoints keep it, so a cut run has it too)."""
    if {"train_images", "train_seconds"} <= set(history):
        history["images_per_second"] = history.train_images / history.train_seconds
    return history


def warm_up(cache, bags, s: WarmupSettings, device, checkpoint_dir, inputs: dict | None = None,
            progress: str | None = "text", images=None):
    """Self-supervised warm-up of a fresh backbone on every image of `bags`; (backbone, history).

    The two views of an image are two augmentations of it and of another image of its bag
    (`pair_within_bag`); both go through the backbone in one pass (with `amp` and
    `channels_last` as the CNN). `inputs` (paths are stamped, values kept) join the resume
    key. `images`: the cache placed by utils.loaders.images_on (made here if not given).
    """
    check_choice("warmup_method", s.warmup_method)  # another value would train as "agree"
    generator = seed_everything(s.seed)
    model = build_backbone(s.backbone, in_chans=s.in_chans).to(device)
    if s.warmup_method == "none":
        return model, None
    model = model.to(memory_format=s.memory_format)
    rows = [cache.bag_rows([b])[0] for b in bags]
    anchor = np.concatenate(rows)
    partner = warmup_partners(rows, s.pair_within_bag, np.random.default_rng(s.seed))
    images = images_on(cache.array, device) if images is None else images
    batches = ImageBatches(images, anchor, None, None, s.warmup_batch_size, shuffle=True,
                           generator=generator, drop_last=len(anchor) > s.warmup_batch_size,
                           augment=s.augment(blur_p=0.5), pair_rows=partner, device=device)
    net = torch.nn.ModuleDict({"backbone": model, "head": SwAVHead(
        in_dim=model.num_features, n_prototypes=s.swav_prototypes)}).to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=scaled_warmup_lr(s), momentum=0.9, weight_decay=1e-6,
                                **_optimizer_options(device))
    features = compile_network(lambda x: image_features(model, x), s.compile_backend)

    def train_step(net, batch, epoch):
        n = len(batch["x"])
        x = torch.cat([batch["x"], batch["x_pair"]]).contiguous(memory_format=s.memory_format)
        if s.warmup_method == "swav":
            net["head"].normalize_prototypes()
        with autocast(device, s.amp):
            f = features(x)  # both views in one pass
            scores = net["head"](f) if s.warmup_method == "swav" else None
        if s.warmup_method == "swav":
            return swav_loss(scores[:n], scores[n:], temperature=s.swav_temperature)
        return agreement_loss(f[:n], f[n:])

    key = run_key(settings=dataclasses.asdict(s), **(inputs or {}))
    history = fit(net, optimizer, batches, train_step, s.warmup_epochs, checkpoint_dir,
                  on_epoch_start=lambda epoch: {"train_images": len(batches) * s.warmup_batch_size},
                  generator=generator, key=key, progress=progress, desc="warm-up",
                  capture=step_capture(s.compile_backend, device))
    return model, _with_rate(history)  # images/s per view


@dataclass
class CNNSettings(ImageSettings):
    cnn_epochs: int = 30
    cnn_batch_size: int = 32
    cnn_lr: float = 5e-3
    cnn_lr_min: float = 1e-6
    cnn_lr_T: int = 28                  # cosine length; the LR holds at cnn_lr_min after it
    gamma_start: float = 0.0            # focal gamma rises from gamma_start to gamma_end (paper: 1, 2)
    gamma_end: float = 0.0
    gamma_T: int = 4
    use_weights: bool = False           # w_m on positives (eq. 4; paper: True)
    use_tempering: bool = False         # ... "multiply tempered" towards 1 (TemperingSchedule; paper: True)
    temper_start: int = 10
    temper_half_period: int = 6
    temper_freeze: int = 25
    max_pos_weight: float = 30.0
    select_metric: str = "score"


def image_bag_probs(model, cache, bags, s: CNNSettings, device, batch_size: int = 128,
                    images=None) -> np.ndarray:
    """The CNN's image probabilities averaged over each bag, zero where the stage forbids.
    `images`: the cache placed by images_on (default: the memory-mapped array)."""
    transform = EvalTransform(resize_hw=tuple(s.resize_hw), out_hw=tuple(s.out_hw),
                              grayscale=s.in_chans == 1)
    rows, bag_of = image_table(bags, cache)
    batches = ImageBatches(cache.array if images is None else images, rows, None, None, batch_size,
                           device=device)

    def forward(m, b):
        with autocast(device, s.amp):
            return torch.sigmoid(m(transform(b["x"]).contiguous(memory_format=s.memory_format)).float())

    probs = mean_per_bag(predict(model, batches, forward), bag_of, len(bags))
    return probs * np.stack([b.mask for b in bags])


def fit_image_model(cache, train, valid, s: CNNSettings, device, checkpoint_dir,
                    init_state=None, inputs: dict | None = None, stop_after=None,
                    progress: str | None = "text", images=None):
    """Train the image CNN on every image of `train` with its bag's labels; (model, history).

    Loss: focal (eq. 1) with the stage mask, gamma annealed, label weights w_m tempered.
    best.pt is the epoch with the best validation `select_metric` (images averaged per
    bag). `init_state`: a warm-up backbone's state dict path. `inputs` join the resume key.
    `images`: the cache placed by utils.loaders.images_on (made here if not given).
    """
    generator = seed_everything(s.seed)
    rows, bag_of = image_table(train, cache)
    y = np.stack([b.target for b in train])[bag_of]
    m = np.stack([b.mask for b in train])[bag_of].astype(np.float32)
    y_valid, m_valid = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    w_m = label_pos_weights(y, m, max_weight=s.max_pos_weight)
    tempering = TemperingSchedule(s.temper_start, s.temper_half_period, s.temper_freeze)
    gamma = GammaSchedule(s.gamma_start, s.gamma_end, s.gamma_T)

    model = build_backbone(s.backbone, in_chans=s.in_chans).to(device).to(memory_format=s.memory_format)
    if init_state is not None:
        model.load_state_dict(load_checkpoint(init_state, map_location=device))
    forward = compile_network(model, s.compile_backend)
    loss_fn = FocalLoss(gamma=s.gamma_start, pos_weight=w_m if s.use_weights else None).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=s.cnn_lr, **_optimizer_options(device))
    images = images_on(cache.array, device) if images is None else images
    batches = ImageBatches(images, rows, y, m, s.cnn_batch_size, shuffle=True, generator=generator,
                           drop_last=len(rows) > s.cnn_batch_size, augment=s.augment(), device=device)

    def on_epoch_start(epoch):
        loss_fn.gamma = gamma(epoch)
        strength = tempering.strength(epoch) if (s.use_weights and s.use_tempering) else float(s.use_weights)
        loss_fn.set_pos_weight(1 + strength * (w_m - 1))
        return {"gamma": loss_fn.gamma, "weight_strength": strength,
                "train_images": len(batches) * s.cnn_batch_size}

    def train_step(model, batch, epoch):
        with autocast(device, s.amp):
            logits = forward(batch["x"].contiguous(memory_format=s.memory_format))
        return loss_fn(logits, batch["y"], batch["mask"])

    def validate(model):
        probs = image_bag_probs(model, cache, valid, s, device, batch_size=512, images=images)
        return evaluate(y_valid, probs, mask=m_valid)

    key = run_key(settings=dataclasses.asdict(s), init=Path(init_state) if init_state else None,
                  train=[b.gene_stage for b in train], **(inputs or {}))
    history = fit(model, optimizer, batches, train_step, s.cnn_epochs, checkpoint_dir,
                  lr_schedule=CosineLR(s.cnn_lr, s.cnn_lr_min, s.cnn_lr_T), evaluate=validate,
                  select=s.select_metric, on_epoch_start=on_epoch_start, generator=generator,
                  stop_after=stop_after, key=key, progress=progress, desc="CNN",
                  capture=step_capture(s.compile_backend, device))
    return model, _with_rate(history)


@dataclass
class BagSettings(_Settings):
    seed: int = 0
    bag_head: str = "attention"         # "attention", "bilstm" (the paper) or "mean"
    lstm_hidden: int = 128
    lstm_dropout: float = 0.3
    lstm_epochs: int = 40
    lstm_batch_size: int = 16
    lstm_lr: float = 2e-3
    lstm_lr_min: float = 1e-6
    gamma_start: float = 0.0            # as CNNSettings
    gamma_end: float = 0.0
    gamma_T: int = 4
    n_orders: int = 4                   # image orders averaged at prediction (BiLSTM only)
    select_metric: str = "score"
    lstm_readout: str = "mean"          # BiLSTM only: "mean" over steps or "ends" ([h_N, h_0])
    lstm_input_norm: str = "none"       # BiLSTM only: "none" or "layernorm" of the features
    lstm_dropout_at: str = "all"        # BiLSTM only: "all" or "linear" (the paper's place)
    lstm_skip: str = "mean"             # BiLSTM only: a linear read of the bag's mean feature; "none": the paper's
    bag_grad_clip: float | None = None  # clip the gradient norm of every step to this

    def build(self, in_dim: int):
        kwargs = {"dropout": self.lstm_dropout}
        if self.bag_head != "mean":
            kwargs["hidden"] = self.lstm_hidden
        if self.bag_head == "bilstm":
            kwargs.update(readout=self.lstm_readout, input_norm=self.lstm_input_norm,
                          dropout_at=self.lstm_dropout_at, skip=self.lstm_skip)
        return build_bag_head(self.bag_head, in_dim=in_dim, **kwargs)


def _bag_batches(features, cache, bags, batch_size, generator=None, shuffle=False, within=False):
    return BagBatches(features, cache.bag_rows(bags), np.stack([b.target for b in bags]),
                      np.stack([b.mask for b in bags]).astype(np.float32), batch_size,
                      shuffle=shuffle, shuffle_within=within, generator=generator)


def predict_bags(model, features, cache, bags, device, orders: int = 1, seed: int = 0) -> np.ndarray:
    """Bag probabilities, averaged over `orders` image orders (the first is the stored one)."""
    generator = torch.Generator().manual_seed(seed)

    def forward(m, b):
        return torch.sigmoid(m(b["x"].to(device), b["bag_mask"].to(device))) * b["mask"].to(device)

    return np.mean([predict(model, _bag_batches(features, cache, bags, 256, generator, within=k > 0), forward)
                    for k in range(orders)], axis=0)


def fit_bag_model(features, cache, train, valid, s: BagSettings, device, checkpoint_dir,
                  inputs: dict | None = None, progress: str | None = "text"):
    """Train the bag head on per-image features; (model, history). Images of each bag
    come in a fresh order every epoch, since a bag has no order. `cache` tells where each
    bag's rows of `features` are (`bag_rows`): the image cache, or utils.folds.StackedInputs."""
    generator = seed_everything(s.seed)
    model = s.build(features.shape[1]).to(device)
    y_valid, m_valid = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    loss_fn = FocalLoss(gamma=s.gamma_start).to(device)
    gamma = GammaSchedule(s.gamma_start, s.gamma_end, s.gamma_T)

    def on_epoch_start(epoch):
        loss_fn.gamma = gamma(epoch)
        return {"gamma": loss_fn.gamma}

    def train_step(model, batch, epoch):
        logits = model(batch["x"].to(device), batch["bag_mask"].to(device))
        return loss_fn(logits, batch["y"].to(device), batch["mask"].to(device))

    def validate(model):
        return evaluate(y_valid, predict_bags(model, features, cache, valid, device), mask=m_valid)

    batches = _bag_batches(features, cache, train, s.lstm_batch_size, generator, shuffle=True, within=True)
    key = run_key(settings=dataclasses.asdict(s), train=[b.gene_stage for b in train], **(inputs or {}))
    optimizer = torch.optim.Adam(model.parameters(), lr=s.lstm_lr, **_optimizer_options(device))
    history = fit(model, optimizer, batches, train_step,
                  s.lstm_epochs, checkpoint_dir, lr_schedule=CosineLR(s.lstm_lr, s.lstm_lr_min, s.lstm_epochs),
                  clip_grad_norm=s.bag_grad_clip,
                  evaluate=validate, select=s.select_metric, on_epoch_start=on_epoch_start,
                  generator=generator, progress=progress, key=key, desc=f"bag head ({s.bag_head})")
    return model, history
