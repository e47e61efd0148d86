//! End to end with real clients: the SMART on FHIR Python client (`fhirclient`,
//! installed once from PyPI into `target/python`) drives the server through
//! `tests/e2e/fhirclient_smoke.py`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::db_test;
use crate::support::unique;

/// The folder holding `fhirclient`, installed on first use.
fn python_packages() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/python");
        if !dir.join("fhirclient").exists() {
            let status = Command::new("python3")
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--target",
                ])
                .arg(&dir)
                .arg("fhirclient==4.4.0")
                .status()
                .expect("python3 with pip is needed for the end-to-end tests");
            assert!(status.success(), "pip install fhirclient failed");
        }
        dir
    })
}

db_test!(the_python_fhirclient_works_end_to_end, |srv| {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/e2e/fhirclient_smoke.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&srv.base)
        .arg(unique("py"))
        .env("PYTHONPATH", python_packages())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("fhirclient end-to-end: ok"));
});
