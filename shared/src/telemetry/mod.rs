//! Logs, metrics and traces, the same in Lambda and in `hdoc-local`
//! (docs/operations.md says what each field and metric means).
//!
//! | file | holds |
//! |---|---|
//! | `counts.rs` | business counts, and why a request failed (the HTTP edge's `observe` layer writes both on the request's lines) |
//! | `emf.rs` | CloudWatch embedded metric format lines, and every metric's name |
//! | `xray.rs` | X-Ray subsegments of each DynamoDB and S3 call, sent to the X-Ray daemon |
//!
//! Everything is written to one output, stdout in Lambda (which sends it to
//! CloudWatch Logs), as JSON lines: a blocking write of a few hundred bytes,
//! as any log line is, and nothing else on the request path.

mod counts;
pub mod emf;
pub mod xray;

pub(crate) use counts::counted;
pub use counts::{Failure, chain, count};

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Where the telemetry lines go.
#[derive(Clone, Debug, Default)]
pub enum Sink {
    /// Nowhere: telemetry was not installed ([`init`], [`init_local`]), as
    /// when the routers and jobs run inside tests.
    #[default]
    Off,
    /// The function's output: CloudWatch Logs in Lambda.
    Stdout,
    /// For a command that prints its result on stdout (`hdoc-local import`).
    Stderr,
    /// Kept in memory, for tests.
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Sink {
    /// A sink that keeps its lines, and the lines it keeps.
    pub fn memory() -> (Self, Arc<Mutex<Vec<String>>>) {
        let lines = Arc::default();
        (Self::Memory(Arc::clone(&lines)), lines)
    }

    /// Writes `line` and a newline in one write, so that lines never interleave.
    pub fn write_line(&self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        // A log that cannot be written is no reason to fail a request.
        let _ = match self {
            Self::Off => Ok(()),
            Self::Stdout => std::io::stdout().lock().write_all(&bytes),
            Self::Stderr => std::io::stderr().lock().write_all(&bytes),
            Self::Memory(lines) => {
                lines
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(line.to_owned());
                Ok(())
            }
        };
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Sink {
    type Writer = SinkWriter;

    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter {
            sink: self.clone(),
            buffer: Vec::new(),
        }
    }
}

/// One log event's bytes, written to the sink when the event is formatted.
pub struct SinkWriter {
    sink: Sink,
    buffer: Vec<u8>,
}

impl Write for SinkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SinkWriter {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.buffer);
        let line = text.trim_end_matches('\n');
        if !line.is_empty() {
            self.sink.write_line(line);
        }
    }
}

/// What every line says about the process that wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// `AWS_LAMBDA_FUNCTION_NAME`, or `hdoc-local`.
    pub function: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION` (`$LATEST` or a number), or `local`.
    pub version: String,
    /// `HDOC_STAGE` (`local` when unset).
    pub stage: String,
}

impl Process {
    /// From any key lookup (the environment, or a test's map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            function: get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "hdoc-local".to_owned()),
            version: get("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "local".to_owned()),
            stage: get("HDOC_STAGE").unwrap_or_else(|| "local".to_owned()),
        }
    }
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|value| !value.is_empty())
}

static PROCESS: OnceLock<Process> = OnceLock::new();
static SINK: OnceLock<Sink> = OnceLock::new();

/// This process, as read from the environment once.
pub fn process() -> &'static Process {
    PROCESS.get_or_init(|| Process::from_lookup(env))
}

/// The output every telemetry line of this process goes to: stdout in
/// Lambda, stdout or stderr in `hdoc-local` ([`init_local`]), nowhere until
/// one of those installed telemetry.
pub fn sink() -> &'static Sink {
    SINK.get_or_init(Sink::default)
}

/// The log filter: `AWS_LAMBDA_LOG_LEVEL` (what Lambda's logging
/// configuration sets), else `RUST_LOG`, else `default`; and the setting
/// that did not parse, if one did not (then `default` is used).
///
/// `RUST_LOG` is read as a list of `target=level` and a bare default level
/// (`info`, `debug,aws_smithy_runtime=trace`), tracing's `Targets` syntax.
/// Not its `EnvFilter`: span and field filters are not needed here, and the
/// regular expressions they bring are 0.8 MB of every bootstrap
/// (docs/performance.md).
pub fn filter(get: impl Fn(&str) -> Option<String>, default: &str) -> (Targets, Option<String>) {
    let requested = match get("AWS_LAMBDA_LOG_LEVEL") {
        // Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL.
        Some(level) if level.eq_ignore_ascii_case("fatal") => Some("error".to_owned()),
        Some(level) => Some(level.to_ascii_lowercase()),
        None => get("RUST_LOG"),
    };
    match requested.as_deref().map(str::parse::<Targets>) {
        Some(Ok(filter)) => (filter, None),
        parsed => (default.parse().unwrap_or_default(), parsed.and(requested)),
    }
}

/// Installs the JSON log subscriber of a Lambda function (stdout).
/// Safe to call more than once (later calls do nothing).
pub fn init() {
    install("info", Sink::Stdout);
}

/// The same lines for `hdoc-local`, without the embedded engine's own log of
/// every 4xx it answers (a lost race is one); to stderr for a command that
/// prints its result on stdout (`import`, `reconcile`).
pub fn init_local(to_stderr: bool) {
    install(
        "info,dynoxide=error",
        if to_stderr {
            Sink::Stderr
        } else {
            Sink::Stdout
        },
    );
}

fn install(default: &str, sink: Sink) {
    let sink = SINK.get_or_init(|| sink).clone();
    let (filter, unparsed) = filter(env, default);
    let installed = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(sink)
        .finish()
        .with(filter)
        .try_init();
    if let (Ok(()), Some(setting)) = (installed, unparsed) {
        tracing::warn!(
            setting,
            "the log level does not parse; logging at the default level"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key| map.get(key).cloned()
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        let of = |pairs: &[(&str, &str)]| {
            let (filter, unparsed) = filter(lookup(pairs), "info");
            (filter.to_string(), unparsed)
        };
        let warn = of(&[("AWS_LAMBDA_LOG_LEVEL", "WARN"), ("RUST_LOG", "debug")]);
        assert_eq!(warn, ("warn".to_owned(), None));
        assert_eq!(of(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]).0, "error");
        assert_eq!(of(&[("RUST_LOG", "debug")]).0, "debug");
        assert_eq!(
            of(&[("RUST_LOG", "info,aws_smithy_runtime=trace")]).0,
            "aws_smithy_runtime=trace,info"
        );
        assert_eq!(of(&[]), ("info".to_owned(), None));
        // A setting that does not parse is reported, and the default used.
        assert_eq!(
            of(&[("RUST_LOG", "hdoc=loud")]),
            ("info".to_owned(), Some("hdoc=loud".to_owned()))
        );
    }

    #[test]
    fn the_process_is_named_by_lambda_or_is_hdoc_local() {
        let lambda = Process::from_lookup(lookup(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "hdoc-backend-dev-users"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("HDOC_STAGE", "dev"),
        ]));
        assert_eq!(lambda.function, "hdoc-backend-dev-users");
        assert_eq!(lambda.version, "$LATEST");
        assert_eq!(lambda.stage, "dev");
        let local = Process::from_lookup(lookup(&[]));
        assert_eq!(
            (
                local.function.as_str(),
                local.version.as_str(),
                local.stage.as_str()
            ),
            ("hdoc-local", "local", "local")
        );
    }
}
