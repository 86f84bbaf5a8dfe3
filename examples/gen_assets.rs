//! scripts/package's helper: the man pages and shell completions, generated from the clap definitions that
//! parse the command line, so they cannot drift from `vigil --help`.
//!
//! ```sh
//! cargo run --example gen_assets -- target/assets   # man/vigil.1 (and one page per subcommand), completions/
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

fn main() -> Result<()> {
    let out = std::env::args_os().nth(1).map_or_else(|| PathBuf::from("target/assets"), PathBuf::from);
    let man = out.join("man");
    let completions = out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let cmd = vigil::cli::Cli::command();
    // vigil.1, and vigil-sync.1, vigil-case.1, ... for every subcommand.
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write the man pages in {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let written = clap_complete::generate_to(shell, &mut cmd.clone(), "vigil", &completions)
            .with_context(|| format!("cannot write the {shell} completions in {}", completions.display()))?;
        report(&written);
    }
    for page in std::fs::read_dir(&man)? {
        report(&page?.path());
    }
    Ok(())
}

fn report(path: &Path) {
    println!("{}", path.display());
}
