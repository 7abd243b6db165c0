//! Maps the test-only cargo features to crate-local cfgs, so that
//! `cargo test --features loom` is the whole command (no RUSTFLAGS), and
//! selects a seeded bug (`TEMPO_MUTANT=name`, see VERIFICATION.md and
//! `scripts/mutants.sh`) without rebuilding any dependency.

/// The seeded bugs; each is one `#[cfg(tempo_mutant = "...")]` site in `src/`.
const MUTANTS: &[&str] = &[
    "wake_load_store",
    "relaxed_state",
    "signal_cleared_at_start",
    "park_after_release",
    "wake_pushes_posted",
    "deadline_strict",
    "shutdown_forgets_parked",
    "double_output_drop",
    "readiness_clear_without_tick",
    "readiness_no_recheck",
];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(tempo_loom)");
    println!("cargo::rustc-check-cfg=cfg(tempo_shuttle)");
    let values: Vec<String> = MUTANTS.iter().map(|m| format!("\"{m}\"")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(tempo_mutant, values({}))",
        values.join(", ")
    );
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=TEMPO_MUTANT");
    if std::env::var_os("CARGO_FEATURE_LOOM").is_some() {
        println!("cargo::rustc-cfg=tempo_loom");
    } else if std::env::var_os("CARGO_FEATURE_SHUTTLE").is_some() {
        println!("cargo::rustc-cfg=tempo_shuttle");
    }
    if let Ok(m) = std::env::var("TEMPO_MUTANT") {
        if !m.is_empty() {
            assert!(
                MUTANTS.contains(&m.as_str()),
                "TEMPO_MUTANT={m:?} is not a seeded bug; known: {MUTANTS:?}"
            );
            println!("cargo::rustc-cfg=tempo_mutant=\"{m}\"");
            println!("cargo::warning=tempo is built with the seeded bug {m:?} (TEMPO_MUTANT): for mutation testing only");
        }
    }
}
