#!/usr/bin/env bash
# The Ray backend's cluster tests, run by tests/ray.rs inside a private network namespace
# (`unshare -n`), so every Ray process binds to 127.0.0.1 and nothing outside can reach them.
#
#   scenarios.sh OUT CHUNKPROOF RAY_CLI PYTHON FIXTURE_DIR
#
# Starts a two-node Ray cluster (head: 1 CPU, no custom resource; worker: 2 CPUs and the custom
# resource `chunkproof_worker`), runs three proving scenarios against it, writes each one's
# stdout, stderr and exit status to OUT, and stops exactly the Ray processes it started.
set -u
out=$1 bin=$2 ray=$3 python=$4 fixture=$5
mkdir -p "$out"
ip link set lo up
tmp=$(mktemp -d /tmp/chunkproof-ray-XXXXXX)
export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 CHUNKPROOF_PYTHON=$python
free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

stop_cluster() {
    # Exactly the processes started here: every process in this private network namespace
    # but this script (`ray stop` would kill every Ray process on the machine).
    local ns pass p
    ns=$(readlink /proc/$$/ns/net)
    for pass in 1 2 3; do
        for p in /proc/[0-9]*; do
            p=${p#/proc/}
            [ "$p" = "$$" ] && continue
            [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$ns" ] && kill -9 "$p" 2>/dev/null
        done
        sleep 0.5
    done
    rm -rf "$tmp"
}
trap stop_cluster EXIT

port=$(free_port)
common=(--node-ip-address 127.0.0.1 --disable-usage-stats --object-store-memory 120000000 --temp-dir "$tmp")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
"$ray" start --head --port "$port" --num-cpus 1 --include-dashboard false "${common[@]}" \
    --dashboard-agent-listen-port "$(free_port)" > "$out/head.log" 2>&1 || { echo "head failed" >&2; cat "$out/head.log" >&2; exit 10; }
"$ray" start --address "127.0.0.1:$port" --num-cpus 2 --resources '{"chunkproof_worker": 2}' "${common[@]}" \
    --dashboard-agent-listen-port "$(free_port)" > "$out/worker.log" 2>&1 || { echo "worker failed" >&2; cat "$out/worker.log" >&2; exit 11; }
echo "cluster up: $(( $(ms) - t0 )) ms" > "$out/timing.txt"

prove() { # NAME EXTRA... : one run against the cluster
    local name=$1; shift
    "$bin" prove --model "$fixture/model.msgpack" --input "$fixture/input.msgpack" --chunks 4 \
        --keys "$out/keys" --out "$out/$name.bundle" --dev-setup --ray "127.0.0.1:$port" \
        --ray-resource "${RES:-chunkproof_worker}" --ray-keys "$out/worker-keys" --json "$@" \
        > "$out/$name.json" 2> "$out/$name.err"
    echo $? > "$out/$name.rc"
}

# 1. Honest run; chunks must land on the worker node (the only one with the resource).
s=$(ms)
prove honest --insecure-salt-seed 7
echo "honest run: $(( $(ms) - s )) ms" >> "$out/timing.txt"

# 2. The worker process of chunk 1 is killed mid-proof (SIGKILL): Ray retries the chunk.
(
    export CHUNKPROOF_WORKER_START_DELAY_MS=2500
    prove killed --insecure-salt-seed 7
) &
runner=$!
killed=""
for _ in $(seq 1 600); do
    pid=$(pgrep -f "prove-chunk .*chunk-0001.job" | head -1)
    if [ -n "$pid" ]; then kill -9 "$pid" && killed=$pid; break; fi
    sleep 0.1
done
echo "${killed:-none}" > "$out/killed.pid"
wait "$runner"

# 3. A chunk that always fails: a clear error naming it, and no bundle.
CHUNKPROOF_WORKER_FAIL_CHUNK=2 prove failing --retries 1

# 4. Tasks that no node can run (a resource nobody offers): refused up front, not left pending.
RES=no_such_resource prove infeasible

echo "done" >> "$out/timing.txt"
