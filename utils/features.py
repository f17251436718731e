"""Stream one feature vector (and the CNN's probabilities) per cached image to disk.

Features go straight into a memory-mapped .npy (rows follow the image cache), written
under a temporary name and renamed when complete, so memory stays flat at any data size
and an interrupted dump leaves nothing that looks finished.
"""
from __future__ import annotations

import numpy as np
import torch

from .atomic import atomic_path
from .engine import autocast
from .models import image_features


@torch.no_grad()
def dump_features(model, array, transform, out_path, device, batch_size: int = 128,
                  tta_flip: bool = False, amp: bool = True) -> np.ndarray:
    """Write features of every row of `array` to `out_path`; returns the (N, 30) probabilities.
    `amp`: bf16 autocast on a GPU, as the CNN was trained and validated (03's `amp`)."""
    model.eval()
    probs = np.zeros((len(array), model.num_classes), dtype=np.float32)
    flips = [False, True] if tta_flip else [False]
    with atomic_path(out_path) as partial:
        features = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32,
                                             shape=(len(array), model.num_features))
        for start in range(0, len(array), batch_size):
            x = torch.from_numpy(np.array(array[start:start + batch_size])).to(device)  # a writable copy
            f_sum, p_sum = 0.0, 0.0
            for flip in flips:
                with autocast(device, amp):
                    f = image_features(model, transform(x, hflip=flip))
                    logits = model.get_classifier()(f)
                f_sum = f_sum + f.float().cpu().numpy()
                p_sum = p_sum + torch.sigmoid(logits.float()).cpu().numpy()
            features[start:start + len(x)] = f_sum / len(flips)
            probs[start:start + len(x)] = p_sum / len(flips)
        features.flush()
        del features
    return probs
