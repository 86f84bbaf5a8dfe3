//! vigil's entry point: parse arguments, dispatch, and turn errors into one plain line and an exit code.

#![deny(clippy::print_stdout)]

use clap::Parser;
use vigil::cli::{Cli, Commands, ConfigAction};
use vigil::commands::{self, Exit, exit};

/// sled allocates and frees a copy of a tree node on every write: mimalloc makes that markedly cheaper than
/// glibc's malloc, and keeps the heap smaller (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    let code = match real_main(cli) {
        Ok(()) => 0,
        // `vigil list | head` closing the pipe early is not an error worth a message. Every command writes
        // its output with `write!` and `?` (never `println!`, which panics on a closed pipe: the crate denies
        // clippy::print_stdout), so a closed pipe always ends here.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let code = e.downcast_ref::<Exit>().map_or(exit::FAILURE, |x| x.code);
            // An error can carry text from the feed (an id, a server message): inert, like every other surface.
            eprintln!("vigil: {}", vigil::domain::inert::block(&format!("{e:#}")));
            code
        }
    };
    std::process::exit(code);
}

fn real_main(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    if let Some(Commands::DemoFeed { .. }) = &cli.command {
        // The demo feed needs no store, no config and no role.
        return runtime.block_on(commands::run_demo_feed(cli.command));
    }
    if let Some(Commands::Config { action: ConfigAction::Check }) = &cli.command {
        // Anyone who can read the config may check it, with a role or without: it opens no store.
        return commands::config_check(commands::settings(cli.global)?);
    }
    if let Some(Commands::Mail { action: vigil::cli::MailAction::Test { file } }) = &cli.command {
        // Reads one file with the config's rules: it opens no store and needs no role.
        return commands::mail_test(commands::settings(cli.global)?, file);
    }
    if let Some(Commands::Mail { action: vigil::cli::MailAction::TokenCheck }) = &cli.command {
        // The IT technician setting up the mailbox runs it: it opens no store and needs no role.
        return runtime.block_on(commands::mail_token_check(commands::settings(cli.global)?));
    }
    if let Some(Commands::Serve) = &cli.command {
        // The service's own user needs no role: it owns the store and checks everyone else's.
        return runtime.block_on(commands::serve(commands::settings(cli.global)?));
    }
    let ctx = commands::resolve(cli.global)?;
    commands::init_logging(&ctx);
    runtime.block_on(commands::run(ctx, cli.command))
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe))
}
