//! `scripted`: run a test-script's scenarios and report them.

use crate::Outcome;
use crate::cli::ScriptedArgs;
use crate::progress::{LiveProgress, PlainProgress, live_display_possible};
use crate::report;
use crate::runner::{Progress, RunSettings, run_scenarios};
use crate::script::TestScript;
use genesys_web_messaging::{SessionConfig, load_pem_certificates};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use web_messaging_input::InputError;
use web_messaging_simulator::{BotFlow, Simulator};

/// Default seconds each wait may take, as upstream.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default quiet time before each `say` against a real deployment (see the README).
const DEFAULT_SAY_DELAY: Duration = Duration::from_secs(2);
/// Deployment ID used against the simulator when the script names none.
const SIMULATED_DEPLOYMENT: &str = "00000000-0000-0000-0000-000000000000";

/// Runs `scripted`.
pub async fn run(args: ScriptedArgs, colour_allowed: bool) -> Outcome {
    crate::logging::init(args.verbose, colour_allowed);
    let script = match TestScript::load(&args.file) {
        Ok(script) => script,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    let flow = match &args.simulate {
        Some(path) => match BotFlow::from_file(path) {
            Ok(flow) => Some(flow),
            Err(e) => return Outcome::Invalid(e.to_string()),
        },
        None => None,
    };
    let target = match merge_target(&args, &script, flow.is_some()) {
        Ok(target) => target,
        Err(e) => return Outcome::Invalid(e.to_string()),
    };
    let extra_roots = match &args.ca_cert {
        Some(pem) => match load_pem_certificates(pem) {
            Ok(certificates) => certificates,
            Err(e) => return Outcome::Invalid(format!("--ca-cert: {e}")),
        },
        None => Vec::new(),
    };
    // Started only once all input is known to be valid: bad input opens nothing.
    let simulator = match flow {
        Some(flow) => match Simulator::start(flow).await {
            Ok(simulator) => Some(simulator),
            Err(e) => return Outcome::Invalid(format!("cannot start the simulator: {e}")),
        },
        None => None,
    };
    let mut session = match (&simulator, &target.endpoint, &target.region) {
        (Some(sim), _, _) => SessionConfig::for_endpoint(&target.deployment_id, &sim.url()),
        (None, Some(endpoint), _) => SessionConfig::for_endpoint(&target.deployment_id, endpoint),
        (None, None, Some(region)) => SessionConfig::for_region(&target.deployment_id, region),
        (None, None, None) => unreachable!("merge_target requires an endpoint or a region"),
    };
    if let Some(origin) = &target.origin {
        session = session.origin(origin.clone());
    }
    session = session.custom_attribute("IsAutomatedTest", "true");
    session.extra_root_certificates = extra_roots;
    let timeout = args
        .timeout
        .or(script.config.timeout)
        .unwrap_or(DEFAULT_TIMEOUT);
    let say_delay = args
        .say_delay
        .or(script.config.say_delay)
        .unwrap_or(if simulator.is_some() {
            Duration::ZERO
        } else {
            DEFAULT_SAY_DELAY
        });
    let settings = RunSettings {
        session,
        timeout,
        say_delay,
        parallel: args.parallel,
    };

    let live = (!args.verbose && live_display_possible(colour_allowed))
        .then(|| Arc::new(LiveProgress::new()));
    let progress: Arc<dyn Progress> = match &live {
        Some(live) => Arc::clone(live) as Arc<dyn Progress>,
        None => Arc::new(PlainProgress),
    };
    let results = run_scenarios(&script.scenarios, &settings, progress).await;
    if let Some(live) = &live {
        live.clear();
    }
    if let Some(simulator) = simulator {
        simulator.shutdown().await;
    }
    let text = report::render(&results, args.failures_only, timeout);
    let mut stdout = anstream::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    if results.iter().all(|r| r.passed()) {
        Outcome::Passed
    } else {
        Outcome::Failed
    }
}

struct Target {
    deployment_id: String,
    region: Option<String>,
    endpoint: Option<String>,
    origin: Option<String>,
}

/// Command-line values beat file values, one setting at a time.
fn merge_target(
    args: &ScriptedArgs,
    script: &TestScript,
    simulated: bool,
) -> Result<Target, InputError> {
    let config = &script.config;
    let pick = |cli: &Option<String>, file: &Option<String>| cli.clone().or_else(|| file.clone());
    let deployment_id = pick(&args.deployment_id, &config.deployment_id);
    let region = pick(&args.region, &config.region);
    let endpoint = pick(&args.endpoint, &config.endpoint);
    let origin = pick(&args.origin, &config.origin);
    let deployment_id = match deployment_id {
        Some(id) => id,
        None if simulated => SIMULATED_DEPLOYMENT.to_string(),
        None => {
            return Err(InputError::setting(
                "deploymentId",
                "is required: set config.deploymentId in the test-script or pass --deployment-id",
            ));
        }
    };
    for (key, value) in [
        ("deploymentId", Some(&deployment_id)),
        ("region", region.as_ref()),
        ("origin", origin.as_ref()),
    ] {
        if value.is_some_and(|v| v.trim().is_empty()) {
            return Err(InputError::setting(key, "is not allowed to be empty"));
        }
    }
    if let Some(url) = &endpoint
        && !(url.starts_with("ws://") || url.starts_with("wss://"))
    {
        return Err(InputError::setting(
            "endpoint",
            format!("must be a ws:// or wss:// URL, not '{url}'"),
        ));
    }
    if !simulated && endpoint.is_none() && region.is_none() {
        return Err(InputError::setting(
            "region",
            "is required: set config.region in the test-script or pass --region (or give --endpoint, or --simulate)",
        ));
    }
    Ok(Target {
        deployment_id,
        region,
        endpoint,
        origin,
    })
}
