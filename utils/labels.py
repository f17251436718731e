"""The 30 labels, the five stages, and which labels each stage allows."""
import numpy as np

from .facts import STAGES_WHERE_SEEN

N_LABELS = 30
STAGES = (2, 3, 4, 5, 6)

# STAGE_MASK[s, i] is True when label i can occur at stage s (rows 0 and 1 unused).
STAGE_MASK = np.zeros((max(STAGES) + 1, N_LABELS), dtype=bool)
for _label, _stages in enumerate(STAGES_WHERE_SEEN):
    STAGE_MASK[list(_stages), _label] = True


def stage_mask(stages) -> np.ndarray:
    """Boolean (n, 30) mask of the labels each stage allows."""
    return STAGE_MASK[np.asarray(stages, dtype=int)]
