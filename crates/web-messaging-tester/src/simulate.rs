//! `simulate`: serve a simulated deployment until interrupted.

use crate::Outcome;
use crate::cli::SimulateArgs;
use std::io::Write;
use std::net::SocketAddr;
use web_messaging_simulator::{BotFlow, Simulator};

/// Runs `simulate`: prints the WebSocket URL on stdout, serves until Ctrl-C.
pub async fn run(args: SimulateArgs, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let flow = match BotFlow::from_file(&args.bot) {
        Ok(flow) => flow,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    let simulator = match Simulator::start_on(flow, SocketAddr::new(args.host, args.port)).await {
        Ok(simulator) => simulator,
        Err(e) => {
            return Outcome::Invalid(format!("cannot listen on {}:{}: {e}", args.host, args.port));
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", simulator.url());
    let _ = stdout.flush();
    eprintln!(
        "Simulated Web Messenger deployment serving {} at {} (Ctrl-C to stop)",
        args.bot.display(),
        simulator.url()
    );
    let _ = tokio::signal::ctrl_c().await;
    simulator.shutdown().await;
    Outcome::Passed
}
