"""Batches from the image cache (one row per image) and from per-image features (one per bag).

No DataLoader workers are needed: the cache is a memory-mapped uint8 array, so a batch is
one fancy-indexing read; augmentation then runs on whole batches (utils.augment).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


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


@dataclass
class ImageBatches:
    """Images with their bag's targets and stage mask; call with an epoch to get its batches."""

    array: np.ndarray          # the cache, (N, H, W) or (N, H, W, 3) uint8
    rows: np.ndarray           # cache row of each image
    targets: np.ndarray        # (n_images, 30) the bag's labels
    masks: np.ndarray          # (n_images, 30) labels the bag's stage allows
    batch_size: int
    shuffle: bool = False
    generator: torch.Generator | None = None
    drop_last: bool = False

    def __len__(self) -> int:
        n = len(self.rows)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __call__(self, epoch: int = 0):
        order = _order(len(self.rows), self.shuffle, self.generator)
        for start in range(0, len(order), self.batch_size):
            idx = np.sort(order[start:start + self.batch_size])
            if self.drop_last and len(idx) < self.batch_size:
                break
            yield {"x": torch.from_numpy(np.ascontiguousarray(self.array[self.rows[idx]])),
                   "y": torch.from_numpy(self.targets[idx]).float(),
                   "mask": torch.from_numpy(self.masks[idx]).float(),
                   "index": torch.from_numpy(idx)}

    def __iter__(self):
        return self(0)


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
