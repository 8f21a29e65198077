//! Structured JSON logs. Each request runs in a span that carries its
//! request id, so every line a request logs can be found by that id.

use tracing_subscriber::EnvFilter;

/// Installs the JSON log subscriber; `RUST_LOG` overrides the default `info`.
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    install("info", false);
}

/// The same lines for `hdoc-local`, without the embedded engine's own log of
/// every 4xx it answers (a lost race is one); to stderr for a command that
/// prints its result on stdout (`import`, `reconcile`).
pub fn init_local(to_stderr: bool) {
    install("info,dynoxide=error", to_stderr);
}

fn install(default: &str, to_stderr: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false);
    let _ = if to_stderr {
        logs.with_writer(std::io::stderr).try_init()
    } else {
        logs.try_init()
    };
}
