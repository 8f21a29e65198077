//! No code: its `Cargo.toml` makes `cargo build -p hdoc-local` resolve the
//! same features as `cargo build --workspace --all-targets` (see there).
