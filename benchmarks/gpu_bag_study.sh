#!/usr/bin/env bash
# The bag models at the real size on one GPU, in one command that fits a short lease:
#  1. a real-size generated folder (realistic style) made with every core;
#  2. the paper profile through 04 (image features), the CNN shortened by PIPELINE_ARGS;
#  3. benchmarks/bag_study.py: every BiLSTM variant and the other heads on those features,
#     JOBS at a time, beside the CNN's per-bag average and the floors;
#  4. with the time left before BUDGET seconds: benchmarks/step_profile.py with compilation.
# Everything lands in $OUT (log.txt, bag_study.csv, run.tgz: timings, histories, executed
# notebooks). Try it on the CPU first with tiny settings:
#   OUT=/tmp/o BAGS=60 DEVICE=cpu JOBS=2 PIPELINE_ARGS="-p cnn_epochs 1 -p warmup_epochs 1" \
#     STUDY_ARGS="-p lstm_epochs 2 -p lstm_hidden 16" PROFILE_ARGS="--steps 2 --batch 4" \
#     bash benchmarks/gpu_bag_study.sh
set -uo pipefail
: "${OUT:?set OUT}"
BAGS=${BAGS:-8461}
STYLE=${STYLE:-real}
DEVICE=${DEVICE:-cuda}
JOBS=${JOBS:-13}
BUDGET=${BUDGET:-570}
ROOT=${ROOT:-/tmp/bag-study}
WORKERS=${WORKERS:-$(nproc)}
PIPELINE_ARGS=${PIPELINE_ARGS:-"-p warmup_epochs 1 -p warmup_batch_size 256 -p cnn_epochs 30 -p cnn_lr_T 27 \
-p gamma_T 3 -p temper_start 12 -p temper_half_period 9 -p temper_freeze 25"}
STUDY_ARGS=${STUDY_ARGS:-}
PROFILE_ARGS=${PROFILE_ARGS:-"--steps 20"}
PYTHON=${PYTHON:-python3}
start=$(date +%s)
left() { echo $(( BUDGET - ($(date +%s) - start) )); }
mkdir -p "$OUT" "$ROOT"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1

$PYTHON -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
[ -d "$ROOT/data" ] || $PYTHON -m utils.synthetic --out "$ROOT/data" --bags "$BAGS" --seed 0 --style "$STYLE" \
  --workers "$WORKERS"
echo "generated at $(( $(date +%s) - start )) s"
# shellcheck disable=SC2086
$PYTHON -m utils.pipeline --profile paper --data "$ROOT/data" --work "$ROOT/work" --device "$DEVICE" \
  --submissions "$ROOT/subs" --to 04 $PIPELINE_ARGS
echo "features at $(( $(date +%s) - start )) s"
# shellcheck disable=SC2086
$PYTHON benchmarks/bag_study.py --work "$ROOT/work" --device "$DEVICE" --jobs "$JOBS" --out "$ROOT/study" \
  --budget $(( $(left) - 60 )) $STUDY_ARGS
cp "$ROOT/study/bag_study.csv" "$OUT/" 2>/dev/null
tar czf "$OUT/run.tgz" -C "$ROOT" --exclude='*.pt' work/timings.json work/run.json work/cnn/history.csv work/warmup/history.csv \
  work/executed study/variants 2>/dev/null
echo "study done at $(( $(date +%s) - start )) s"
if [ "$(left)" -gt 60 ]; then
  # shellcheck disable=SC2086
  timeout $(( $(left) - 5 )) $PYTHON benchmarks/step_profile.py --device "$DEVICE" --no-matrix \
    --compile inductor-cudagraphs inductor $PROFILE_ARGS
fi
echo "total $(( $(date +%s) - start )) s"
