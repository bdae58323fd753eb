//! Progress of a proving run: bars per chunk and overall with an ETA on a terminal (indicatif),
//! plain lines otherwise, JSON lines on stderr with `--json`.

use std::io::IsTerminal;
use std::time::Duration;

use chunkproof_prover::run::job::Stage;
use chunkproof_prover::run::report::{RayEvent, RunEvent, WorkerEvent};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// The display of one run.
pub(crate) struct Progress {
    n: usize,
    json: bool,
    bars: Option<Bars>,
    weights: Vec<u64>,
}

struct Bars {
    multi: MultiProgress,
    overall: ProgressBar,
    chunks: Vec<Option<ProgressBar>>,
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!(", peak RSS {} MiB", k / 1024)).unwrap_or_default()
}

impl Progress {
    /// A display for `n` chunks; bars only on a terminal and without `--json`.
    pub(crate) fn new(n: usize, json: bool) -> Self {
        let bars = (!json && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let overall = multi.add(ProgressBar::new(1));
            overall.set_style(
                ProgressStyle::with_template(
                    "{prefix:>10} [{bar:32.cyan/blue}] {percent:>3}%  {msg}  {elapsed} elapsed, ETA {eta}",
                )
                .expect("template")
                .progress_chars("=> "),
            );
            overall.set_prefix("overall");
            Bars { multi, overall, chunks: vec![None; n] }
        });
        Self { n, json, bars, weights: vec![1; n] }
    }

    fn line(&self, text: String) {
        match &self.bars {
            Some(b) => {
                let _ = b.multi.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    fn chunk_bar(&mut self, i: usize) -> Option<&ProgressBar> {
        let n = self.n;
        let b = self.bars.as_mut()?;
        if b.chunks[i].is_none() {
            let bar = b.multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{prefix:>10} {spinner} {msg} ({elapsed})").expect("template"),
            );
            bar.set_prefix(format!("chunk {}/{n}", i + 1));
            bar.enable_steady_tick(Duration::from_millis(120));
            b.chunks[i] = Some(bar);
        }
        b.chunks[i].as_ref()
    }

    fn done_chunk(&mut self, i: usize, msg: String) {
        let w = self.weights[i];
        if let Some(b) = &self.bars {
            b.overall.inc(w);
        }
        if let Some(bar) = self.chunk_bar(i) {
            bar.finish_with_message(msg);
        } else {
            self.line(format!("chunk {}/{}: {msg}", i + 1, self.n));
        }
    }

    fn stage(&mut self, i: usize, msg: String) {
        if let Some(bar) = self.chunk_bar(i) {
            bar.set_message(msg);
        } else {
            self.line(format!("chunk {}/{}: {msg}", i + 1, self.n));
        }
    }

    /// Shows one event.
    pub(crate) fn event(&mut self, e: &RunEvent) {
        if self.json {
            eprintln!("{}", event_json(e));
            return;
        }
        let n = self.n;
        match e {
            RunEvent::Planned { cuts, estimates, reused } => {
                self.line(format!("plan: {n} chunks, layer cuts {cuts:?}"));
                if !reused.is_empty() {
                    let list: Vec<String> = reused.iter().map(|i| (i + 1).to_string()).collect();
                    self.line(format!("resume: chunk(s) {} already proven, reused", list.join(", ")));
                }
                // Weight the overall bar (and its ETA) by each chunk's estimated size.
                self.weights = estimates.iter().map(|e| (e >> 20).max(1)).collect();
                if let Some(b) = &self.bars {
                    b.overall.set_length(self.weights.iter().sum());
                    b.overall.set_position(reused.iter().map(|i| self.weights[*i]).sum());
                }
                for i in reused {
                    if let Some(bar) = self.chunk_bar(*i) {
                        bar.finish_with_message("reused from the run directory");
                    }
                }
            }
            RunEvent::Worker(WorkerEvent::Started { chunk, attempt, pid }) => {
                let again = if *attempt > 1 { format!(" (attempt {attempt})") } else { String::new() };
                self.stage(*chunk, format!("worker {pid} started{again}"))
            }
            RunEvent::Worker(WorkerEvent::Stage { chunk, stage }) => {
                let msg = match stage {
                    Stage::Sized { params } => {
                        format!("k = {}, lookup 2^{}: keys…", params.k, params.lookup_bits)
                    }
                    Stage::Keys { cached, ms } => format!(
                        "keys {} in {:.1} s",
                        if *cached { "loaded" } else { "generated" },
                        *ms as f64 / 1e3
                    ),
                    Stage::Proving => "proving".into(),
                };
                self.stage(*chunk, msg)
            }
            RunEvent::Worker(WorkerEvent::Done { chunk, result }) => self.done_chunk(
                *chunk,
                format!(
                    "proved in {:.1} s (k = {}, {} bytes{})",
                    result.prove_ms as f64 / 1e3,
                    result.meta.params.k,
                    result.proof.len(),
                    mib(result.peak_rss_kib)
                ),
            ),
            RunEvent::Worker(WorkerEvent::Failed { chunk, attempt, retry, reason }) => self.line(format!(
                "chunk {}/{n}: attempt {attempt} failed: {reason}{}",
                chunk + 1,
                if *retry { "; retrying" } else { "" }
            )),
            RunEvent::Worker(WorkerEvent::Waiting { chunk, need }) => {
                self.stage(*chunk, format!("waiting for memory (needs ~{} MiB of the budget)", need >> 20))
            }
            RunEvent::Ray(RayEvent::Submitted { chunk }) => self.stage(*chunk, "submitted to Ray".into()),
            RunEvent::Ray(RayEvent::Done { chunk, host, node, seconds, .. }) => self.done_chunk(
                *chunk,
                format!("proved on {host} (node {}) in {seconds:.1} s", &node[..node.len().min(12)]),
            ),
            RunEvent::Ray(RayEvent::Warning { warning }) => self.line(format!("ray: warning: {warning}")),
            RunEvent::Ray(_) => {}
            RunEvent::KeyDerived { chunk, cached, ms } => self.stage(
                *chunk,
                format!(
                    "verifying key {} by the driver in {:.1} s",
                    if *cached { "loaded" } else { "derived" },
                    *ms as f64 / 1e3
                ),
            ),
            RunEvent::ResultRefused { chunk, reason } => self.line(format!(
                "chunk {}/{n}: earlier result refused ({reason}); proving it again",
                chunk + 1
            )),
            RunEvent::Assembling => {
                if let Some(b) = &self.bars {
                    b.overall.finish_with_message("all chunks proven");
                }
                self.line("assembling and verifying the bundle".into());
            }
        }
    }
}

/// One event as a JSON object (`--json`).
fn event_json(e: &RunEvent) -> serde_json::Value {
    match e {
        RunEvent::Planned { cuts, estimates, reused } => {
            json!({"event": "planned", "cuts": cuts, "memory_estimates": estimates, "reused": reused})
        }
        RunEvent::Worker(WorkerEvent::Started { chunk, attempt, pid }) => {
            json!({"event": "started", "chunk": chunk, "attempt": attempt, "pid": pid})
        }
        RunEvent::Worker(WorkerEvent::Stage { chunk, stage }) => {
            json!({"event": "stage", "chunk": chunk, "stage": stage})
        }
        RunEvent::Worker(WorkerEvent::Done { chunk, result }) => json!({
            "event": "proven", "chunk": chunk, "k": result.meta.params.k, "prove_ms": result.prove_ms,
            "proof_bytes": result.proof.len(), "peak_rss_kib": result.peak_rss_kib, "host": result.host,
        }),
        RunEvent::Worker(WorkerEvent::Failed { chunk, attempt, retry, reason }) => {
            json!({"event": "attempt-failed", "chunk": chunk, "attempt": attempt, "retry": retry, "reason": reason})
        }
        RunEvent::Worker(WorkerEvent::Waiting { chunk, need }) => {
            json!({"event": "waiting-for-memory", "chunk": chunk, "estimate_bytes": need})
        }
        RunEvent::Ray(RayEvent::Submitted { chunk }) => json!({"event": "submitted", "chunk": chunk}),
        RunEvent::Ray(RayEvent::Done { chunk, node, host, node_resources, seconds }) => json!({
            "event": "proven", "chunk": chunk, "node": node, "host": host,
            "node_resources": node_resources, "seconds": seconds,
        }),
        RunEvent::Ray(RayEvent::Failed { chunk, attempts, error }) => {
            json!({"event": "failed", "chunk": chunk, "attempts": attempts, "error": error})
        }
        RunEvent::Ray(RayEvent::Warning { warning }) => json!({"event": "warning", "warning": warning}),
        RunEvent::Ray(RayEvent::Error { error }) => json!({"event": "error", "error": error}),
        RunEvent::KeyDerived { chunk, cached, ms } => {
            json!({"event": "verifying-key", "chunk": chunk, "cached": cached, "ms": ms})
        }
        RunEvent::ResultRefused { chunk, reason } => {
            json!({"event": "result-refused", "chunk": chunk, "reason": reason})
        }
        RunEvent::Assembling => json!({"event": "assembling"}),
    }
}
