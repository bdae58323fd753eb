#!/usr/bin/env bash
# GPU benchmark and GPU tests on a machine with an NVIDIA GPU (run by `make gpu-bench`).
#
#   tools/gpu-bench.sh BIN_DIR MODEL_DIR OUT_DIR
#
# BIN_DIR holds `chunkproof` built with `--features gpu`, optionally `chunkproof-gpu-worker`
# (full GPU proving) and `gpu-tests` (the prover's `gpu` test binary). MODEL_DIR holds zkml's
# model.msgpack and inp.msgpack. Everything measured goes to OUT_DIR (log.txt, msm.md,
# prove-*.json, summary.md). Keys and the dev SRS are generated once, in OUT_DIR's scratch.
# Then the bundle is proven again with the Poseidon transcript and aggregated into one proof on
# the CPU and with `--gpu` (aggregate-*.json; skip with SKIP_AGG=1).
# Knobs (environment): CHUNKS (4), ENGINES ("cpu cuda-msm cuda-full"), EXTRA (more `prove`
# arguments, e.g. --cache-pk), SKIP_MSM=1, SKIP_AGG=1, MSM_MIN/MSM_MAX (16/22).
set -uo pipefail
BIN=$(realpath "$1"); MODEL=$(realpath "$2"); OUT=$(realpath -m "$3")
INPUT="$MODEL/inp.msgpack"; [ -f "$INPUT" ] || INPUT="$MODEL/input.msgpack"
mkdir -p "$OUT"; WORK=$(mktemp -d)
exec > >(tee -a "$OUT/log.txt") 2>&1
echo "== machine"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
echo "cpu: $(nproc) threads, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
if [ -x "$BIN/gpu-tests" ]; then
  echo "== gpu tests"; "$BIN/gpu-tests" --test-threads 1 --nocapture || echo "GPU TESTS FAILED"
fi
[ -n "${SKIP_MSM:-}" ] || "$BIN/chunkproof" bench-msm --min-log "${MSM_MIN:-16}" --max-log "${MSM_MAX:-22}" --reps 3 --out "$OUT/msm.md" >/dev/null
prove() { # name, extra args
  local name=$1; shift
  local timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -v -o "$WORK/$name.time")
  "${timer[@]}" "$BIN/chunkproof" prove --model "$MODEL/model.msgpack" --input "$INPUT" \
    --chunks "${CHUNKS:-4}" --keys "$WORK/keys" --out "$WORK/$name.bundle" --dev-setup --json ${EXTRA:-} "$@" \
    > "$OUT/prove-$name.json" 2> "$WORK/$name.err"; local rc=$?
  grep -hE "Maximum resident|Elapsed" "$WORK/$name.time" 2>/dev/null | sed "s/^/$name: /"
  [ $rc -eq 0 ] || { echo "$name FAILED rc=$rc"; tail -5 "$WORK/$name.err"; return 1; }
  "$BIN/chunkproof" verify "$WORK/$name.bundle" --keys "$WORK/keys" --dev-setup && echo "$name: bundle verifies"
}
echo "== prove"
prove warmup                      # keygen and dev SRS, not measured
[ -x "$BIN/chunkproof-gpu-worker" ] && export CHUNKPROOF_GPU_WORKER="$BIN/chunkproof-gpu-worker"
for engine in ${ENGINES:-cpu cuda-msm cuda-full}; do
  if [ "$engine" = cuda-full ] && [ ! -x "$BIN/chunkproof-gpu-worker" ]; then echo "no GPU worker: skipping cuda-full"; continue; fi
  for r in 1 2 3; do prove "$engine-$r" --engine "$engine"; done
done
aggregate() { # name, extra args
  local name=$1; shift
  local timer=(); [ -x /usr/bin/time ] && timer=(/usr/bin/time -v -o "$WORK/$name.time")
  "${timer[@]}" "$BIN/chunkproof" aggregate "$WORK/agg.bundle" --keys "$WORK/akeys" --out "$WORK/$name.agg" \
    --dev-setup --json "$@" > "$OUT/aggregate-$name.json" 2> "$WORK/$name.err"; local rc=$?
  grep -hE "Maximum resident|Elapsed" "$WORK/$name.time" 2>/dev/null | sed "s/^/$name: /"
  [ $rc -eq 0 ] || { echo "$name FAILED rc=$rc"; tail -5 "$WORK/$name.err"; return 1; }
  "$BIN/chunkproof" verify "$WORK/$name.agg" --keys "$WORK/akeys" --dev-setup && echo "$name: aggregated proof verifies"
}
if [ -z "${SKIP_AGG:-}" ]; then
  echo "== aggregate"
  if "$BIN/chunkproof" prove --model "$MODEL/model.msgpack" --input "$INPUT" --chunks "${CHUNKS:-4}" \
      --keys "$WORK/akeys" --out "$WORK/agg.bundle" --dev-setup --transcript poseidon > /dev/null 2> "$WORK/agg-bundle.err"; then
    aggregate agg-cpu
    if [ -x "$BIN/chunkproof-gpu-worker" ]; then aggregate agg-gpu --gpu; else echo "no GPU worker: skipping agg-gpu"; fi
  else
    echo "the Poseidon bundle FAILED"; tail -5 "$WORK/agg-bundle.err"
  fi
fi
python3 - "$OUT" <<'PY'
import json, glob, os, sys, statistics
out = sys.argv[1]
rows = {}
for f in sorted(glob.glob(os.path.join(out, "prove-*.json"))):
    name = os.path.basename(f)[6:-5]
    if name == "warmup": continue
    try: rep = json.load(open(f))["report"]
    except Exception: continue
    eng = name.rsplit("-", 1)[0]
    rows.setdefault(eng, []).append([c["prove_ms"] for c in rep["chunks"]])
with open(os.path.join(out, "summary.md"), "w") as s:
    s.write("| engine | " + " | ".join(f"chunk {i} ms" for i in range(len(next(iter(rows.values()))[0]))) + " | sum ms |\n")
    s.write("|---" * (len(next(iter(rows.values()))[0]) + 2) + "|\n")
    for eng, runs in rows.items():
        med = [statistics.median(r[i] for r in runs) for i in range(len(runs[0]))]
        s.write(f"| {eng} | " + " | ".join(f"{m:.0f}" for m in med) + f" | {sum(med):.0f} |\n")
    aggs = sorted(glob.glob(os.path.join(out, "aggregate-*.json")))
    if aggs:
        s.write("\n| aggregation | k | keys ms | proving ms | whole command ms | engine |\n|---|---|---|---|---|---|\n")
    for f in aggs:
        try: a = json.load(open(f))
        except Exception: continue
        s.write(f"| {os.path.basename(f)[10:-5]} | {a['k']} | {a['keygen_ms']} | {a['prove_ms']} | {a['total_ms']} | {a.get('engine', '')} |\n")
print(open(os.path.join(out, "summary.md")).read())
PY
[ -f "$OUT/msm.md" ] && cat "$OUT/msm.md"
rm -rf "$WORK"
