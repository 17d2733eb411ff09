//! `simulate`: serve a simulated deployment until interrupted.

use crate::Outcome;
use std::io::Write;
use std::net::SocketAddr;
use web_messaging_simulator::{BotFlow, Simulator, SimulatorLimits};

/// What `simulate` serves, and how.
#[derive(Debug, Clone)]
pub struct SimulateSettings {
    /// The bot-flow file.
    pub bot: std::path::PathBuf,
    /// The address to listen on.
    pub host: std::net::IpAddr,
    /// The port (0 picks a free one).
    pub port: u16,
    /// Log every frame on stderr.
    pub verbose: bool,
    /// Serve wss:// with a self-signed certificate.
    pub tls: bool,
    /// Write the self-signed certificate (PEM) to this file.
    pub export_cert: Option<std::path::PathBuf>,
    /// Seed of the random choices, instead of the bot flow's.
    pub seed: Option<u64>,
    /// Connections, sessions, timeouts and frame limits.
    pub limits: SimulatorLimits,
}

/// Runs `simulate`: writes the certificate (with `--tls --export-cert`), prints the WebSocket
/// URL on stdout, serves until Ctrl-C.
pub async fn run(args: SimulateSettings, colour_allowed: bool) -> Outcome {
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
        .limits(args.limits.clone());
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
    eprintln!(
        "Its Platform API (OAuth token, conversations, analytics, lookups, disconnect) is at {} for any client credentials: GENESYS_REGION={} for --associate-id and the expect… steps",
        simulator.http_url(),
        simulator.http_url()
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
