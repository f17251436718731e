"""Batches from the image cache (one row per image) and from per-image features (one per bag).

No DataLoader workers are needed: the cache is a memory-mapped uint8 array, so a batch is
one fancy-indexing read (on a GPU, one gather from a copy of the cache in GPU memory);
augmentation then runs on whole batches where the model runs (utils.augment).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .augment import BatchAugment


def image_table(bags, cache) -> tuple[np.ndarray, np.ndarray]:
    """Cache rows of every image of every bag, and the bag each image belongs to."""
    rows = cache.bag_rows(bags)
    bag_of = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)]) if rows else np.zeros(0)
    return np.concatenate(rows) if rows else np.zeros(0, np.int64), bag_of.astype(np.int64)


def mean_per_bag(values: np.ndarray, bag_of: np.ndarray, n_bags: int) -> np.ndarray:
    """Average image-level values (probabilities, features) over the images of each bag."""
    sums = np.zeros((n_bags, values.shape[1]))
    np.add.at(sums, bag_of, values)
    return sums / np.maximum(np.bincount(bag_of, minlength=n_bags), 1)[:, None]


def stage_masked_bag_means(image_values: np.ndarray, cache, bags) -> np.ndarray:
    """Per-image values indexed by cache row (the CNN's probabilities, say) averaged over
    each bag's images, and zeroed where the bag's stage cannot carry the label."""
    rows, bag_of = image_table(bags, cache)
    return mean_per_bag(image_values[rows], bag_of, len(bags)) * np.stack([b.mask for b in bags])


def _order(n: int, shuffle: bool, generator: torch.Generator | None) -> np.ndarray:
    return torch.randperm(n, generator=generator).numpy() if shuffle else np.arange(n)


def fits_on_gpu(nbytes: int, device, share: float = 0.5) -> bool:
    """Whether `nbytes` take at most `share` of the GPU's free memory: free, not total, as
    other processes and the run's own tensors hold the rest."""
    free, _total = torch.cuda.mem_get_info(device)
    return nbytes <= share * free


def images_on(array: np.ndarray, device, keep: str = "auto", share: float = 0.5):
    """Where batches are gathered from. On the CPU: the memory-mapped cache itself. On a GPU:
    a copy of the whole cache in GPU memory (1.4 GB at the real size) when it takes at most
    `share` of the free memory, else in pinned host memory, streamed with non-blocking copies.
    `keep` = "device" or "memmap" forces one or the other (tests run the tensor path on the CPU).
    """
    device = torch.device(device)
    if keep == "memmap" or (keep == "auto" and device.type != "cuda"):
        return array
    fits = device.type != "cuda" or fits_on_gpu(array.nbytes, device, share)
    out = torch.empty(array.shape, dtype=torch.uint8, device=device if fits else "cpu",
                      pin_memory=not fits)
    step = max(1, (64 << 20) // max(1, array[0].nbytes))  # 64 MB at a time: host memory stays flat
    for start in range(0, len(array), step):
        out[start:start + step].copy_(torch.from_numpy(np.array(array[start:start + step])))
    return out


def _gather(images, rows: torch.Tensor, device: torch.device) -> torch.Tensor:
    """images[rows] on `device`: one read of the memmap, one gather on the GPU, or a gather
    into pinned memory copied without waiting."""
    if isinstance(images, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(images[rows.numpy()])).to(device)
    x = images.index_select(0, rows)
    if x.device.type == "cpu" and device.type != "cpu":  # pinned host memory -> GPU
        x = x.pin_memory().to(device, non_blocking=True)
    return x


@dataclass
class ImageBatches:
    """Images with their bag's targets and stage mask; call with an epoch to get its batches.

    Each epoch is planned once on the CPU from `generator`: the order (batches are sorted
    chunks of one permutation) and, with `augment`, every image's augmentation parameters.
    The plan goes to the device in one copy, so on a GPU with the images there (images_on)
    no batch waits for the host. `pair_rows` adds a second view per image ("x_pair", the
    warm-up's partner image), augmented with its own parameters.
    """

    images: object             # the cache array, or the tensor images_on made of it
    rows: np.ndarray           # cache row of each image
    targets: np.ndarray | None  # (n_images, 30) the bag's labels
    masks: np.ndarray | None    # (n_images, 30) labels the bag's stage allows
    batch_size: int
    shuffle: bool = False
    generator: torch.Generator | None = None
    drop_last: bool = False
    augment: BatchAugment | None = None
    pair_rows: np.ndarray | None = None
    device: object = "cpu"

    def __len__(self) -> int:
        n = len(self.rows)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def plan(self, epoch: int = 0) -> dict:
        """This epoch's batches as positions into `rows`, and per-position tensors (CPU)."""
        order = _order(len(self.rows), self.shuffle, self.generator)
        n = len(self) * self.batch_size if self.drop_last else len(order)
        index = np.concatenate([np.sort(order[s:s + self.batch_size]) for s in range(0, n, self.batch_size)]
                               or [np.zeros(0, np.int64)])
        plan = {"index": torch.from_numpy(index), "rows": torch.from_numpy(self.rows[index])}
        if self.targets is not None:
            plan["y"] = torch.from_numpy(self.targets[index]).float()
            plan["mask"] = torch.from_numpy(self.masks[index]).float()
        if self.pair_rows is not None:
            plan["pair_rows"] = torch.from_numpy(self.pair_rows[index])
        if self.augment is not None:
            plan["aug"] = self.augment.params(len(index), self.generator)
            if self.pair_rows is not None:
                plan["aug_pair"] = self.augment.params(len(index), self.generator)
        return plan

    def __call__(self, epoch: int = 0):
        device = torch.device(self.device)
        on_device = isinstance(self.images, torch.Tensor) and self.images.device.type != "cpu"
        plan = self.plan(epoch)
        rows = {k: plan.pop(k) for k in ("rows", "pair_rows") if k in plan}
        rows = _to(rows, device) if on_device else rows  # gathered where the images are
        plan = _to(plan, device)
        for start in range(0, len(plan["index"]), self.batch_size):
            cut = slice(start, start + self.batch_size)
            batch = {"x": _gather(self.images, rows["rows"][cut], device), "index": plan["index"][cut]}
            if "y" in plan:
                batch["y"], batch["mask"] = plan["y"][cut], plan["mask"][cut]
            if "pair_rows" in rows:
                batch["x_pair"] = _gather(self.images, rows["pair_rows"][cut], device)
            if self.augment is not None:
                batch["x"] = self.augment.apply(batch["x"], _slice(plan["aug"], cut))
                if "x_pair" in batch:
                    batch["x_pair"] = self.augment.apply(batch["x_pair"], _slice(plan["aug_pair"], cut))
            yield batch

    def __iter__(self):
        return self(0)


def _to(tree: dict, device) -> dict:
    return {k: _to(v, device) if isinstance(v, dict) else v.to(device) for k, v in tree.items()}


def _slice(tree: dict, cut: slice) -> dict:
    return {k: v[cut] for k, v in tree.items()}


@dataclass
class BagBatches:
    """Bags of per-image features, padded to (B, T, D) with a (B, T) mask of real images.

    With `shuffle_within` the images of each bag come in a fresh random order every time,
    since a bag has no order and an LSTM should not learn one.
    """

    features: np.ndarray       # (n_images, D) one row per image
    bag_rows: list             # feature rows of each bag
    targets: np.ndarray        # (n_bags, 30)
    masks: np.ndarray          # (n_bags, 30)
    batch_size: int
    shuffle: bool = False
    shuffle_within: bool = False
    generator: torch.Generator | None = None

    def __len__(self) -> int:
        return -(-len(self.bag_rows) // self.batch_size)

    def __call__(self, epoch: int = 0):
        order = _order(len(self.bag_rows), self.shuffle, self.generator)
        dim = self.features.shape[1]
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            longest = max(len(self.bag_rows[i]) for i in idx)
            x = np.zeros((len(idx), longest, dim), dtype=np.float32)
            mask = np.zeros((len(idx), longest), dtype=bool)
            for k, i in enumerate(idx):
                rows = np.asarray(self.bag_rows[i])
                if self.shuffle_within:
                    rows = rows[torch.randperm(len(rows), generator=self.generator).numpy()]
                x[k, :len(rows)] = self.features[rows]
                mask[k, :len(rows)] = True
            yield {"x": torch.from_numpy(x), "bag_mask": torch.from_numpy(mask),
                   "y": torch.from_numpy(self.targets[idx]).float(),
                   "mask": torch.from_numpy(self.masks[idx]).float(),
                   "index": torch.from_numpy(np.asarray(idx))}

    def __iter__(self):
        return self(0)
