//! Structured JSON logs. Each request runs in a span that carries its
//! request id, so every line a request logs can be found by that id.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber; `RUST_LOG` overrides the default `info`.
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .try_init();
}
