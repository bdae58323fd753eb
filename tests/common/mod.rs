//! Helpers shared by the cross-crate integration tests.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// A pinned npm tool (`make tools`), or the path in `var`.
pub(crate) fn tool(var: &str, package: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        root().join("tools/node_modules/@foundry-rs").join(package).join("bin").join(name)
    });
    assert!(path.exists(), "{} not found: run `make tools` (or set {var})", path.display());
    path
}

/// anvil's first well-known development account (public; never use it elsewhere).
pub(crate) const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
/// anvil's second and third development accounts.
pub(crate) const ANVIL_KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
/// The third development account's key.
pub(crate) const ANVIL_KEY_2: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

/// anvil on 127.0.0.1, killed on drop.
pub(crate) struct Anvil {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A free TCP port on 127.0.0.1.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Anvil {
    /// Starts anvil on `port` with `extra` arguments and waits until it accepts connections.
    pub(crate) fn start_on(port: u16, extra: &[&str]) -> Self {
        let child = Command::new(tool("CHUNKPROOF_ANVIL", "anvil-linux-amd64", "anvil"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
                "--code-size-limit",
                "24576",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start anvil");
        let anvil = Anvil { child: Some(child), port, url: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "anvil did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        anvil
    }

    /// Stops anvil with SIGINT (so that `--dump-state` is written) and waits for it to exit.
    pub(crate) fn interrupt(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while c.try_wait().unwrap().is_none() {
                assert!(Instant::now() < deadline, "anvil did not stop on SIGINT");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// anvil on a free port.
pub(crate) fn start_anvil() -> Anvil {
    Anvil::start_on(free_port(), &[])
}
