//! How far each mailbox has been read (IMAP UIDVALIDITY and the last UID stored), per school, in `meta`
//! under a name that says which mailbox without naming it; the mark itself is sealed, bound to the mailbox.

use sha2::{Digest, Sha256};

use super::PgStore;
use crate::store::Result;
use crate::store::mailbox::{MAILBOX, MailboxMark};

/// The mark's name in `meta`: `mailbox/` and the SHA-256 of the mailbox (`imap://user@host:port/folder`).
pub(super) fn name(mailbox: &str) -> Vec<u8> {
    let mut name = b"mailbox/".to_vec();
    name.extend_from_slice(&Sha256::digest(mailbox.as_bytes()));
    name
}

impl PgStore {
    pub(super) fn mailbox_mark(&self, mailbox: &str) -> Result<Option<MailboxMark>> {
        let row = self.with(|c| {
            Ok(c.query_opt(
                "SELECT value FROM meta WHERE school = $1 AND name = $2",
                &[&self.school(), &name(mailbox)],
            )?)
        })?;
        row.map(|r| self.unseal("mailbox mark", MAILBOX, mailbox.as_bytes(), r.get(0))).transpose()
    }

    pub(super) fn set_mailbox_mark(&self, mailbox: &str, mark: &MailboxMark) -> Result<()> {
        let sealed = self.seal(MAILBOX, mailbox.as_bytes(), mark)?;
        self.transact(false, |tx| super::cases::put_meta(tx, self.school(), &name(mailbox), &sealed))
    }
}
