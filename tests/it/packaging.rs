//! The Debian package's parts agree with the code they install: the unit runs `vigil serve` where the
//! code looks for the system config and the socket, the example config is one vigil accepts, and every file
//! the package lists is in the tree. (CI builds and installs the package itself: `.ci/run`.)

use std::path::Path;

use vigil::config::{Config, DEFAULT_SOCKET, SYSTEM_CONFIG, ServiceConfig};

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The unit's `Key=value` settings, in order (a key may repeat, as Environment= does).
fn unit_settings() -> Vec<(String, String)> {
    read("assets/systemd/vigil.service")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
        .collect()
}

fn unit_setting(key: &str) -> Vec<String> {
    unit_settings().into_iter().filter(|(k, _)| k == key).map(|(_, v)| v).collect()
}

#[test]
fn the_unit_runs_serve_as_vigil_with_the_system_config_and_its_own_store() {
    assert_eq!(unit_setting("Type"), ["notify"], "vigil serve signals READY=1");
    assert_eq!(unit_setting("ExecStart"), ["/usr/bin/vigil serve"]);
    assert_eq!(unit_setting("User"), ["vigil"]);
    let env = unit_setting("Environment");
    assert!(env.contains(&format!("VIGIL_CONFIG={SYSTEM_CONFIG}")), "{env:?}");
    assert!(env.contains(&"VIGIL_DATA_DIR=/var/lib/vigil".to_string()), "{env:?}");
    assert_eq!(unit_setting("StateDirectory"), ["vigil"], "/var/lib/vigil");
    assert_eq!(unit_setting("StateDirectoryMode"), ["0700"]);
    assert_eq!(unit_setting("ReadWritePaths"), ["/var/lib/vigil"], "the store and nothing else");
    assert_eq!(unit_setting("ProtectSystem"), ["strict"]);
}

#[test]
fn the_units_runtime_directory_holds_the_default_socket_for_the_default_group() {
    // The service binds DEFAULT_SOCKET when [service] socket is unset: it must be in the directory systemd
    // makes, which must be writable by vigil alone (the listener refuses anything else).
    let socket_dir = Path::new(DEFAULT_SOCKET).parent().map(Path::to_path_buf);
    let runtime = unit_setting("RuntimeDirectory");
    assert_eq!(runtime.len(), 1);
    assert_eq!(socket_dir, Some(Path::new("/run").join(&runtime[0])));
    assert_eq!(unit_setting("RuntimeDirectoryMode"), ["0750"]);
    // Group= makes /run/vigil vigil:GROUP, so members of the socket's default group can reach it.
    assert_eq!(unit_setting("Group"), [ServiceConfig::default().group]);
}

#[test]
fn the_example_config_is_accepted_and_points_at_the_service() {
    let path = Path::new("assets/config.service.example.toml");
    let config = Config::parse(path, &read("assets/config.service.example.toml")).expect("the example config is valid");
    assert_eq!(config.service.socket.as_deref(), Some(Path::new(DEFAULT_SOCKET)));
    assert_eq!(config.service.group, ServiceConfig::default().group);
    let key = config.storage.key_file.expect("the example names the key file");
    assert!(key.starts_with("/etc/vigil"), "the key lives beside the config, not in the store: {}", key.display());
    assert!(!config.roles.dsl.is_empty(), "the example shows where the DSL goes");
}

#[test]
fn every_file_the_package_lists_is_in_the_tree_or_made_by_scripts_package() {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let deb = &manifest["package"]["metadata"]["deb"];
    let assets = deb["assets"].as_array().expect("explicit assets");
    let mut generated = Vec::new();
    for asset in assets {
        let source = asset[0].as_str().expect("source");
        if source.starts_with("target/release/") {
            continue; // cargo deb builds it
        } else if let Some(made) = source.strip_prefix("target/assets/") {
            generated.push(made.to_string());
        } else {
            assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join(source).is_file(), "{source} is not in the tree");
        }
    }
    // What examples/gen_assets writes (clap_mangen's and clap_complete's names for `vigil`).
    for made in ["man/*.1", "completions/vigil.bash", "completions/_vigil", "completions/vigil.fish"] {
        assert!(generated.iter().any(|g| g == made), "the package does not list target/assets/{made}");
    }
    let scripts = deb["maintainer-scripts"].as_str().expect("maintainer-scripts");
    let postinst = read(&format!("{scripts}postinst"));
    assert!(postinst.contains("#DEBHELPER#"), "cargo deb puts the unit's fragments there");
}
