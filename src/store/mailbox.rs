//! Where vigil stands in each mailbox it reads over IMAP: the folder's UIDVALIDITY and the highest UID whose
//! message is stored. One small record per mailbox in the `mailbox` tree, sealed like every other value
//! (a mailbox's address names the college's account), written only after the messages it covers are
//! flushed, and flushed itself before the messages are moved.

use serde::{Deserialize, Serialize};

use super::{Result, Store};

/// The tree's name, part of its values' associated data.
pub(super) const MAILBOX: &str = "mailbox";

/// How far a mailbox's folder has been read: every message with a UID up to `last_uid` under this
/// `uid_validity` is stored. Another UIDVALIDITY means the server renumbered the folder: the mark no longer
/// says anything, and each message is then known by its Message-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxMark {
    pub uid_validity: u32,
    pub last_uid: u32,
}

impl Store {
    /// The mark of `mailbox` (`imap://user@host:port/folder`), if it was ever read.
    pub fn mailbox_mark(&self, mailbox: &str) -> Result<Option<MailboxMark>> {
        let tree = self.db.open_tree(MAILBOX)?;
        match tree.get(mailbox.as_bytes())? {
            Some(v) => Ok(Some(self.unseal("mailbox mark", MAILBOX, mailbox.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Records how far `mailbox` has been read; flushed.
    pub fn set_mailbox_mark(&self, mailbox: &str, mark: &MailboxMark) -> Result<()> {
        self.room()?;
        let tree = self.db.open_tree(MAILBOX)?;
        tree.insert(mailbox.as_bytes(), self.seal(MAILBOX, mailbox.as_bytes(), mark)?)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreKey;

    #[test]
    fn a_mark_is_kept_sealed_across_a_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = StoreKey::bytes([7; 32]);
        let mailbox = "imap://alerts@imap.college.example:993/INBOX";
        {
            let store = Store::open(dir.path(), &key).expect("open");
            assert_eq!(store.mailbox_mark(mailbox).expect("read"), None);
            store.set_mailbox_mark(mailbox, &MailboxMark { uid_validity: 9, last_uid: 41 }).expect("write");
        }
        let store = Store::open(dir.path(), &key).expect("reopen");
        assert_eq!(store.mailbox_mark(mailbox).expect("read"), Some(MailboxMark { uid_validity: 9, last_uid: 41 }));
        assert_eq!(store.mailbox_mark("imap://other@x:993/INBOX").expect("read"), None);
    }
}
