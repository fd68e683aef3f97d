#!/usr/bin/env bash
# The GPU check of mmrest-study, in at most 8 minutes, from a clean checkout on a machine with a
# CUDA GPU and PyTorch installed:
#   1. install the project without touching torch (missing dependencies from pip, or from the
#      wheels in $WHEELS when the machine is offline);
#   2. the `cuda` tests (tests/cuda: CUDA equals CPU, training steps without host syncs);
#   3. bench_mmc.py and bench_epoch.py on CUDA;
#   4. the demo study (one seed, 4 epochs) with a quarter GPU per trial and 4 trials at once,
#      against one trial at a time, sampling the GPU's utilisation with nvidia-smi meanwhile.
# A step that cannot run (no nvidia-smi, a package that will not install, no time left) is
# skipped with the reason printed; a failing step says so and the check goes on. The last line
# is `trials_per_minute_ratio: X` (4 at once over 1 at a time; nan when either was skipped).
#
#   bash benchmarks/gpu_check.sh                   # WHEELS=DIR to install from local wheels
#   DEVICE=cpu bash benchmarks/gpu_check.sh        # every piece on the CPU, as a smoke run
set -uo pipefail
cd "$(dirname "$0")/.."

DEVICE="${DEVICE:-cuda}"
GPU_INDEX="${GPU_INDEX:-0}"
BUDGET_S=470
START=$SECONDS
WORK="$(mktemp -d)"
SPEC=search_spaces/demo.yaml
SKIPPED=()
FAILED=()

skip() { SKIPPED+=("$1"); echo "SKIPPED: $1"; }
left() { echo $((BUDGET_S - (SECONDS - START))); }

# run_step NAME SECONDS CMD...: CMD under a timeout of SECONDS, or of what is left of the budget.
run_step() {
    local name="$1" want="$2" have rc
    shift 2
    have=$(left)
    if ((have < 20)); then
        skip "$name: the 8-minute budget is spent"
        return 1
    fi
    ((want > have)) && want=$have
    echo
    echo "== $name (at most ${want}s)"
    timeout "$want" "$@"
    rc=$?
    if ((rc == 124)); then
        FAILED+=("$name: stopped at its ${want}s limit")
    elif ((rc != 0)); then
        FAILED+=("$name: exit $rc")
    fi
    return $rc
}

# --- 1. install -----------------------------------------------------------------------------
if ! TORCH_VERSION=$(python -c "import torch; print(torch.__version__)"); then
    echo "PyTorch is not importable here; install it first (this check never installs torch)."
    echo "trials_per_minute_ratio: nan"
    exit 1
fi
if [[ $DEVICE == cuda ]] && ! python -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "torch $TORCH_VERSION sees no CUDA device; DEVICE=cpu runs the pieces on the CPU."
    echo "trials_per_minute_ratio: nan"
    exit 1
fi
echo "torch $TORCH_VERSION, device $DEVICE"
PIP=(python -m pip install -q -c "$WORK/keep-torch.txt")
[[ -n ${WHEELS:-} ]] && PIP+=(--no-index --find-links "$WHEELS")
echo "torch==$TORCH_VERSION" > "$WORK/keep-torch.txt"
# requirement=module; the constraint keeps pip from replacing the installed torch.
for pair in numpy=numpy pandas=pandas scikit-learn=sklearn threadpoolctl=threadpoolctl pyyaml=yaml \
    pydantic=pydantic optuna=optuna optuna-dashboard=optuna_dashboard "ray[tune]=ray.tune" \
    plotly=plotly transformers=transformers pytest=pytest; do
    requirement="${pair%%=*}" module="${pair#*=}"
    python -c "import $module" 2>/dev/null || "${PIP[@]}" "$requirement" || skip "install $requirement"
done
"${PIP[@]}" --no-deps -e . || skip "pip install -e . (the steps below run from the checkout's path)"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

needs() {  # needs STEP MODULE...: true when every module imports, else the step is skipped
    local step="$1" module
    shift
    for module in "$@"; do
        python -c "import $module" 2>/dev/null || { skip "$step: python cannot import $module"; return 1; }
    done
}

# --- 2. the cuda tests ----------------------------------------------------------------------
needs "cuda tests" pytest mmrest.training &&
    run_step "cuda tests" 90 python -m pytest tests/cuda -m cuda -q -ra -p no:cacheprovider

# --- 3. benchmarks --------------------------------------------------------------------------
EPOCH_ARGS=(--device "$DEVICE")
[[ $DEVICE == cpu ]] && EPOCH_ARGS+=(--skip-unaligned --threads 1)  # the packed CPU epoch alone is a minute
needs "bench_mmc" sklearn threadpoolctl mmrest.training &&
    run_step "bench_mmc" 70 python benchmarks/bench_mmc.py --device "$DEVICE" --repeats 15
needs "bench_epoch" mmrest.training &&
    run_step "bench_epoch" 110 python benchmarks/bench_epoch.py "${EPOCH_ARGS[@]}"

# --- 4. the demo study, 4 trials at once against 1 ------------------------------------------
GPU_SHARE=0.25
[[ $DEVICE == cpu ]] && GPU_SHARE=0
SAMPLER=""
start_sampling() {  # nvidia-smi every half second into $1
    SAMPLER=""
    [[ $DEVICE == cuda ]] || return 0
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi -i "$GPU_INDEX" --query-gpu=utilization.gpu --format=csv,noheader,nounits -lms 500 > "$1" 2>/dev/null &
        SAMPLER=$!
    else
        skip "GPU utilisation: nvidia-smi not found"
    fi
}
stop_sampling() {  # prints the utilisation summary of $1
    [[ -n $SAMPLER ]] || return 0
    kill "$SAMPLER" 2>/dev/null
    wait "$SAMPLER" 2>/dev/null
    awk '$1 ~ /^[0-9]+$/ {s += $1; n++; if ($1 > m) m = $1; if ($1 > 0) busy++}
         END {if (n) printf "GPU %s utilisation: mean %.0f%%, max %d%%, busy in %d of %d samples (0.5 s)\n", gpu, s / n, m, busy, n;
              else print "GPU utilisation: no samples"}' gpu="$GPU_INDEX" "$1"
}
# demo NAME MAX_CONCURRENT SECONDS: runs the study, prints and sets RATE (trials per minute)
demo() {
    local name="$1" concurrent="$2" folder="$WORK/$1" t0 wall done
    RATE=""
    start_sampling "$WORK/$name.gpu"
    t0=$SECONDS
    run_step "demo study, $name" "$3" python -m mmrest.cli run "$SPEC" --studies-dir "$folder" --device "$DEVICE" \
        --set "seeds=[1]" --set train.max_epochs=4 --set "resources.gpu=$GPU_SHARE" --set "max_concurrent=$concurrent"
    wall=$((SECONDS - t0))
    stop_sampling "$WORK/$name.gpu"
    command -v ray >/dev/null && ray stop --force >/dev/null 2>&1
    done=$(python -m mmrest.cli status "$folder/demo" --json 2>/dev/null |
        python -c "import json, sys; print(sum(s['done'] for s in json.load(sys.stdin)['stages'].values()))" 2>/dev/null)
    if [[ -z $done || $done == 0 || $wall == 0 ]]; then
        skip "demo study, $name: no finished trial to count"
        return 1
    fi
    RATE=$(python -c "print(f'{$done / $wall * 60:.2f}')")
    echo "demo study, $name: $done trials in ${wall}s, $RATE trials per minute"
}
RATIO=nan
if needs "demo study" ray.tune optuna mmrest.study.runner; then
    demo one-at-a-time 1 120 && ONE=$RATE
    demo four-at-once 4 90 && FOUR=$RATE
    if [[ -n ${ONE:-} && -n ${FOUR:-} ]]; then
        RATIO=$(python -c "print(f'{$FOUR / $ONE:.2f}')")
    fi
fi

echo
echo "== summary: $((SECONDS - START))s"
for line in "${SKIPPED[@]}"; do echo "skipped: $line"; done
for line in "${FAILED[@]}"; do echo "failed: $line"; done
rm -rf "$WORK"
echo "trials_per_minute_ratio: $RATIO"
