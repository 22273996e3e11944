//! Build script: with the `datapath` feature, compiles `probe-ebpf` for
//! `bpfel-unknown-none` through aya-build and leaves the object in `OUT_DIR/probe-ebpf`,
//! where `datapath::loader` embeds it. Without the feature it does nothing, so the CLI and
//! a plain `cargo build` never need bpf-linker or the eBPF target. (Cargo compiles build
//! scripts with the package's features, the same thing as `CARGO_FEATURE_DATAPATH`.)
//!
//! Toolchain: `EBPF_TOOLCHAIN` (default `stable`), with `RUSTC_BOOTSTRAP=1` so that stable
//! accepts `-Z build-std=core`: no nightly needs to be installed or fetched.

#[cfg(feature = "datapath")]
fn main() -> aya_build::Result<()> {
    use std::env;
    use std::path::{Path, PathBuf};

    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?);
    let workspace = manifest_dir.parent().unwrap_or(&manifest_dir);
    let probe_ebpf = workspace.join("probe-ebpf");
    let probe_common = workspace.join("probe-common");
    // aya-build watches probe-ebpf itself; the shared types change the object too.
    println!("cargo:rerun-if-changed={}", probe_common.display());
    println!("cargo:rerun-if-env-changed=EBPF_TOOLCHAIN");
    if let Some(linker) = find_in_path("bpf-linker") {
        // A new bpf-linker (e.g. another LLVM) must rebuild the object.
        println!("cargo:rerun-if-changed={}", linker.display());
    }

    let toolchain = env::var("EBPF_TOOLCHAIN").unwrap_or_else(|_| "stable".to_owned());
    if env::var_os("RUSTC_BOOTSTRAP").is_none() {
        // SAFETY: the build script is single-threaded here; aya-build reads the variable
        // and the nested cargo inherits it.
        unsafe { env::set_var("RUSTC_BOOTSTRAP", "1") };
    }
    let root_dir = probe_ebpf.to_str().ok_or_else(|| {
        std::io::Error::other(format!("path {} is not UTF-8", probe_ebpf.display()))
    })?;
    let package = aya_build::Package {
        name: "probe-ebpf",
        root_dir,
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::Custom(&toolchain))?;

    fn find_in_path(program: &str) -> Option<PathBuf> {
        env::split_paths(&env::var_os("PATH")?)
            .map(|dir| dir.join(program))
            .find(|p| Path::is_file(p))
    }
    Ok(())
}

#[cfg(not(feature = "datapath"))]
fn main() {}
