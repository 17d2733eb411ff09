//! `simulate`: serve a simulated deployment until interrupted.

use crate::Outcome;
use crate::cli::SimulateArgs;
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;
use web_messaging_simulator::{BotFlow, Simulator, SimulatorLimits};

/// The simulator's limits from the command line; the rest keep their defaults.
fn limits(args: &SimulateArgs) -> SimulatorLimits {
    let seconds = |n: u64| (n > 0).then(|| Duration::from_secs(n));
    let mut limits = SimulatorLimits::default();
    limits.max_connections = args.max_connections;
    limits.max_sessions = args.max_sessions;
    limits.configure_timeout = seconds(args.configure_timeout);
    limits.idle_timeout = seconds(args.idle_timeout);
    limits.max_frame_bytes = args.max_frame_bytes;
    limits.frames_per_second = args.frames_per_second;
    limits.frame_burst = args.frames_per_second.saturating_mul(2);
    limits
}

/// Runs `simulate`: writes the certificate (with `--tls --export-cert`), prints the WebSocket
/// URL on stdout, serves until Ctrl-C.
pub async fn run(args: SimulateArgs, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let flow = match BotFlow::from_file(&args.bot) {
        Ok(flow) => flow,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    // A standalone simulator may serve load for hours: keep no record of guest frames.
    let mut builder = Simulator::builder(flow)
        .bind(SocketAddr::new(args.host, args.port))
        .tls(args.tls)
        .record_received(false)
        .limits(limits(&args));
    if let Some(seed) = args.seed {
        builder = builder.seed(seed);
    }
    let simulator = match builder.start().await {
        Ok(simulator) => simulator,
        Err(e) => {
            return Outcome::Invalid(format!("cannot listen on {}:{}: {e}", args.host, args.port));
        }
    };
    if let (Some(path), Some(pem)) = (&args.export_cert, simulator.certificate_pem())
        && let Err(e) = std::fs::write(path, pem)
    {
        return Outcome::Invalid(format!(
            "cannot write the certificate to {}: {e}",
            path.display()
        ));
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{}", simulator.url());
    let _ = stdout.flush();
    eprintln!(
        "Simulated Web Messenger deployment serving {} at {} (seed {}; Ctrl-C to stop)",
        args.bot.display(),
        simulator.url(),
        simulator.seed()
    );
    if let Some(path) = &args.export_cert {
        eprintln!(
            "Its self-signed certificate is in {}: clients trust it with --ca-cert {}",
            path.display(),
            path.display()
        );
    }
    let _ = tokio::signal::ctrl_c().await;
    simulator.shutdown().await;
    Outcome::Passed
}
