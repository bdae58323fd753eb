//! File helpers: capped reads and atomic writes (a failed write never leaves a partial file).

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use crate::error::{FormatError, Result};

/// Reads a whole file, refusing files larger than `limit` bytes.
pub fn read_capped(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let size = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if size > limit {
        return Err(FormatError::TooLarge { what: format!("{what} {}", path.display()), size, limit });
    }
    let mut buf = Vec::with_capacity(size as usize);
    file.take(limit + 1).read_to_end(&mut buf).map_err(|e| FormatError::io(path, e))?;
    if buf.len() as u64 > limit {
        return Err(FormatError::TooLarge {
            what: format!("{what} {}", path.display()),
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

/// Writes `bytes` to `path` atomically: to a temporary file in the same directory, flushed to
/// disk, then renamed over `path`. Parent directories are created.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// [`write_atomic`] for contents too large to hold in memory: `write` streams them into the
/// temporary file (buffered); nothing appears at `path` unless it succeeds.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|e| FormatError::io(dir, e))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), unique()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::new(fs::File::create(&tmp)?);
        write(&mut f)?;
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(FormatError::io(path, e));
    }
    Ok(())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_and_capped_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/x.bin");
        write_atomic(&p, b"hello").unwrap();
        assert_eq!(read_capped(&p, 5, "x").unwrap(), b"hello");
        assert!(matches!(read_capped(&p, 4, "x"), Err(FormatError::TooLarge { .. })));
        // nothing but the target is left behind
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        assert!(matches!(read_capped(&dir.path().join("nope"), 5, "x"), Err(FormatError::Io { .. })));
    }
}
