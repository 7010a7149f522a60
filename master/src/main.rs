//! `sluice`: the command line and the master process.
//!
//! `start` loads and checks the configuration, binds the listening sockets, forks the workers
//! ([`cycle`]) and supervises them; `reload`, `quit` and `stop` signal a running master through
//! its pid file ([`control`]); `check` validates the configuration and prints every error.

mod certificate;
mod control;
mod cycle;
mod listen;
mod process;
mod sidecars;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sluice_conf::LoadOptions;
use sluice_worker::Loaded;

/// The request path allocates a few dozen small blocks per request, more with Lua plugins (LuaJIT
/// allocates through Rust's allocator); mimalloc serves them in far fewer instructions than glibc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "sluice",
    version,
    about = "An API gateway in the Kong / OpenResty tradition"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct Target {
    /// Node configuration file (kong.conf format); the built-in default when absent.
    #[arg(short = 'c', long = "conf")]
    conf: Option<PathBuf>,
    /// Prefix directory (pid file, logs); overrides the config's `prefix`.
    #[arg(short = 'p', long = "prefix")]
    prefix: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the gateway (in the foreground unless --daemon).
    Start {
        #[command(flatten)]
        target: Target,
        /// Detach from the terminal and run in the background.
        #[arg(long)]
        daemon: bool,
    },
    /// Check the node and declarative configuration; print every error.
    Check {
        #[command(flatten)]
        target: Target,
    },
    /// Reload the configuration of a running gateway (SIGHUP).
    Reload {
        #[command(flatten)]
        target: Target,
    },
    /// Stop a running gateway gracefully, letting in-flight requests finish (SIGQUIT).
    Quit {
        #[command(flatten)]
        target: Target,
    },
    /// Stop a running gateway fast (SIGTERM).
    Stop {
        #[command(flatten)]
        target: Target,
    },
    /// Print the version.
    Version,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Version => {
            println!("sluice {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Check { target } => match load_or_report(&target) {
            Ok(_) => {
                println!("configuration is ok");
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Start { target, daemon } => start(&target, daemon),
        Command::Reload { target } => control::signal(&target, nix::sys::signal::Signal::SIGHUP),
        Command::Quit { target } => control::signal(&target, nix::sys::signal::Signal::SIGQUIT),
        Command::Stop { target } => control::signal(&target, nix::sys::signal::Signal::SIGTERM),
    }
}

/// Loads and checks both configuration files: the config crate's validation, the plugin
/// servers' query commands (their plugins' names and schemas), then what only the worker's code
/// can tell (route regexes, plugin configs). Returns every error.
pub fn load(opts: &LoadOptions) -> Result<Loaded, Vec<String>> {
    let config = sluice_conf::check(opts)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    let served = sluice_pluginserver::info::query_all(&config.node.pluginservers)?;
    let loaded = Loaded { config, served };
    sluice_worker::check(&loaded).map_err(|e| vec![e])?;
    Ok(loaded)
}

fn load_options(target: &Target) -> LoadOptions {
    LoadOptions::from_process_env(target.conf.clone(), target.prefix.clone())
}

/// [`load`], printing every error on stderr.
fn load_or_report(target: &Target) -> Result<Loaded, ExitCode> {
    load(&load_options(target)).map_err(|errors| {
        for e in &errors {
            eprintln!("error: {e}");
        }
        eprintln!("configuration check failed: {} error(s)", errors.len());
        ExitCode::FAILURE
    })
}

fn start(target: &Target, daemon: bool) -> ExitCode {
    let loaded = match load_or_report(target) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let node = &loaded.config.node;
    if let Err(e) = std::fs::create_dir_all(&node.prefix) {
        eprintln!("error: cannot create prefix {}: {e}", node.prefix.display());
        return ExitCode::FAILURE;
    }
    if let Some(pid) = control::running_master(&node.prefix) {
        eprintln!(
            "error: sluice is already running in {} (pid {pid})",
            node.prefix.display()
        );
        return ExitCode::FAILURE;
    }
    match sluice_worker::open_log(&node.proxy_error_log) {
        Ok(log) => sluice_log::init(log, sluice_worker::log_level(node.log_level)),
        Err(e) => {
            eprintln!("error: cannot open the error log: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = certificate::ensure_default(node) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if daemon {
        if let Err(e) = process::daemonize() {
            eprintln!("error: cannot daemonize: {e}");
            return ExitCode::FAILURE;
        }
    }
    let master = match cycle::Master::start(load_options(target), loaded) {
        Ok(m) => m,
        Err(e) => {
            sluice_log::emerg!("{e}");
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pid_file = control::PidFile::create(master.prefix());
    let code = master.run();
    drop(pid_file);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
