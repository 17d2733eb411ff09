//! The one atomic file writer: a temporary file in the destination's folder, flushed to disk,
//! then renamed into place, so a reader never sees half a file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The folder `path` is written in (`.` for a bare file name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to a new temporary file beside `path` (its folder must exist); persisting it
/// renames it into place.
pub fn stage(path: &Path, bytes: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let folder = folder_of(path);
    let mut file = tempfile::Builder::new()
        .prefix(".wmt-report-")
        .tempfile_in(&folder)?;
    file.write_all(bytes)?;
    // Temporary files are private (0600); a report is for everyone who can read the folder.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    file.as_file().sync_all()?;
    Ok(file)
}

/// Writes `bytes` to `path` atomically (see [`stage`]).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    stage(path, bytes)?.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_atomically_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        assert!(write_atomically(&dir.path().join("missing/r.json"), b"x").is_err());
    }
}
