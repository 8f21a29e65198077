//! Structured JSON logs. Each request runs in a span that carries its
//! request id, so every line a request logs can be found by that id.

use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

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

/// `RUST_LOG` is read as a list of `target=level` and a bare default level
/// (`info`, `debug,aws_smithy_runtime=trace`), tracing's `Targets` syntax.
/// Not its `EnvFilter`: span and field filters are not needed here, and the
/// regular expressions they bring are 0.8 MB of every bootstrap
/// (docs/performance.md). A `RUST_LOG` that does not parse is reported and
/// the default used.
fn install(default: &str, to_stderr: bool) {
    let requested = std::env::var("RUST_LOG")
        .ok()
        .filter(|spec| !spec.is_empty());
    let parsed = requested.as_deref().map(str::parse::<Targets>);
    let filter = match &parsed {
        Some(Ok(filter)) => filter.clone(),
        _ => default.parse().unwrap_or_default(),
    };
    let logs = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false);
    let installed = if to_stderr {
        logs.with_writer(std::io::stderr)
            .finish()
            .with(filter)
            .try_init()
    } else {
        logs.finish().with(filter).try_init()
    };
    if let (Ok(()), Some(Err(error))) = (installed, parsed) {
        tracing::warn!(%error, "RUST_LOG does not parse; logging at the default level");
    }
}
