//! Raw messages from files: one `.eml` file, an mbox (a file starting `From `), or a maildir (a directory
//! with `cur`, `new` and `tmp`). Only bytes come out: the service parses them.

use std::io::Read;
use std::path::{Path, PathBuf};

/// One raw message and where it was read from (for messages, never content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    pub origin: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is a directory but not a maildir (it has no cur/ or new/)")]
    NotMaildir { path: PathBuf },
    #[error("{path} is {size} bytes: more than a mail file vigil reads ({max})")]
    TooLarge { path: PathBuf, size: u64, max: u64 },
}

/// The most an `.eml` or mbox file may be: an mbox of a year of alerts is far smaller.
const MAX_FILE: u64 = 4 << 30;

/// Every message in `path`, in file order (a maildir's by name, so an import is repeatable).
pub fn read(path: &Path, each: &mut dyn FnMut(RawMessage)) -> Result<(), FilesError> {
    let err = |source| FilesError::Read { path: path.to_path_buf(), source };
    let meta = std::fs::metadata(path).map_err(err)?;
    if meta.is_dir() {
        return read_maildir(path, each);
    }
    if meta.len() > MAX_FILE {
        return Err(FilesError::TooLarge { path: path.to_path_buf(), size: meta.len(), max: MAX_FILE });
    }
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut head = [0u8; 5];
    let n = file.read(&mut head).map_err(err)?;
    if &head[..n] == b"From " {
        let file = std::fs::File::open(path).map_err(err)?;
        let reader = std::io::BufReader::new(file);
        for (i, message) in mail_parser::mailbox::mbox::MessageIterator::new(reader).enumerate() {
            let message = message.map_err(|_| {
                err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("message {} is unreadable", i + 1)))
            })?;
            each(RawMessage { origin: format!("{} #{}", path.display(), i + 1), bytes: message.unwrap_contents() });
        }
        return Ok(());
    }
    let bytes = std::fs::read(path).map_err(err)?;
    each(RawMessage { origin: path.display().to_string(), bytes });
    Ok(())
}

fn read_maildir(path: &Path, each: &mut dyn FnMut(RawMessage)) -> Result<(), FilesError> {
    let mut files = Vec::new();
    let mut is_maildir = false;
    for sub in ["new", "cur"] {
        let dir = path.join(sub);
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        is_maildir = true;
        for entry in entries {
            let entry = entry.map_err(|source| FilesError::Read { path: dir.clone(), source })?;
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                files.push(entry.path());
            }
        }
    }
    if !is_maildir {
        return Err(FilesError::NotMaildir { path: path.to_path_buf() });
    }
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|source| FilesError::Read { path: file.clone(), source })?;
        each(RawMessage { origin: file.display().to_string(), bytes });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(path: &Path) -> Vec<RawMessage> {
        let mut out = Vec::new();
        read(path, &mut |m| out.push(m)).expect("reads");
        out
    }

    #[test]
    fn an_eml_an_mbox_and_a_maildir_are_read_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let eml = dir.path().join("one.eml");
        std::fs::write(&eml, "From: a@b\r\n\r\nhello\r\n").expect("write");
        assert_eq!(collect(&eml).len(), 1);
        let mbox = dir.path().join("box.mbox");
        std::fs::write(
            &mbox,
            "From a@b Tue Nov 10 10:00:00 2026\nFrom: a@b\nSubject: 1\n\none\n\nFrom a@b Tue Nov 10 10:01:00 2026\nFrom: a@b\nSubject: 2\n\ntwo\n",
        )
        .expect("write");
        let msgs = collect(&mbox);
        assert_eq!(msgs.len(), 2);
        assert!(String::from_utf8_lossy(&msgs[1].bytes).contains("Subject: 2"));
        let maildir = dir.path().join("Maildir");
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).expect("mkdir");
        }
        std::fs::write(maildir.join("new/2.x"), "From: a@b\r\n\r\n2").expect("write");
        std::fs::write(maildir.join("cur/1.x:2,S"), "From: a@b\r\n\r\n1").expect("write");
        assert_eq!(collect(&maildir).len(), 2);
        let err = read(dir.path(), &mut |_| {}).expect_err("not a maildir");
        assert!(err.to_string().contains("not a maildir"), "{err}");
    }
}
