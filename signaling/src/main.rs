//! The `diemcau` binary: signaling + SFU in one process. It parses the flags, loads the
//! configuration ([`signaling::config`]: defaults < `--config` TOML file < `DIEMCAU_*`
//! environment < flags, one flag per key) and hands over to the library: `--check-config`
//! prints the redacted summary, otherwise [`signaling::node::run`] serves (with `--demo`,
//! after creating a demo meeting and printing its links).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser};
use signaling::config::{flags, Config, Layers};
use signaling::demo::Demo;
use tracing_subscriber::EnvFilter;

/// diemcau: video-conferencing relay for online government meetings.
///
/// Every configuration key has a flag below, an environment variable DIEMCAU_<KEY> (e.g.
/// DIEMCAU_HTTP, DIEMCAU_TURN_URLS) and a key in the --config file; flags win over the
/// environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (also DIEMCAU_CONFIG). Every key: deploy/diemcau.example.toml.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the configuration, print a summary (secrets redacted) and exit: 0 valid, 1 not.
    #[arg(long)]
    check_config: bool,
    /// Create a demo meeting (a chair, an operator, five communes) and print its links.
    #[arg(long)]
    demo: bool,
    /// With --demo: print the links as one JSON object.
    #[arg(long, requires = "demo")]
    json: bool,
}

fn main() -> ExitCode {
    let matches = Cli::command().args(flags::args()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let layers = Layers::from_process(cli.config, flags::given(&matches));
    let config = match Config::load(&layers) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("diemcau: configuration error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if cli.check_config {
        print!("{}", config.summary());
        println!("configuration OK");
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,str0m=warn,str0m::format=error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let demo = match (cli.demo, cli.json) {
        (false, _) => None,
        (true, false) => Some(Demo::Text),
        (true, true) => Some(Demo::Json),
    };
    match signaling::node::run(config, demo) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("diemcau: {e:#}");
            ExitCode::FAILURE
        }
    }
}
