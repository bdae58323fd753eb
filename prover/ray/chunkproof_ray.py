"""chunkproof's Ray driver: proves chunk jobs as Ray tasks and writes their results.

Started by `chunkproof prove --ray ADDRESS` (which writes this file into the run directory);
not meant to be run by hand. Job and result bytes travel through Ray's object store, so the
nodes need no shared filesystem: only the worker binary (and an SRS file, if one is used) at
the same path on every node.

Protocol: one JSON object per line on stdout, `{"event": "started"|"done"|"failed"|"error", ...}`;
exit status 0 when every chunk is proven, 1 when a chunk failed every attempt, 3 when `ray` is
missing, 2 for other errors. Pinned Ray version: see RAY_VERSION.
"""

import argparse
import json
import os
import socket
import sys
import tempfile
import time

RAY_VERSION = "2.60.0"


def say(**event):
    print(json.dumps(event), flush=True)


def write_atomic(path, data):
    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ChunkFailed(Exception):
    """A worker process exited non-zero (retried by Ray through retry_exceptions)."""

    def __init__(self, chunk, detail):
        super().__init__(f"chunk {chunk}: {detail}")
        self.chunk = chunk
        self.detail = detail

    def __reduce__(self):
        return (ChunkFailed, (self.chunk, self.detail))


def prove_chunk(index, job, worker, keys_dir, env):
    """Runs `worker… JOB --out RESULT --keys DIR` on this node; returns (result bytes, node id)."""
    import subprocess

    import ray

    node = ray.get_runtime_context().get_node_id()
    keys_dir = os.path.expanduser(keys_dir)
    with tempfile.TemporaryDirectory(prefix="chunkproof-task-") as d:
        job_path = os.path.join(d, f"chunk-{index:04}.job")
        out_path = os.path.join(d, f"chunk-{index:04}.result")
        with open(job_path, "wb") as f:
            f.write(job)
        full_env = dict(os.environ)
        full_env.update(env)
        proc = subprocess.run(
            list(worker) + [job_path, "--out", out_path, "--keys", keys_dir],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-6:]
            how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
                   else f"exited with status {proc.returncode}")
            raise ChunkFailed(index, f"worker on node {node[:12]} {how}: " + " | ".join(tail))
        with open(out_path, "rb") as f:
            return f.read(), node, socket.gethostname()


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--address", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--chunks", required=True, help="comma-separated chunk indices")
    p.add_argument("--worker", required=True, help="JSON list: the worker command before the job file")
    p.add_argument("--keys-dir", required=True, help="key cache on each worker node")
    p.add_argument("--retries", type=int, default=2)
    p.add_argument("--resource", default=None, help="custom resource every task needs one unit of")
    p.add_argument("--num-cpus", type=float, default=1.0)
    p.add_argument("--num-gpus", type=float, default=0.0)
    p.add_argument("--env", default="{}", help="JSON object: extra environment for the workers")
    a = p.parse_args()

    try:
        import ray
    except ImportError as e:
        say(event="error", error=f"cannot import ray ({e}); install it with: pip install ray=={RAY_VERSION}")
        return 3
    if ray.__version__ != RAY_VERSION:
        say(event="warning", warning=f"ray {ray.__version__} is installed; chunkproof is tested with {RAY_VERSION}")

    chunks = [int(c) for c in a.chunks.split(",") if c != ""]
    worker = json.loads(a.worker)
    env = json.loads(a.env)
    ray.init(address=a.address, log_to_driver=False, logging_level="ERROR")
    resources = {a.resource: 1} if a.resource else None
    task = ray.remote(prove_chunk).options(
        max_retries=a.retries,
        retry_exceptions=True,
        num_cpus=a.num_cpus,
        num_gpus=a.num_gpus,
        resources=resources,
    )
    # A task no node can run would wait forever: refuse it up front.
    need = {"CPU": a.num_cpus, "GPU": a.num_gpus, **(resources or {})}
    need = {k: v for k, v in need.items() if v > 0}
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    if not any(all(n.get("Resources", {}).get(k, 0) >= v for k, v in need.items()) for n in nodes):
        offered = sorted({k for n in nodes for k in n.get("Resources", {}) if not k.startswith("node:")})
        wanted = ", ".join(f"{k}={v:g}" for k, v in need.items())
        say(event="error", error=f"no node of the cluster offers what a chunk task needs ({wanted}); "
                                 f"the nodes offer: {', '.join(offered) or 'nothing'}")
        return 2
    pending = {}
    for i in chunks:
        with open(os.path.join(a.run_dir, "jobs", f"chunk-{i:04}.job"), "rb") as f:
            job = ray.put(f.read())
        pending[task.remote(i, job, worker, a.keys_dir, env)] = (i, time.time())
        say(event="submitted", chunk=i)
    node_resources = {n["NodeID"]: sorted(n.get("Resources", {}).keys()) for n in ray.nodes()}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        ref = ready[0]
        i, t0 = pending.pop(ref)
        try:
            result, node, host = ray.get(ref)
        except Exception as e:  # the task failed every attempt
            cause = getattr(e, "cause", None)
            detail = cause.detail if isinstance(cause, ChunkFailed) else str(e).strip().splitlines()[-1]
            say(event="failed", chunk=i, attempts=a.retries + 1, error=detail)
            for r in pending:
                ray.cancel(r, force=True)
            return 1
        write_atomic(os.path.join(a.run_dir, "results", f"chunk-{i:04}.result"), result)
        say(event="done", chunk=i, node=node, host=host, node_resources=node_resources.get(node, []),
            seconds=round(time.time() - t0, 3))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # a clean line for the Rust side, never a bare traceback
        say(event="error", error=f"{type(e).__name__}: {e}")
        sys.exit(2)
