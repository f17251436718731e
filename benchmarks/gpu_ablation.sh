#!/usr/bin/env bash
# The real-size ablation that picks the `gpu` profile, in one command that fits a short lease:
#  1. a real-size realistic folder, generated with every core where the ablation looks for it;
#  2. every seed's groups of rows train in parallel processes, JOBS at a time, until BUDGET
#     seconds from the start (parts not finished by then are left out of the table);
#  3. the paper profile with ABLATION_ARGS: the CNN shortened so that 2 seeds of every row fit,
#     flips off (positional terms), and the BiLSTM's learning rate fixed and its mean skip on
#     (BENCHMARKS.md).
# Resolution is not a row: run it again with RES_ARGS="-p resize_hw 58,170 -p out_hw 56,168".
# Everything lands in $OUT (log.txt, results.csv, parts.tgz: each part's log and rows).
# Try it on the CPU first with tiny settings:
#   OUT=/tmp/o BAGS=60 DEVICE=cpu JOBS=2 SEEDS="0" BUDGET=300 \
#     ABLATION_ARGS="-p cnn_epochs 1 -p warmup_epochs 1 -p lstm_epochs 1 -p cnn_lr_T 1" \
#     bash benchmarks/gpu_ablation.sh
set -uo pipefail
: "${OUT:?set OUT}"
BAGS=${BAGS:-8461}
STYLE=${STYLE:-real}
DEVICE=${DEVICE:-cuda}
JOBS=${JOBS:-6}
SEEDS=${SEEDS:-"0 1"}
BUDGET=${BUDGET:-540}
ROOT=${ROOT:-/tmp/gpu-ablation}
ROWS=${ROWS:-"floor: stage prior|floor: thumbnails + logistic regression|resnet18|resnet18+attention|regnety|+loss|+swav|\
+swav+bilstm|+swav+attention|kfold|kfold+attention|kfold+stacked-attention"}
ABLATION_ARGS=${ABLATION_ARGS:-"-p warmup_epochs 1 -p warmup_batch_size 256 -p cnn_epochs 15 -p cnn_lr_T 14 \
-p gamma_T 2 -p temper_start 6 -p temper_half_period 4 -p temper_freeze 12 -p hflip 0 -p vflip 0 \
-p tta_flip False -p lstm_epochs 30 -p lstm_lr 1e-3 -p lstm_skip mean"}
RES_ARGS=${RES_ARGS:-}
PYTHON=${PYTHON:-python3}
WORKERS=${WORKERS:-$(nproc)}
DATA_SEED=${DATA_SEED:-2026}
start=$(date +%s)
mkdir -p "$OUT" "$ROOT"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1

$PYTHON -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
suffix=$([ "$STYLE" = clean ] || echo "-$STYLE")
data="$ROOT/data-$BAGS-$DATA_SEED$suffix"  # benchmarks/ablation.py's name for it
[ -d "$data" ] || $PYTHON -m utils.synthetic --out "$data" --bags "$BAGS" --seed "$DATA_SEED" --style "$STYLE" \
  --workers "$WORKERS"
echo "generated at $(( $(date +%s) - start )) s"
IFS='|' read -r -a rows <<< "$ROWS"
# shellcheck disable=SC2086
$PYTHON benchmarks/ablation.py --profile paper --device "$DEVICE" --bags "$BAGS" --style "$STYLE" \
  --data-seed "$DATA_SEED" --seeds $SEEDS --rows "${rows[@]}" --jobs "$JOBS" \
  --budget $(( BUDGET - 20 - ($(date +%s) - start) )) --out "$ROOT" \
  $ABLATION_ARGS $RES_ARGS
cp "$ROOT/results.csv" "$OUT/" 2>/dev/null
tar czf "$OUT/parts.tgz" -C "$ROOT" parts 2>/dev/null
echo "total $(( $(date +%s) - start )) s"
