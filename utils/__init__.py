"""FlyExpress kit: the importable part of the notebooks (losses, schedules, loaders, training)."""
import os

# cuBLAS is deterministic only with a fixed workspace, and reads this when CUDA starts;
# every notebook imports utils before touching the GPU. A value the user set is kept.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
