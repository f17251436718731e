"""Stream one feature vector (and the CNN's probabilities) per cached image to disk.

Features go straight into a memory-mapped .npy (rows follow the image cache), written
under a temporary name and renamed when complete, so memory stays flat at any data size
and an interrupted dump leaves nothing that looks finished; its disk space is reserved first.
"""
from __future__ import annotations

import numpy as np
import torch

from .atomic import atomic_path, reserved_memmap
from .engine import autocast
from .models import image_features


@torch.no_grad()
def dump_features(model, array, transform, out_path, device, batch_size: int = 128,
                  tta_flip: bool = False, amp: bool = True) -> np.ndarray:
    """Write features of every row of `array` to `out_path`; returns the (N, 30) probabilities.
    `amp`: bf16 autocast on a GPU, as the CNN was trained and validated (03's `amp`).
    The flips are averaged on the device and each batch comes back in one copy: one wait
    for the GPU per batch instead of two per flip."""
    model.eval()
    probs = np.zeros((len(array), model.num_classes), dtype=np.float32)
    flips = [False, True] if tta_flip else [False]
    width = model.num_features
    with atomic_path(out_path) as partial:
        features = reserved_memmap(partial, np.float32, (len(array), width))
        for start in range(0, len(array), batch_size):
            x = torch.from_numpy(np.array(array[start:start + batch_size])).to(device)  # a writable copy
            both = 0
            for flip in flips:
                with autocast(device, amp):
                    f = image_features(model, transform(x, hflip=flip))
                    logits = model.get_classifier()(f)
                both = both + torch.cat([f.float(), torch.sigmoid(logits.float())], 1)
            both = (both / len(flips)).cpu().numpy()
            features[start:start + len(x)] = both[:, :width]
            probs[start:start + len(x)] = both[:, width:]
        features.flush()
        del features
    return probs
