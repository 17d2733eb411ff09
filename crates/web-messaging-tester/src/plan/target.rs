//! Where a command's guest sessions go: the one place that merges the command line with the
//! file's `config` (command-line values win, one setting at a time), checks the result, starts
//! the simulator for `--simulate`, and builds the [`SessionConfig`] every session starts from.
//! Used by `scripted` and `ai`, so both accept and refuse the same things with the same words.

pub use crate::format::config::TargetSettings;
use crate::plan::deployment_config::{
    DeploymentConfig, FETCH_TIMEOUT, Fetched, config_url, discover,
};
use crate::plan::guest::GuestSettings;
use genesys_web_messaging::{SessionConfig, load_pem_certificates};
use rustls::pki_types::CertificateDer;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use web_messaging_input::InputError;
use web_messaging_simulator::{BotFlow, Simulator};

/// Default time each wait may take, as upstream's `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default quiet time before each `say` against a real deployment (see the README's Pacing).
const DEFAULT_SAY_DELAY: Duration = Duration::from_secs(2);

/// Deployment ID used against the simulator when neither the file nor the flags name one.
const SIMULATED_DEPLOYMENT: &str = "00000000-0000-0000-0000-000000000000";

/// Where guest sessions go and how they open, as the command line gives them (`scripted`,
/// `ai` and `load` share these).
#[derive(Debug, Clone, Default)]
pub struct SessionSettings {
    /// The command line's deployment, region, endpoint, origin, auto-start and
    /// authentication variable: each wins over the file's.
    pub target: TargetSettings,
    /// `--simulate`: run against a simulated deployment driven by this bot-flow file.
    pub simulate: Option<PathBuf>,
    /// `--ca-cert`: trust the certificates in this PEM file.
    pub ca_cert: Option<PathBuf>,
    /// Fetch the deployment configuration before the first session (`false`:
    /// `--no-deployment-config`).
    pub fetch_deployment_config: bool,
    /// `--max-message-size`: the largest message accepted from the server, in bytes.
    pub max_message_size: Option<usize>,
}

/// The merged, checked settings.
#[derive(Debug, Clone)]
pub struct Target {
    /// The deployment's ID (a placeholder one against the simulator).
    pub deployment_id: String,
    /// The region, when given.
    pub region: Option<String>,
    /// The endpoint, when given.
    pub endpoint: Option<String>,
    /// The `Origin` header, when given.
    pub origin: Option<String>,
    /// `--autostart`/`--no-autostart`, else `config.autostart`; `None`: as the deployment
    /// configuration says.
    pub autostart: Option<bool>,
}

/// Everything checked and loaded, nothing started yet: building one opens nothing, so invalid
/// input is refused before any session or simulator exists.
pub struct TargetPlan {
    /// The merged settings.
    pub target: Target,
    flow: Option<BotFlow>,
    extra_roots: Vec<CertificateDer<'static>>,
    max_message_size: Option<usize>,
    fetch_config: bool,
    auth_code: Option<String>,
}

/// A plan put into action: the simulator (when asked for) is running and every session opens
/// from `session`. (The merged settings stay readable in [`TargetPlan::target`] before
/// starting.)
pub struct StartedTarget {
    /// The session every scenario opens (each gets its own fresh token).
    pub session: SessionConfig,
    simulator: Option<Simulator>,
}

impl StartedTarget {
    /// The simulator's HTTP base (its Platform API), when this target is the simulator.
    pub fn simulator_http_url(&self) -> Option<String> {
        self.simulator.as_ref().map(Simulator::http_url)
    }

    /// The settings every guest of this target starts from, with the run's pacing.
    pub fn guest(&self, timeout: Duration, say_delay: Duration) -> GuestSettings {
        GuestSettings {
            session: self.session.clone(),
            timeout,
            say_delay,
        }
    }
}

impl TargetPlan {
    /// Loads `--simulate`'s bot flow, merges the command line (`session`) over `file`, and
    /// loads `--ca-cert`, in that order. Errors are the messages the command prints.
    pub fn prepare(session: &SessionSettings, file: &TargetSettings) -> Result<TargetPlan, String> {
        let (cli, simulate, ca_cert) = (
            &session.target,
            session.simulate.as_deref(),
            session.ca_cert.as_deref(),
        );
        let flow = match simulate {
            Some(path) => Some(BotFlow::from_file(path).map_err(|e| e.to_string())?),
            None => None,
        };
        let target = merge_target(cli, file, flow.is_some()).map_err(|e| e.to_string())?;
        let extra_roots = match ca_cert {
            Some(pem) => load_pem_certificates(pem).map_err(|e| format!("--ca-cert: {e}"))?,
            None => Vec::new(),
        };
        let auth_code = auth_code(
            cli.auth_code_variable.as_deref(),
            file.auth_code_variable.as_deref(),
            |name| std::env::var(name).ok(),
        )
        .map_err(|e| e.to_string())?;
        Ok(TargetPlan {
            target,
            flow,
            extra_roots,
            max_message_size: session.max_message_size,
            fetch_config: session.fetch_deployment_config,
            auth_code,
        })
    }

    /// Whether the sessions will go to the simulator.
    pub fn simulated(&self) -> bool {
        self.flow.is_some()
    }

    /// How long each wait may take: the command line's, else the file's, else upstream's 10 s.
    pub fn timeout(&self, cli: Option<Duration>, file: Option<Duration>) -> Duration {
        cli.or(file).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// The quiet time before each `say`: the command line's, else the file's, else 2 s against
    /// a real deployment (Genesys may ignore text sent right after a reply) and 0 against the
    /// simulator, which never does.
    pub fn say_delay(&self, cli: Option<Duration>, file: Option<Duration>) -> Duration {
        cli.or(file).unwrap_or(if self.simulated() {
            Duration::ZERO
        } else {
            DEFAULT_SAY_DELAY
        })
    }

    /// Starts the simulator (for `--simulate`), fetches the deployment configuration (unless
    /// `--no-deployment-config`) and builds the session configuration: origin, the
    /// `IsAutomatedTest: "true"` custom attribute, the `--ca-cert` roots, auto-start and what
    /// may be sent after a disconnect. A configuration that cannot be read, or that says no
    /// session may start (Messenger off, deployment inactive, authentication required), is an
    /// error: nothing was opened.
    pub async fn start(self) -> Result<StartedTarget, StartError> {
        let simulator = match self.flow {
            // The CLI never reads the simulator's record of guest frames: don't keep one.
            Some(flow) => Some(
                Simulator::builder(flow)
                    .record_received(false)
                    .start()
                    .await
                    .map_err(|e| StartError::Invalid(format!("cannot start the simulator: {e}")))?,
            ),
            None => None,
        };
        let target = self.target;
        let endpoint = simulator
            .as_ref()
            .map(Simulator::url)
            .or(target.endpoint.clone());
        let deployment = if self.fetch_config {
            match fetch_deployment(
                &target,
                endpoint.as_deref(),
                &self.extra_roots,
                self.auth_code.is_some(),
            )
            .await
            {
                Ok(deployment) => deployment,
                Err(message) => {
                    if let Some(simulator) = simulator {
                        simulator.shutdown().await;
                    }
                    return Err(message);
                }
            }
        } else {
            tracing::info!(
                target: genesys_web_messaging::WIRE_TARGET,
                "--no-deployment-config: the deployment configuration is not fetched, its defaults apply"
            );
            None
        };
        let mut session = match (&simulator, &target.endpoint, &target.region) {
            (Some(sim), _, _) => SessionConfig::for_endpoint(&target.deployment_id, &sim.url()),
            (None, Some(endpoint), _) => {
                SessionConfig::for_endpoint(&target.deployment_id, endpoint)
            }
            (None, None, Some(region)) => SessionConfig::for_region(&target.deployment_id, region),
            (None, None, None) => unreachable!("merge_target requires an endpoint or a region"),
        };
        if let Some(origin) = &target.origin {
            session = session.origin(origin.clone());
        }
        session = session.custom_attribute("IsAutomatedTest", "true");
        session.extra_root_certificates = self.extra_roots;
        if let Some(bytes) = self.max_message_size {
            session = session.max_message_size(bytes);
        }
        let fetched_autostart = deployment.as_ref().is_some_and(|d| d.autostart());
        session = session.autostart(target.autostart.unwrap_or(fetched_autostart));
        if let Some(mode) = deployment.as_ref().and_then(|d| d.disconnect_mode()) {
            session = session.conversation_disconnect(mode);
        }
        // The deployment's upload limits, checked before any session opens (`scripted`) and
        // before each upload. A configuration that lists no mode leaves it to the server.
        if let Some(limits) = deployment.as_ref().map(|d| d.upload_limits())
            && !limits.modes.is_empty()
        {
            session = session.with_attachment_limits(limits);
        }
        if let Some(code) = self.auth_code {
            session = session.authenticated(code);
        }
        Ok(StartedTarget { session, simulator })
    }
}

/// Fetches the target's configuration and refuses what Genesys' Messenger would not start.
async fn fetch_deployment(
    target: &Target,
    endpoint: Option<&str>,
    extra_roots: &[CertificateDer<'static>],
    authenticated: bool,
) -> Result<Option<Arc<DeploymentConfig>>, StartError> {
    let url =
        config_url(&target.deployment_id, endpoint, target.region.as_deref()).map_err(|e| {
            StartError::Invalid(format!(
                "cannot build the deployment configuration's URL: {e}"
            ))
        })?;
    // Not reaching the deployment's host, or an unreadable answer: it cannot be tested.
    let fetched = discover(&url, extra_roots, FETCH_TIMEOUT)
        .await
        .map_err(StartError::Untestable)?;
    let config = match fetched {
        Fetched::Published(config) => config,
        Fetched::NotPublished(_) => return Ok(None),
    };
    let id = &target.deployment_id;
    if !config.messenger_enabled() {
        return Err(StartError::Untestable(format!(
            "deployment {id} has its Messenger turned off (messenger.enabled: false in {url}): \
             Genesys' Messenger would not start, so no session was opened"
        )));
    }
    if !config.active() {
        return Err(StartError::Untestable(format!(
            "deployment {id} is inactive (status: Inactive in {url}): Genesys' Messenger would \
             not start, so no session was opened"
        )));
    }
    if config.auth_required() && !authenticated {
        // Missing input (the code's variable), not a deployment that cannot be tested.
        return Err(StartError::Invalid(format!(
            "deployment {id} requires authenticated messaging (auth.enabled: true in {url}): \
             guests must sign in before they can send messages. Give the authorization code \
             with --auth-code-variable <NAME> or config.auth.codeVariable (the name of the \
             environment variable holding it) to start each session with \
             configureAuthenticatedSession"
        )));
    }
    Ok(Some(config))
}

/// Why a target could not start: nothing was opened either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// A setting or file is wrong (exit 2).
    Invalid(String),
    /// The deployment could not be reached or would not start sessions: DNS, connect, TLS,
    /// its configuration unreadable, Messenger off, inactive (exit 3).
    Untestable(String),
}

impl StartError {
    /// The message to print.
    pub fn message(&self) -> &str {
        match self {
            StartError::Invalid(m) | StartError::Untestable(m) => m,
        }
    }

    /// The same error with its message changed (e.g. prefixed with the file).
    pub fn map(self, f: impl FnOnce(String) -> String) -> StartError {
        match self {
            StartError::Invalid(m) => StartError::Invalid(f(m)),
            StartError::Untestable(m) => StartError::Untestable(f(m)),
        }
    }
}

impl StartedTarget {
    /// Stops the simulator, if one was started.
    pub async fn shutdown(self) {
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

/// The authentication code for `configureAuthenticatedSession`: read from the environment
/// variable named by `--auth-code-variable`, else by `config.auth.codeVariable`. A missing or
/// empty variable is an error naming it (never its value); the code is registered with the
/// redactor so no output shows it.
pub fn auth_code(
    cli: Option<&str>,
    file: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, InputError> {
    let (name, key) = match (cli, file) {
        (Some(name), _) => (name, "--auth-code-variable"),
        (None, Some(name)) => (name, "config.auth.codeVariable"),
        (None, None) => return Ok(None),
    };
    if name.trim().is_empty() {
        return Err(InputError::setting(key, "is not allowed to be empty"));
    }
    match env(name) {
        Some(code) if !code.trim().is_empty() => {
            crate::secrets::register(&code);
            Ok(Some(code))
        }
        Some(_) => Err(InputError::setting(
            key,
            format!(
                "names the environment variable {name}, which is empty: set it to the authentication code"
            ),
        )),
        None => Err(InputError::setting(
            key,
            format!(
                "names the environment variable {name}, which is not set: set it to the authentication code"
            ),
        )),
    }
}

/// Command-line values beat file values, one setting at a time. `deploymentId` and `region`
/// are required unless the sessions go to an `endpoint` or the simulator.
pub fn merge_target(
    cli: &TargetSettings,
    file: &TargetSettings,
    simulated: bool,
) -> Result<Target, InputError> {
    let pick = |cli: &Option<String>, file: &Option<String>| cli.clone().or_else(|| file.clone());
    let deployment_id = pick(&cli.deployment_id, &file.deployment_id);
    let region = pick(&cli.region, &file.region);
    let endpoint = pick(&cli.endpoint, &file.endpoint);
    let origin = pick(&cli.origin, &file.origin);
    let autostart = cli.autostart.or(file.autostart);
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
    crate::plan::region::check_setting(
        cli.region.as_deref(),
        file.region.as_deref(),
        file.region_at.as_ref(),
    )?;
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
        autostart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(id: Option<&str>, region: Option<&str>) -> TargetSettings {
        TargetSettings {
            deployment_id: id.map(String::from),
            region: region.map(String::from),
            ..TargetSettings::default()
        }
    }

    #[test]
    fn command_line_beats_file_one_setting_at_a_time() {
        let target = merge_target(
            &settings(None, Some("mypurecloud.de")),
            &settings(Some("file-id"), Some("mypurecloud.ie")),
            false,
        )
        .unwrap();
        assert_eq!(target.deployment_id, "file-id");
        assert_eq!(target.region.as_deref(), Some("mypurecloud.de"));
    }

    #[test]
    fn deployment_and_region_required_unless_simulated() {
        let none = TargetSettings::default();
        let e = merge_target(&none, &none, false).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("deploymentId"));
        let e = merge_target(&settings(Some("d"), None), &none, false).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("region"));
        let target = merge_target(&none, &none, true).unwrap();
        assert_eq!(target.deployment_id, SIMULATED_DEPLOYMENT);
    }
}
