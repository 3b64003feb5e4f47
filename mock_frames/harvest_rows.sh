#!/bin/bash
# Row-reader windows on every core for a while: the mix the shipped row reader was trained on.
#
#   bash mock_frames/harvest_rows.sh OUT SECONDS [JOBS] [ROWS_PER_RUN]
#   python -m training.rows OUT/*/rows.npz --out artifacts/rows.pt
#
# JOBS jobs (default: one per core) each run mock_frames/harvest.py --rows ROWS_PER_RUN (700)
# once, then again and again until SECONDS have passed, every run with its own seed (ROWS_SEED, default
# 40000, + 100 * job + run) and its own slice of the MNIST training images (--first), into
# OUT/JOB_RUN/rows.npz. A harvest on a second machine, to be trained on beside the first, takes
# another ROWS_SEED (70000, say) so that no run repeats one of the first harvest's.
# Job j writes the j-th photos of MIX (in turn): of 15 jobs, 8 the wild renderer's numbers,
# 2 the same in fine pens, 3 generate.py's `hard` frames (light on dark, close-ups, dim
# light) and 2 its `numbers`. ROWS_MIX replaces that mix: SCENARIO:FLAG entries separated by
# spaces, for example "wild-numbers: wild-continental: hard:" (a third of the jobs each).
# MNIST_DIR (default ../shared/data/mnist) holds the .gz files; the slices start below
# SPREAD (36000: a run of 700 takes about 3,000 of the 55,000 images).
set -u
out=${1:?OUT folder}
seconds=${2:?SECONDS}
jobs=${3:-$(nproc)}
chunk=${4:-700}
here=$(cd "$(dirname "$0")" && pwd)
python=${PYTHON:-$here/../.venv/bin/python}
mnist=${MNIST_DIR:-$here/../../shared/data/mnist}
MIX=(wild-numbers: hard: wild-numbers:--fine-pens numbers: wild-numbers: hard: wild-numbers:
  wild-numbers:--fine-pens wild-numbers: numbers: wild-numbers: hard: wild-numbers:
  wild-numbers: wild-numbers:)
if [ -n "${ROWS_MIX:-}" ]; then read -r -a MIX <<<"$ROWS_MIX"; fi
mkdir -p "$out"
start=$(date +%s)

job() {
  local j=$1 run=0 spec=${MIX[$(($1 % ${#MIX[@]}))]}
  local scenario=${spec%:*} pens=${spec#*:}
  while :; do  # at least one run, however soon the time is up
    local seed=$((${ROWS_SEED:-40000} + 100 * j + run)) first=$(((j * 2900 + run * 9100) % ${SPREAD:-36000}))
    # shellcheck disable=SC2086  # $pens is one flag or none
    "$python" "$here/harvest.py" --data-dir "$mnist" --numbers 0 --single 0 --rows "$chunk" \
      --rows-scenario "$scenario" $pens --first "$first" --seed "$seed" \
      --out "$out/${j}_${run}" >"$out/${j}_${run}.log" 2>&1 ||
      echo "job $j run $run failed: $(tail -n 1 "$out/${j}_${run}.log")" >&2
    run=$((run + 1))
    [ $(($(date +%s) - start)) -lt "$seconds" ] || break
  done
}

for j in $(seq 0 $((jobs - 1))); do job "$j" & done
wait
echo "$(ls "$out"/*/rows.npz | wc -l) runs in $(($(date +%s) - start)) s under $out"
