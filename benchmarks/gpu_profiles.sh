#!/usr/bin/env bash
# Whole profiles against each other on one real-size generated folder, run as a user runs
# them (the pipeline and papermill): the `gpu` profile against `paper` with its BiLSTM fixed
# (issue 11), every run of every seed at once on one card, until BUDGET seconds from the
# start. A run not finished by then gets SIGINT (papermill stops its kernel) and is listed as
# incomplete. Prints `python -m utils.runs` over the runs: hidden-test scores, each run's
# floors beside them, and minutes.
#  - RUNS: '|'-separated, each "PROFILE [pipeline arguments]".
#  - The paper's 100 CNN epochs do not fit one lease beside other runs (about 15 minutes on an
#    H200 alone, BENCHMARKS.md), so the default compares both at 30 CNN epochs; set RUNS to
#    "gpu|paper -p lstm_lr 1e-3" where the card runs the full recipe in time.
# Everything lands in $OUT (log.txt, runs.txt, runs.csv, logs.tgz: each run's pipeline log).
# Try it on the CPU first with tiny settings:
#   OUT=/tmp/o BAGS=60 DEVICE=cpu SEEDS="0" BUDGET=400 \
#     EXTRA_ARGS="-p warmup_epochs 1 -p cnn_epochs 1 -p cnn_lr_T 1 -p gamma_T 1 -p temper_start 0 \
#       -p temper_half_period 1 -p temper_freeze 1 -p lstm_epochs 1" bash benchmarks/gpu_profiles.sh
set -uo pipefail
: "${OUT:?set OUT}"
BAGS=${BAGS:-8461}
STYLE=${STYLE:-real}
DEVICE=${DEVICE:-cuda}
SEEDS=${SEEDS:-"0 1"}
BUDGET=${BUDGET:-540}
ROOT=${ROOT:-/tmp/gpu-profiles}
PAPER_30=${PAPER_30:-"-p warmup_epochs 1 -p warmup_batch_size 256 -p cnn_epochs 30 -p cnn_lr_T 27 -p gamma_T 3 \
-p temper_start 12 -p temper_half_period 9 -p temper_freeze 25 -p lstm_lr 1e-3"}
RUNS=${RUNS:-"gpu|paper $PAPER_30"}
EXTRA_ARGS=${EXTRA_ARGS:-}  # added to every run, after its own
PYTHON=${PYTHON:-python3}
WORKERS=${WORKERS:-$(nproc)}
DATA_SEED=${DATA_SEED:-2026}
start=$(date +%s)
mkdir -p "$OUT" "$ROOT/runs" "$ROOT/logs"
exec > >(tee -a "$OUT/log.txt") 2>&1
export PYTHONUNBUFFERED=1

$PYTHON -c "import torch; print(torch.__version__, torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"
data="$ROOT/data-$BAGS-$DATA_SEED-$STYLE"
[ -d "$data" ] || $PYTHON -m utils.synthetic --out "$data" --bags "$BAGS" --seed "$DATA_SEED" --style "$STYLE" \
  --workers "$WORKERS"
echo "generated at $(( $(date +%s) - start )) s"

IFS='|' read -r -a runs <<< "$RUNS"
left=$(( BUDGET - 15 - ($(date +%s) - start) ))
pids=()
for seed in $SEEDS; do
  for i in "${!runs[@]}"; do
    read -r profile args <<< "${runs[$i]}"
    name="$i-$profile-seed$seed"
    echo "$name: --profile $profile --seed $seed $args $EXTRA_ARGS"
    # shellcheck disable=SC2086
    timeout -s INT -k 30 "$left" $PYTHON -m utils.pipeline --profile "$profile" --seed "$seed" --data "$data" \
      --device "$DEVICE" --work "$ROOT/runs/$name" --submissions "$ROOT/subs" $args $EXTRA_ARGS \
      > "$ROOT/logs/$name.log" 2>&1 &
    pids+=($!)
  done
done
wait "${pids[@]}"  # not a bare wait: it would also wait for the tee above, which never ends
echo "runs ended at $(( $(date +%s) - start )) s"
$PYTHON -m utils.runs "$ROOT/runs" --csv "$OUT/runs.csv" | tee "$OUT/runs.txt"
tar czf "$OUT/logs.tgz" -C "$ROOT" logs 2>/dev/null
echo "total $(( $(date +%s) - start )) s"
