//! Memory per held guest: what one connected guest keeps on the heap while it waits, measured
//! with a counting allocator (this test binary's only), against `web-messaging-tester simulate`
//! in another process (so the simulator's side of each connection is not counted).
//!
//! `load` holds one such guest per user, for the whole conversation: this heap, times the
//! guests, is most of the client's memory (BENCHMARKS.md, "Memory per held guest"). The bound
//! is a guard against regressions, with a margin over what was measured, not the target itself.

use genesys_web_messaging::{Conversation, ConversationOptions, SessionConfig};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use std::time::Duration;

mod common;
mod load_files;
use common::SimulatorProcess;

#[global_allocator]
static HEAP: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Guests held at once: enough for the fixed costs (runtime, TLS roots) to stand apart.
const GUESTS: usize = 200;

/// Heap bytes one held guest may keep: 13.9 KiB measured (2026-11-26, debug build), with a
/// margin of 6 KiB for ordinary growth. Back to tungstenite's default 128 KiB read buffer, or
/// a second copy of the socket, fails it.
const MAX_HEAP_PER_GUEST: usize = 20 * 1024;

/// Bytes on the heap now.
fn live_heap() -> usize {
    let stats = HEAP.stats();
    stats
        .bytes_allocated
        .saturating_sub(stats.bytes_deallocated)
}

/// Allocations on the heap now.
fn live_allocations() -> usize {
    let stats = HEAP.stats();
    stats.allocations.saturating_sub(stats.deallocations)
}

/// One guest as `load` holds it: connected, session started, one exchange with the bot, and
/// now waiting.
async fn held_guest(url: &str) -> Conversation {
    let timeout = Duration::from_secs(30);
    let options = ConversationOptions {
        say_delay: Duration::ZERO,
        ..ConversationOptions::default()
    };
    let mut conversation =
        Conversation::connect(SessionConfig::for_endpoint("memory", url), options)
            .await
            .expect("connects");
    conversation.wait_for_start(timeout).await.expect("starts");
    conversation.say("ping").await.expect("says ping");
    conversation
        .wait_for_reply_containing("pong", timeout)
        .await
        .expect("the bot answers");
    conversation
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_guest_keeps_a_small_heap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let simulator =
        SimulatorProcess::start(common::write(dir.path(), "bot.yml", load_files::PING_BOT));
    let url = simulator.url().to_string();
    // One guest first, for what every process sets up once (TLS roots, the runtime's drivers).
    held_guest(&url).await.close().await;

    let (heap_before, allocations_before) = (live_heap(), live_allocations());
    let mut guests = Vec::with_capacity(GUESTS);
    for _ in 0..GUESTS {
        guests.push(held_guest(&url).await);
    }
    let heap = live_heap().saturating_sub(heap_before) / GUESTS;
    let allocations = live_allocations().saturating_sub(allocations_before) / GUESTS;
    eprintln!("a held guest: {heap} heap bytes in {allocations} allocations");
    for guest in guests {
        guest.close().await;
    }
    drop(simulator);
    assert!(
        heap <= MAX_HEAP_PER_GUEST,
        "a held guest keeps {heap} bytes on the heap, over the bound of {MAX_HEAP_PER_GUEST}"
    );
}
