//! A conversation with the simulated survey bot, as you would write one in your own tests.
//!
//! Run it with `cargo run -p genesys-web-messaging --example survey`. To talk to a real
//! deployment instead, build the config with `SessionConfig::for_region(id, "mypurecloud.ie")`.

use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
use std::time::Duration;
use web_messaging_simulator::{BotFlow, Simulator};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/survey/bot.yml");
    let simulator = Simulator::start(BotFlow::from_file(bot.as_ref())?).await?;

    let config = SessionConfig::for_endpoint("my-deployment", &simulator.url())
        .custom_attribute("IsAutomatedTest", "true");
    // The simulator does not drop messages sent right after a reply: no need to pace `say`.
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let timeout = Duration::from_secs(10);
    let mut conversation = Conversation::connect(config, options).await?;
    conversation.wait_for_start(timeout).await?;
    conversation.say("hi").await?;
    conversation
        .wait_for_reply_containing("Can we ask you some questions", timeout)
        .await?;
    conversation.say("No").await?;
    conversation
        .wait_for_reply_containing("Maybe next time", timeout)
        .await?;
    conversation.wait_for_disconnect(timeout).await?;
    for line in &conversation.transcript().lines {
        println!("{} {:?}: {}", line.time, line.speaker, line.text);
    }
    conversation.close().await;
    simulator.shutdown().await;
    Ok(())
}
