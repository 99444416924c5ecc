//! Gives the shared library a SONAME with the major version (`libgateway.so.0`), so that programs linked
//! against it keep loading the same ABI after an upgrade and the library can be installed the usual way
//! (`libgateway.so.0.1.0`, `libgateway.so.0 ->`, `libgateway.so ->`).
//!
//! Why here and not in `.cargo/config.toml` or `RUSTFLAGS`: `rustc-cdylib-link-arg` reaches only the cdylib,
//! not the CLI binary or the test executables, it travels with the package (a config file in the repository
//! is ignored when the crate is built as a dependency or from another folder), and it leaves the user's own
//! `RUSTFLAGS` alone.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    match os.as_str() {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" | "illumos" | "solaris" => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libgateway.so.{major}");
        }
        "macos" => println!("cargo:rustc-cdylib-link-arg=-Wl,-install_name,@rpath/libgateway.{major}.dylib"),
        // Windows: a DLL is found by its file name (gateway.dll); it has no SONAME.
        _ => {}
    }
}
