//! The runner and the reports through the library, where a process would add nothing: the
//! simulator on a loopback socket, `run_scenarios` as `scripted` calls it, and every report
//! made from the one result model.

use genesys_web_messaging::{SessionConfig, SessionLog};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use web_messaging_simulator::{BotFlow, Simulator};
use web_messaging_tester::format::script::TestScript;
use web_messaging_tester::interrupt::Interrupt;
use web_messaging_tester::plan::guest::GuestSettings;
use web_messaging_tester::reports::{RunReport, ScenarioContext, ScenarioReport, html, junit};
use web_messaging_tester::results::{describe_failure, summarize_failure};
use web_messaging_tester::run::{Progress, RunSettings, ScenarioResult, run_scenarios};

/// Keeps each scenario's session log, to look at what arrived on the wire.
#[derive(Default)]
struct Logs(Mutex<Vec<Arc<SessionLog>>>);

impl Progress for Logs {
    fn started(&self, _index: usize, _name: &str, log: Arc<SessionLog>) {
        self.0.lock().unwrap().push(log);
    }
    fn finished(&self, _index: usize, _result: &ScenarioResult) {}
}

async fn run(bot: &str, script: &str, timeout: Duration) -> (Vec<ScenarioResult>, Arc<Logs>) {
    let flow = BotFlow::from_yaml_str(bot, "bot.yml").expect("a valid bot flow");
    let script = TestScript::parse(Path::new("script.yml"), script).expect("a valid script");
    let simulator = Simulator::start(flow).await.expect("the simulator starts");
    let settings = RunSettings {
        guest: GuestSettings {
            session: SessionConfig::for_endpoint("d", &simulator.url()),
            timeout,
            say_delay: Duration::ZERO,
        },
        scenario_timeout: None,
        platform: None,
    };
    let logs = Arc::new(Logs::default());
    let scenarios = script
        .scenarios
        .into_iter()
        .map(|scenario| (scenario, settings.clone()))
        .collect();
    let progress: Arc<dyn Progress> = logs.clone();
    let results = run_scenarios(scenarios, 1, progress, &Interrupt::listen()).await;
    simulator.shutdown().await;
    (results, logs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_delivered_out_of_order_are_read_in_conversation_order() {
    let bot = "states:\n  main:\n    - reply: [\"hello1\", \"hello2\"]\n      outOfOrder: true\n";
    let script = "scenarios:\n  s:\n    - say: hi\n    - waitForReplyContaining: hello1\n    - waitForReplyContaining: hello2\n";
    let (results, logs) = run(bot, script, Duration::from_secs(5)).await;
    assert!(results[0].passed(), "{:?}", results[0].failure);
    let log = logs.0.lock().unwrap()[0].snapshot();
    let texts: Vec<&str> = log
        .messages
        .iter()
        .map(|m| m.message.text.as_deref().unwrap_or_default())
        .collect();
    let position = |text: &str| texts.iter().position(|t| *t == text).expect(text);
    let (one, two) = (position("hello1"), position("hello2"));
    assert!(one < two, "conversation order: {texts:?}");
    // The reordering did happen on the wire: hello2 arrived first, hello1 after it.
    assert!(
        log.messages[two].arrival < log.messages[one].arrival,
        "the simulator delivered them in order, so this test proves nothing"
    );
    assert!(log.messages[one].arrived_out_of_order);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_report_words_a_failure_as_the_terminal_does() {
    let bot = "states:\n  main:\n    - reply: \"Hello\"\n";
    let script = "scenarios:\n  s:\n    - say: hi\n    - waitForReplyContaining: welcome\n";
    let timeout = Duration::from_millis(300);
    let (results, _) = run(bot, script, timeout).await;
    let failure = results[0].failure.as_ref().expect("the wait fails");
    let (full, one_line) = (
        describe_failure(failure, timeout),
        summarize_failure(failure, timeout),
    );
    assert!(one_line.contains("\"welcome\""), "{one_line}");
    let report = ScenarioReport::new(
        &results[0],
        &ScenarioContext {
            file: "script.yml",
            name: "s",
            timeout,
            association: None,
        },
    );
    let words = report.failure.as_ref().expect("a failure");
    assert_eq!((&words.message, &words.summary), (&full, &one_line));
    let run = RunReport::new(jiff::Timestamp::now(), Duration::ZERO, None, vec![report]);
    let json = run.to_json();
    assert!(
        json.contains(&serde_json::to_string(&one_line).unwrap()),
        "{json}"
    );
    let xml = junit::render(&run).expect("JUnit XML");
    let document = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let message = document
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .and_then(|n| n.attribute("message"))
        .expect("a failure message");
    assert_eq!(message, one_line);
    let page = html::render(&run);
    assert!(page.contains("welcome"), "the HTML shows the failure");
}
