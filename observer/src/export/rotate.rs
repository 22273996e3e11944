//! A size-capped append-only file with numbered backups: when the next line would push
//! the file past its cap, `file` becomes `file.1`, `file.1` becomes `file.2`, and so on
//! up to the number of backups kept (the oldest is deleted); then a fresh `file` starts.
//! Lines are never split across files.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The file being written and its rotation settings.
#[derive(Debug)]
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    max_backups: usize,
    file: BufWriter<File>,
    size: u64,
}

impl RotatingFile {
    /// Opens `path` for appending (a file left by a previous run is continued).
    pub(crate) fn open(path: &Path, max_bytes: u64, max_backups: usize) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes,
            max_backups,
            file: BufWriter::with_capacity(64 * 1024, file),
            size,
        })
    }

    /// Appends one line (which must end with `\n`), rotating first if it does not fit.
    pub(crate) fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += len;
        Ok(())
    }

    /// Writes buffered lines to the file.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file.flush()?;
        if self.max_backups == 0 {
            self.file.get_ref().set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        for n in (1..self.max_backups).rev() {
            rename_if_present(&backup(&self.path, n), &backup(&self.path, n + 1))?;
        }
        std::fs::rename(&self.path, backup(&self.path, 1))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&self.path)?;
        self.file = BufWriter::with_capacity(64 * 1024, file);
        self.size = 0;
        Ok(())
    }
}

/// The name of the `n`th backup of `path`: `path.n`.
pub fn backup(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

fn rename_if_present(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("observer-rotate-{tag}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn rotation_keeps_the_newest_backups_and_whole_lines() {
        let d = dir("keep");
        let path = d.path().join("flows.json");
        let mut f = RotatingFile::open(&path, 20, 2).unwrap();
        for i in 0..10 {
            f.write_line(format!("line-{i:02}\n").as_bytes()).unwrap();
        }
        f.flush().unwrap();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        // 9 bytes a line, 2 lines a file.
        assert_eq!(read(&path), "line-08\nline-09\n");
        assert_eq!(read(&backup(&path, 1)), "line-06\nline-07\n");
        assert_eq!(read(&backup(&path, 2)), "line-04\nline-05\n");
        assert!(!backup(&path, 3).exists(), "only two backups");
    }

    #[test]
    fn without_backups_the_file_restarts_and_a_long_line_still_fits() {
        let d = dir("none");
        let path = d.path().join("flows.json");
        let mut f = RotatingFile::open(&path, 10, 0).unwrap();
        f.write_line(b"aaaaaa\n").unwrap();
        f.write_line(b"bbbbbbbbbbbbbbbbbbbb\n").unwrap();
        f.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "bbbbbbbbbbbbbbbbbbbb\n"
        );
        assert!(!backup(&path, 1).exists());
    }
}
