"""FlyExpress kit: the importable part of the notebooks (losses, schedules, loaders, training)."""
import os

# cuBLAS is deterministic only with a fixed workspace, and reads this when CUDA starts;
# every notebook imports utils before touching the GPU. A value the user set is kept.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
# MKL (torch's matrix products on the CPU) promises the same bits run to run only with
# deterministic reductions and static scheduling; AUTO keeps this CPU's fastest code path.
# MKL reads it at its first product, and papermill's kernels inherit it from the pipeline.
# (utils.engine.seed_everything pins the thread count, MKL's other condition.)
os.environ.setdefault("MKL_CBWR", "AUTO")
