//! Writes the demo data set as transaction Bundle files, for ingest benchmarks.
//!
//! `cargo run --release -p tillit-demo --example write_bundles -- 1000 target/perf/bundles`

use tillit_demo::{transaction_bundles, DemoSize};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let patients = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let dir = std::path::PathBuf::from(args.next().unwrap_or_else(|| "target/perf/bundles".into()));
    std::fs::create_dir_all(&dir)?;
    let mut resources = 0;
    for (i, bundle) in transaction_bundles(&DemoSize { patients })
        .iter()
        .enumerate()
    {
        resources += bundle["entry"].as_array().map_or(0, Vec::len);
        std::fs::write(dir.join(format!("bundle-{i:04}.json")), bundle.to_string())?;
    }
    println!(
        "{resources} resources for {patients} patients in {}",
        dir.display()
    );
    Ok(())
}
