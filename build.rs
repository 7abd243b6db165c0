//! Maps the test-only cargo features to crate-local cfgs, so that
//! `cargo test --features loom` is the whole command (no RUSTFLAGS).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(tempo_loom)");
    println!("cargo::rustc-check-cfg=cfg(tempo_shuttle)");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_FEATURE_LOOM").is_some() {
        println!("cargo::rustc-cfg=tempo_loom");
    } else if std::env::var_os("CARGO_FEATURE_SHUTTLE").is_some() {
        println!("cargo::rustc-cfg=tempo_shuttle");
    }
}
