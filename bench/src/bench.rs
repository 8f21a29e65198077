//! The cold-start benchmark: every function's release bootstrap and a
//! hello-world `lambda_http` bootstrap, started again and again under a model
//! of Lambda's CPU share, timed from the outside (docs/performance.md).

use crate::lambda::{Instance, Throttle};
use crate::quota::CpuQuota;
use crate::runtime::Outcome;
use crate::script::{self, Expect};
use crate::store::{Reading, Stores};
use crate::template::{self, Function};
use axum::body::Bytes;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The name of the floor's binary (bench/src/bin/hello-world.rs).
const HELLO: &str = "hello-world";

/// What one function is measured with: the event it answers, and how.
fn workload(binary: &str) -> Option<(&'static str, Expect)> {
    Some(match binary {
        HELLO | "users" => ("users-get.json", Expect::Status(200)),
        "leaderboard" => ("leaderboard-get.json", Expect::Status(200)),
        "articles" => ("articles-get.json", Expect::Status(200)),
        "tags" => ("tags-get.json", Expect::Status(200)),
        "reviews" => ("reviews-get.json", Expect::Status(200)),
        "ratings" => ("ratings-get.json", Expect::Status(200)),
        // alice's profile is no tombstone: one consistent read, nothing to purge.
        "purge-user" => ("purge-user-stream.json", Expect::Done),
        // A whole recount of the seeded table.
        "reconcile" => ("reconcile-schedule.json", Expect::Done),
        // alice's events from the stand-in GitHub (a 304 once warm).
        "activity" => ("activity-schedule.json", Expect::Done),
        _ => return None,
    })
}

/// Lambda's CPU share at a memory size: a full core at 1,769 MB, in proportion below.
fn share(memory_mb: u64) -> f64 {
    match memory_mb {
        128 => 0.08,
        256 => 0.143,
        mb => (mb as f64 / 1769.0).min(1.0),
    }
}

#[derive(Debug)]
pub struct Options {
    bin_dir: Option<PathBuf>,
    runs: usize,
    warm: usize,
    gap: Duration,
    /// Memory sizes; `None` is no CPU limit at all.
    models: Vec<Option<u64>>,
    only: Option<Vec<String>>,
    period: Duration,
    max_per_case: Duration,
}

impl Options {
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            bin_dir: None,
            runs: 20,
            warm: 5,
            gap: Duration::from_millis(10),
            models: vec![Some(256), Some(128)],
            only: None,
            period: Duration::from_millis(100),
            max_per_case: Duration::from_secs(60),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            let number = |v: &String| v.parse::<u64>().map_err(|e| format!("{arg} {v}: {e}"));
            match arg.as_str() {
                "--bin-dir" => options.bin_dir = Some(value()?.into()),
                "--runs" => options.runs = number(value()?)? as usize,
                "--warm" => options.warm = number(value()?)? as usize,
                "--gap-ms" => options.gap = Duration::from_millis(number(value()?)?),
                "--period-ms" => options.period = Duration::from_millis(number(value()?)?),
                "--max-seconds" => options.max_per_case = Duration::from_secs(number(value()?)?),
                "--models" => {
                    options.models = value()?
                        .split(',')
                        .map(|m| match m {
                            "full" => Ok(None),
                            mb => mb
                                .parse()
                                .map(Some)
                                .map_err(|e| format!("--models {mb}: {e}")),
                        })
                        .collect::<Result<_, _>>()?
                }
                "--only" => options.only = Some(value()?.split(',').map(str::to_owned).collect()),
                other => return Err(format!("unknown argument {other}")),
            }
        }
        if options.runs == 0 {
            return Err("--runs must be at least 1".into());
        }
        Ok(options)
    }
}

/// The figures of one bootstrap at one memory size.
#[derive(Debug, Default)]
struct Figures {
    binary: String,
    size: u64,
    init: Vec<Duration>,
    first: Vec<Duration>,
    /// The first answer's engine time and round trips (the last run's).
    first_engine: Reading,
    warm: Vec<Duration>,
    warm_engine_excluded: Vec<Duration>,
    peak_rss: u64,
    throttled: Duration,
}

pub async fn run(options: Options) -> Result<(), String> {
    let bin_dir = match &options.bin_dir {
        Some(dir) => dir.clone(),
        None => crate::default_bin_dir()?,
    };
    let functions = template::functions(&crate::template_path())?;
    let mut cases: Vec<(String, Function)> = Vec::new();
    let users = functions
        .iter()
        .find(|f| f.binary == "users")
        .ok_or("template.yaml has no users function")?;
    // The floor gets the users function's environment; it reads none of it.
    cases.push((HELLO.to_owned(), users.clone()));
    for function in &functions {
        if workload(&function.binary).is_some() {
            cases.push((function.binary.clone(), function.clone()));
        } else {
            println!("(no workload for {}: not measured)", function.binary);
        }
    }
    if let Some(only) = &options.only {
        cases.retain(|(binary, _)| binary == HELLO || only.contains(binary));
    }
    for (binary, _) in &cases {
        let path = bin_dir.join(binary);
        if !path.exists() {
            return Err(format!(
                "{} is missing: cargo build --release --workspace --bins",
                path.display()
            ));
        }
    }

    let dir = crate::scratch("bench")?;
    let stores = Stores::start(&dir)
        .await
        .map_err(|e| format!("starting the stores: {e}"))?;
    // What the workloads read, written by the functions themselves.
    let mut seeder = script::Runner::new(&functions, &bin_dir, &stores, &dir);
    let seeded = seeder.run(script::SEED).await;
    seeder.stop().await;
    seeded.map_err(|e| format!("seeding: {e}"))?;

    let quota = match options.models.iter().any(Option::is_some) {
        true => Some(Arc::new(CpuQuota::create(options.period)?)),
        false => None,
    };
    println!(
        "bench: {} runs (cold start + {} warm invocations {:?} apart) per bootstrap and model, \
         CFS period {:?}, bootstraps from {}",
        options.runs,
        options.warm,
        options.gap,
        options.period,
        bin_dir.display()
    );
    for model in &options.models {
        let throttle = match (model, &quota) {
            (Some(mb), Some(quota)) => Some(Throttle {
                quota: quota.clone(),
                share: share(*mb),
            }),
            _ => None,
        };
        let mut table = Vec::new();
        for (binary, function) in &cases {
            let memory = model.unwrap_or(function.memory_mb);
            let figures = measure(
                &options,
                &bin_dir,
                binary,
                function,
                memory,
                &stores,
                throttle.as_ref(),
                &dir,
            )
            .await?;
            table.push(figures);
        }
        print_table(*model, &table, &options);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    options: &Options,
    bin_dir: &std::path::Path,
    binary: &str,
    function: &Function,
    memory_mb: u64,
    stores: &Stores,
    throttle: Option<&Throttle>,
    dir: &std::path::Path,
) -> Result<Figures, String> {
    let (file, expect) = workload(binary).ok_or(format!("no workload for {binary}"))?;
    let event = script::event(file)?;
    let path = bin_dir.join(binary);
    let mut figures = Figures {
        binary: binary.to_owned(),
        size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
        ..Figures::default()
    };
    let started = Instant::now();
    let throttled_before = throttle.map(|t| t.quota.throttled().1).unwrap_or_default();
    for _ in 0..options.runs {
        let log = dir.join(format!("{binary}.log"));
        let mut instance =
            Instance::cold_start(&path, function, memory_mb, stores, throttle, log).await?;
        figures.init.push(instance.init);
        let before = stores.meter.read();
        let (took, _) = invoke(&mut instance, binary, file, event.clone(), expect).await?;
        figures.first.push(took);
        figures.first_engine = stores.meter.read() - before;
        for _ in 0..options.warm {
            tokio::time::sleep(options.gap).await;
            let before = stores.meter.read();
            let (took, _) = invoke(&mut instance, binary, file, event.clone(), expect).await?;
            let engine = (stores.meter.read() - before).engine;
            figures.warm.push(took);
            figures
                .warm_engine_excluded
                .push(took.saturating_sub(engine));
        }
        figures.peak_rss = figures.peak_rss.max(instance.peak_rss().unwrap_or(0));
        instance.stop().await;
        if started.elapsed() > options.max_per_case {
            break;
        }
    }
    if let Some(t) = throttle {
        figures.throttled = t.quota.throttled().1.saturating_sub(throttled_before);
    }
    Ok(figures)
}

async fn invoke(
    instance: &mut Instance,
    binary: &str,
    file: &str,
    event: Bytes,
    expect: Expect,
) -> Result<(Duration, Outcome), String> {
    let (outcome, took) = instance.invoke(event).await?;
    // The floor answers 200 to anything; the functions must answer as expected,
    // or the figures would be those of an error path.
    script::check(&format!("{binary} {file}"), &outcome, expect)?;
    Ok((took, outcome))
}

/// The `p`-th percentile (nearest rank) of `samples`.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn ratio(value: f64, floor: f64) -> String {
    if floor > 0.0 {
        format!("{:.1}x", value / floor)
    } else {
        "-".into()
    }
}

fn print_table(model: Option<u64>, table: &[Figures], options: &Options) {
    let title = match model {
        Some(mb) => format!(
            "{mb} MB model: {:.1}% of a core after Init (CFS quota, period {:?})",
            share(mb) * 100.0,
            options.period
        ),
        None => "no CPU limit".to_owned(),
    };
    println!("\n### {title}\n");
    println!(
        "| bootstrap | size MB | x | peak RSS MB | x | Init p50 ms | x | first answer p50 / p99 ms | x | \
         first: DynamoDB calls, engine ms | warm p50 / p99 ms (engine excl.) | x | throttled s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let Some(floor) = table.iter().find(|f| f.binary == HELLO) else {
        return;
    };
    let mb = |bytes: u64| bytes as f64 / 1_000_000.0;
    let secs = |d: Duration| d.as_secs_f64();
    for f in table {
        let (init, first, warm) = (
            percentile(&f.init, 0.5),
            percentile(&f.first, 0.5),
            percentile(&f.warm_engine_excluded, 0.5),
        );
        println!(
            "| {} | {:.2} | {} | {:.1} | {} | {} | {} | {} / {} | {} | {}, {} | {} / {} | {} | {:.2} |",
            f.binary,
            mb(f.size),
            ratio(mb(f.size), mb(floor.size)),
            mb(f.peak_rss),
            ratio(mb(f.peak_rss), mb(floor.peak_rss)),
            ms(init),
            ratio(secs(init), secs(percentile(&floor.init, 0.5))),
            ms(first),
            ms(percentile(&f.first, 0.99)),
            ratio(secs(first), secs(percentile(&floor.first, 0.5))),
            f.first_engine.requests,
            ms(f.first_engine.engine),
            ms(warm),
            ms(percentile(&f.warm_engine_excluded, 0.99)),
            ratio(
                secs(warm),
                secs(percentile(&floor.warm_engine_excluded, 0.5))
            ),
            f.throttled.as_secs_f64(),
        );
    }
    let samples = table.first().map_or(0, |f| f.first.len());
    println!(
        "\n({samples} cold starts per bootstrap; warm: {} samples; sizes are the files as built, x86_64 here)",
        table.first().map_or(0, |f| f.warm.len())
    );
}
