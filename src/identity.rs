//! Who is at the keyboard. The identity is the OS user running vigil, read from the system: never from an
//! argument or an environment variable, which anyone could set.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Designated Safeguarding Lead: sees everything, staff alerts included.
    Dsl,
    /// Deputy DSL: every student alert.
    Ddsl,
    /// Safeguarding officer: every student alert.
    Officer,
    /// Aggregate reports only.
    Reporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dsl => "dsl",
            Role::Ddsl => "ddsl",
            Role::Officer => "officer",
            Role::Reporter => "reporter",
        }
    }
}

/// The person using vigil, and what the config lets them see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub user: String,
    pub role: Role,
    /// Staff alerts are for the DSL (and anyone the config names for them) alone.
    pub sees_staff: bool,
}

impl Viewer {
    pub fn can_review(&self) -> bool {
        self.role != Role::Reporter
    }
}

/// The name of the effective OS user, from the password database.
pub fn os_user() -> Result<String, String> {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    // A long entry (many groups, a long GECOS) needs a bigger buffer: grow on ERANGE, up to 1 MiB.
    let mut size = 4096usize;
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: a zeroed passwd is a valid value for getpwuid_r to fill in.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call; buf outlives the use of pwd's string fields below.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        if rc == libc::ERANGE && size < (1 << 20) {
            size *= 4;
            continue;
        }
        if rc != 0 {
            return Err(format!("cannot read the password database for user id {uid} (error {rc})"));
        }
        if result.is_null() {
            return Err(format!("user id {uid} has no entry in the password database"));
        }
        // SAFETY: pw_name points into buf, which is still alive, and is NUL-terminated by getpwuid_r.
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Ok(name.to_string_lossy().into_owned());
    }
}
