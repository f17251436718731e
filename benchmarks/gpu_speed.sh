#!/usr/bin/env bash
# Issue 10's GPU figures in one command that fits a short lease (BUDGET seconds in all), each
# phase given only the time left (PHASES picks and orders them):
#   profile  benchmarks/step_profile.py: the paper's eager step against the captured step
#            (compile_backend cuda-graph) and COMPILE's backends, at batch 128 and 512;
#   tests    pytest -m gpu: the captured step tracks eager, repeats its bytes and resumes exactly;
#   chain    benchmarks/gpu_chain.py: real-size data, the paper recipe with CHAIN_ARGS (default:
#            the captured step) through papermill, and the same bytes twice.
# The full paper recipe needs most of one 10-minute command: on a 15-minute lease, run
# PHASES="profile tests" BUDGET=240 first, then PHASES=chain BUDGET=560 at once (the machine
# stays warm 30 s). Papermill (and pytest, if the machine lacks it) come from
# ../shared/tools/device-wheels.sh.
# Everything lands in $OUT (log.txt, gpu_chain.json, full.log). Try it on the CPU first:
#   OUT=/tmp/o DEVICE=cpu BUDGET=700 BAGS=60 RERUN_BAGS=40 PROFILE_ARGS="--steps 2 --batch 4" \
#     SHORT_ARGS="-p warmup_epochs 1 -p cnn_epochs 3 -p cnn_lr_T 2 -p gamma_T 1 -p temper_start 0 \
#       -p temper_half_period 1 -p temper_freeze 2 -p lstm_epochs 1" \
#     CHAIN_ARGS="-p warmup_epochs 1 -p cnn_epochs 1 -p lstm_epochs 1" bash benchmarks/gpu_speed.sh
# (3 CNN epochs in the reruns, so that the run killed after the first has some left to resume.)
set -uo pipefail
: "${OUT:?set OUT}"
BUDGET=${BUDGET:-540}
DEVICE=${DEVICE:-cuda}
PHASES=${PHASES:-"profile tests chain"}
BAGS=${BAGS:-8461}
RERUN_BAGS=${RERUN_BAGS:-1000}
COMPILE=${COMPILE:-cuda-graph}
PROFILE_ARGS=${PROFILE_ARGS:-"--steps 20 --batch 128 512"}
CHAIN_ARGS=${CHAIN_ARGS:-"-p compile_backend cuda-graph"}
SHORT_ARGS=${SHORT_ARGS:-"-p warmup_epochs 1 -p cnn_epochs 8 -p cnn_lr_T 7 -p gamma_T 2 -p temper_start 2 \
-p temper_half_period 2 -p temper_freeze 6 -p lstm_epochs 6 -p compile_backend cuda-graph"}
PYTHON=${PYTHON:-python3}
WORKERS=${WORKERS:-$(nproc)}
start=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - start) )); }
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1

$PYTHON -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
for phase in $PHASES; do
  echo "== $phase at $(( $(date +%s) - start )) s, $(left) s left"
  case $phase in
    profile)
      # shellcheck disable=SC2086
      timeout $(( $(left) / 3 )) $PYTHON benchmarks/step_profile.py --device "$DEVICE" --no-matrix \
        --compile $COMPILE $PROFILE_ARGS ;;
    tests)
      if $PYTHON -c "import pytest" 2>/dev/null; then
        timeout $(( $(left) / 3 )) $PYTHON -m pytest -q -m gpu -p no:cacheprovider tests/test_devices.py
      else
        echo "pytest is not installed here: tests skipped"
      fi ;;
    chain)
      [ "$(left)" -gt 120 ] || { echo "no time left for the chain"; continue; }
      $PYTHON benchmarks/gpu_chain.py --out "$OUT" --device "$DEVICE" --bags "$BAGS" --rerun-bags "$RERUN_BAGS" \
        --workers "$WORKERS" --budget $(( $(left) - 10 )) --full-args "$CHAIN_ARGS" --short-args "$SHORT_ARGS" ;;
    *) echo "unknown phase $phase" ;;
  esac
done
echo "total $(( $(date +%s) - start )) s"
