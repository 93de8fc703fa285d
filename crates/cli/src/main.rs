//! The `kaltura-archiver` binary: parses the command line, runs one command, prints the error chain
//! once and exits with a code from [`exit`].

mod args;
mod catalog;
mod commands;
#[cfg(feature = "demo")]
mod demo;
mod download;
mod exit;
mod explain;
mod failure;
mod legacy;
mod open;
mod output;
mod progress;
mod report;
mod run;
mod say;
mod scheduled;
mod usage;
mod verify;

use clap::Parser;

use archiver::engine::Command as Engine;

use crate::args::{Cli, Command};
use crate::failure::Failure;

fn main() {
    let (args, notes) = legacy::translate(std::env::args_os().collect());
    for n in &notes {
        eprintln!("kaltura-archiver: note: {n} (the reference tool's spelling still works)");
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => usage_error(&e, &args),
    };
    // A person at a terminal also sees each Kaltura retry ("retrying in 4.0 s, 3 of 8").
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let level = match cli.verbose {
        0 if terminal => "warn,kaltura::client=info",
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KALTURA_ARCHIVER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // LOG_FORMAT=json: one JSON object per log line on stderr, for CloudWatch Logs Insights.
    let json_logs = match std::env::var("LOG_FORMAT").ok().as_deref().map(str::trim) {
        None | Some("") | Some("text") => false,
        Some("json") => true,
        Some(other) => {
            eprintln!("kaltura-archiver: LOG_FORMAT {other:?} is not text or json");
            std::process::exit(exit::USAGE);
        }
    };
    say::set_json(json_logs);
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false);
    if json_logs {
        logs.json().flatten_event(true).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("kaltura-archiver: cannot start the async runtime: {e}");
            std::process::exit(exit::ENTRY_FAILURES);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        // A closed pipe (`| head`) is not an error.
        Err(Failure::BrokenPipe) => exit::SUCCESS,
        Err(f) if json_logs => {
            let code = f.exit_code();
            tracing::error!(exit_code = code, "{}", f.message());
            code
        }
        Err(f) => {
            eprintln!("kaltura-archiver: {}", f.message());
            f.exit_code()
        }
    };
    std::process::exit(code);
}

/// Help and version as clap prints them; any other parse error as one line (JSON with
/// `LOG_FORMAT=json`), exit 2.
fn usage_error(e: &clap::Error, args: &[std::ffi::OsString]) -> ! {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    let line = usage::one_line(e, args);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.trim() == "json") {
        eprintln!(
            "{}",
            serde_json::json!({"level": "ERROR", "message": line, "exit_code": exit::USAGE})
        );
    } else {
        eprintln!("kaltura-archiver: {line}");
    }
    std::process::exit(exit::USAGE)
}

async fn run(cli: Cli) -> Result<i32, Failure> {
    match cli.command {
        Command::Check(a) => commands::check(&cli.kaltura, &a).await,
        Command::Count(a) => commands::count(&cli.kaltura, &a).await,
        Command::List(a) => commands::list(&cli.kaltura, &a).await,
        Command::Stats(a) => commands::stats(&cli.kaltura, &a).await,
        Command::Archive(a) => run::run(&cli.kaltura, Engine::Archive, &a).await,
        Command::Replace(a) => run::run(&cli.kaltura, Engine::Replace, &a).await,
        Command::Restore(a) => run::run(&cli.kaltura, Engine::Restore, &a).await,
        Command::Health(a) => run::run(&cli.kaltura, Engine::Health, &a).await,
        Command::Repair(a) => run::run(&cli.kaltura, Engine::Repair, &a).await,
        Command::Explain(a) => explain::explain(&cli.kaltura, &a).await,
        Command::Download(a) => download::download(&cli.kaltura, &a).await,
        Command::Verify(a) => verify::verify(&cli.kaltura, &a).await,
        Command::Catalog(a) => catalog::catalog(&a).await,
        Command::Report(a) => report::report(&cli.kaltura, &a).await,
        Command::Completions { shell } => {
            // Written whole to a buffer first: the generator panics on a write error (`| head`).
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut cmd, "kaltura-archiver", &mut script);
            std::io::Write::write_all(&mut std::io::stdout(), &script)?;
            Ok(exit::SUCCESS)
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?;
            Ok(exit::SUCCESS)
        }
        Command::Run(a) => scheduled::run(&cli.kaltura, &a).await,
        #[cfg(feature = "demo")]
        Command::Demo(a) => demo::demo(&a).await,
    }
}
