//! Options of `load`. Parsing only: the profile's rules live in `profile.rs`.

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use web_messaging_tester::format::duration::{parse_delay, parse_say_delay, parse_timeout};
use web_messaging_tester::format::threshold::{self, Threshold};

const LOAD_HELP: &str = "\
Examples:
  web-messaging-tester load tests.yml --simulate bot.yml --users 100 --iterations 5
  web-messaging-tester load tests.yml --endpoint ws://127.0.0.1:4000/v1 --users 1000 --ramp-up 10s --duration 1m --threshold 'p95<2s' --threshold 'error-rate<1%'
  web-messaging-tester load tests.yml --arrival-rate 20 --users 500 --duration 5m --allow-real-deployment

Thresholds: p50, p90, p95, p99, max, mean, min (bot response time, e.g. p95<2s), error-rate (e.g. error-rate<1%), errors, conversations-per-second, messages-per-second; with <, <=, > or >=.

Exit codes: 0 the run met every threshold, 1 a threshold was breached or the one-guest smoke test failed for a bot reason (nothing was loaded), 2 invalid input (nothing was run), 3 the deployment could not be tested (DNS, connect, TLS, upgrade refused, deployment not found or inactive, session never started), 130 interrupted (SIGINT/SIGTERM; the report is still written).";

/// Options of `load`.
#[derive(Debug, Args)]
#[command(after_help = LOAD_HELP)]
pub struct LoadArgs {
    /// Path of the YAML test-script whose scenarios the guests replay, in turn.
    #[arg(value_name = "filePath")]
    pub file: PathBuf,
    /// Where the guest sessions go.
    #[command(flatten)]
    pub session: crate::cli::SessionArgs,
    /// Origin domain used for restricting Web Messenger Deployment.
    #[arg(short = 'o', long, value_name = "origin")]
    pub origin: Option<String>,
    /// Concurrent guests; with --arrival-rate, the most guests at once.
    #[arg(short = 'u', long, value_name = "n")]
    pub users: Option<usize>,
    /// Time over which the guests start (or the arrival rate climbs), e.g. 30s.
    #[arg(long = "ramp-up", value_name = "duration", value_parser = parse_delay)]
    pub ramp_up: Option<Duration>,
    /// Start new conversations for this long, e.g. 5m (those under way then are finished).
    #[arg(long, value_name = "duration", value_parser = parse_delay)]
    pub duration: Option<Duration>,
    /// Conversations each guest holds, one after the other.
    #[arg(short = 'n', long, value_name = "n")]
    pub iterations: Option<u64>,
    /// Open model: start this many conversations per second, whatever the others are doing.
    #[arg(long = "arrival-rate", value_name = "per second", value_parser = parse_rate)]
    pub arrival_rate: Option<f64>,
    /// Pass/fail threshold, e.g. 'p95<2s' or 'error-rate<1%' (repeatable).
    #[arg(long = "threshold", value_name = "expr", value_parser = threshold::parse)]
    pub thresholds: Vec<Threshold>,
    /// Also write the results as JSON to this file (replaced atomically).
    #[arg(long = "report-json", value_name = "file")]
    pub report_json: Option<PathBuf>,
    /// Allow a load run against a real deployment (anything but loopback or --simulate).
    #[arg(long = "allow-real-deployment")]
    pub allow_real_deployment: bool,
    /// Seconds to wait for a response before failing the conversation [default: 10].
    #[arg(short = 't', long, value_name = "number", value_parser = parse_timeout, env = "WMT_TIMEOUT")]
    pub timeout: Option<Duration>,
    /// Quiet time before each `say`, e.g. 2s or 500ms [default: 2s; 0 with --simulate].
    #[arg(long = "say-delay", value_name = "duration", value_parser = parse_say_delay, env = "WMT_SAY_DELAY")]
    pub say_delay: Option<Duration>,
    /// Also write every response time to this CSV file (scenario, step, microseconds), for
    /// checks of your own.
    #[arg(long = "samples-csv", value_name = "file")]
    pub samples_csv: Option<PathBuf>,
    /// Run shard K of N of this profile (every N-th guest and arrival), e.g. 2/4; merge the
    /// shards' --report-json files with `report merge`.
    #[arg(long, value_name = "K/N", value_parser = web_messaging_tester::plan::shard::parse_shard)]
    pub shard: Option<web_messaging_tester::plan::shard::Shard>,
    /// Start the load (after the smoke test) at this RFC 3339 time, e.g. 2026-11-26T18:00:00Z:
    /// shards given the same time ramp up together.
    #[arg(long = "start-at", value_name = "time", value_parser = web_messaging_tester::load::distributed::parse_start_at)]
    pub start_at: Option<jiff::Timestamp>,
    /// Log every frame sent and received on stderr (very verbose under load).
    #[arg(short = 'v', long, env = "WMT_VERBOSE")]
    pub verbose: bool,
    /// `${NAME}` values.
    #[command(flatten)]
    pub variables: crate::cli::VariableArgs,
}

fn parse_rate(value: &str) -> Result<f64, String> {
    let number = value.trim().trim_end_matches("/s");
    match number.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        Ok(_) => Err("must be above 0 conversations per second".into()),
        Err(_) => Err(format!(
            "'{value}' is not a number of conversations per second"
        )),
    }
}
