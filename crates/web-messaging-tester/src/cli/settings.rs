//! The mapping of parsed arguments to the library's plain settings: the only place that knows
//! both clap's types and the library's.

use super::chat::ChatArgs;
use super::load::LoadArgs;
use super::{
    AiArgs, CiArgs, MergeArgs, SchemaKind, ScriptedArgs, SessionArgs, SimulateArgs, VariableArgs,
};
use std::time::Duration;
use web_messaging_simulator::SimulatorLimits;
use web_messaging_tester::commands::CiSettings;
use web_messaging_tester::commands::ai::AiSettings;
use web_messaging_tester::commands::chat::ChatSettings;
use web_messaging_tester::commands::load::LoadSettings;
use web_messaging_tester::commands::schema;
use web_messaging_tester::commands::scripted::ScriptedSettings;
use web_messaging_tester::commands::simulate::SimulateSettings;
use web_messaging_tester::format::variables::VariableSettings;
use web_messaging_tester::load::profile::ProfileInput;
use web_messaging_tester::plan::select::Selection;
use web_messaging_tester::plan::target::{SessionSettings, TargetSettings};
use web_messaging_tester::reports::Destinations;

/// The session flags, with the command's `--origin` (its short form differs between commands).
fn session(args: SessionArgs, origin: Option<String>) -> SessionSettings {
    let autostart = args.autostart();
    SessionSettings {
        target: TargetSettings {
            deployment_id: args.deployment_id,
            region: args.region,
            region_at: None,
            endpoint: args.endpoint,
            origin,
            autostart,
            auth_code_variable: args.auth_code_variable,
        },
        simulate: args.simulate,
        ca_cert: args.ca_cert,
        fetch_deployment_config: !args.no_deployment_config,
        max_message_size: args.max_message_size,
    }
}

fn ci(args: CiArgs) -> CiSettings {
    CiSettings {
        associate_id: args.associate_id,
        reports: Destinations {
            junit: args.report_junit,
            json: args.report_json,
            html: args.report_html,
        },
    }
}

impl From<ScriptedArgs> for ScriptedSettings {
    fn from(args: ScriptedArgs) -> Self {
        ScriptedSettings {
            files: args.files,
            session: session(args.session, args.origin),
            parallel: args.parallel,
            failures_only: args.failures_only,
            timeout: args.timeout,
            say_delay: args.say_delay,
            scenario_timeout: args.scenario_timeout,
            verbose: args.verbose,
            ci: ci(args.ci),
            shard: args.shard,
            selection: Selection {
                filters: args.filter,
                skips: args.skip,
            },
            variables: args.variables.into(),
            keep_conversations: args.keep_conversations,
        }
    }
}

impl From<AiArgs> for AiSettings {
    fn from(args: AiArgs) -> Self {
        AiSettings {
            file: args.file,
            session: session(args.session, args.origin),
            out_dir: args.out_dir,
            parallel: args.parallel,
            seed: args.seed,
            max_turns: args.max_turns,
            silence: args.silence,
            time_limit: args.time_limit,
            verbose: args.verbose,
            api_key_variable: args.api_key_variable,
            ci: ci(args.ci),
            variables: args.variables.into(),
        }
    }
}

impl From<LoadArgs> for LoadSettings {
    fn from(args: LoadArgs) -> Self {
        LoadSettings {
            file: args.file,
            session: session(args.session, args.origin),
            profile: ProfileInput {
                users: args.users,
                ramp_up: args.ramp_up,
                duration: args.duration,
                iterations: args.iterations,
                arrival_rate: args.arrival_rate,
            },
            thresholds: args.thresholds,
            report_json: args.report_json,
            allow_real_deployment: args.allow_real_deployment,
            timeout: args.timeout,
            say_delay: args.say_delay,
            verbose: args.verbose,
            shard: args.shard,
            start_at: args.start_at,
            samples_csv: args.samples_csv,
            variables: args.variables.into(),
        }
    }
}

impl From<VariableArgs> for VariableSettings {
    fn from(args: VariableArgs) -> Self {
        VariableSettings {
            variables: args.variables,
            files: args.variables_files,
            secrets: args.secrets,
        }
    }
}

impl From<ChatArgs> for ChatSettings {
    fn from(args: ChatArgs) -> Self {
        ChatSettings {
            session: session(args.session, args.origin),
            config_file: args.config,
            timeout: args.timeout,
            say_delay: args.say_delay,
            silence: args.silence,
            record: args.record,
            name: args.name,
            verbose: args.verbose,
            interactive: None,
        }
    }
}

impl From<SimulateArgs> for SimulateSettings {
    fn from(args: SimulateArgs) -> Self {
        SimulateSettings {
            limits: simulator_limits(&args),
            bot: args.bot,
            host: args.host,
            port: args.port,
            verbose: args.verbose,
            tls: args.tls,
            export_cert: args.export_cert,
            seed: args.seed,
        }
    }
}

/// The simulator's limits from the command line (0 seconds: never); the rest keep their
/// defaults.
fn simulator_limits(args: &SimulateArgs) -> SimulatorLimits {
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

impl MergeArgs {
    /// Where the merged reports go.
    pub fn destinations(&self) -> Destinations {
        Destinations {
            junit: self.report_junit.clone(),
            json: self.report_json.clone(),
            html: self.report_html.clone(),
        }
    }
}

impl From<SchemaKind> for schema::SchemaKind {
    fn from(kind: SchemaKind) -> Self {
        match kind {
            SchemaKind::Scripted => schema::SchemaKind::Scripted,
            SchemaKind::Bot => schema::SchemaKind::Bot,
        }
    }
}
