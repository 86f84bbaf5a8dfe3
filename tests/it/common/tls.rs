//! A certificate authority of a test's own, made with `openssl`, and a server certificate it signed for
//! `localhost` and 127.0.0.1: for the servers the tests run with TLS (Dovecot, PostgreSQL).

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} does not run: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Writes `ca.pem` (the CA), `server.pem` and `server.key` (the server's, signed by it) into `dir`.
pub fn make_ca(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run(Command::new("openssl").current_dir(dir).args(["req", "-x509"]).args(ec).args([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "3650",
        "-subj",
        "/CN=vigil test CA",
    ]));
    run(Command::new("openssl").current_dir(dir).arg("req").args(ec).args([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]));
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("ext");
    run(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "3650",
        "-extfile",
        "ext.cnf",
    ]));
}
