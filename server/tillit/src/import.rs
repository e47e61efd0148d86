//! `tillit import`: loads transaction/batch/collection Bundles (`.json`) and
//! NDJSON files (one resource per line) straight into the database, with a
//! progress bar and a final rate.

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use tillit_interactions::{parse_json, transaction, Repository};

use crate::config::Config;
use crate::startup::{self, StartupError};

/// Resources per transaction when importing NDJSON and collections.
const CHUNK: usize = 500;

/// One unit of work: resources from one place in one file.
struct Batch {
    /// Where it came from, for error reports (`file.ndjson:12-511`).
    origin: String,
    /// A transaction or batch Bundle ready to process.
    bundle: Value,
    /// How many resources it holds.
    size: usize,
    /// The first line (NDJSON) or entry index, for per-item error reports.
    first: usize,
    /// Whether items are NDJSON lines (else Bundle entries).
    lines: bool,
    /// Whether the items are independent, so a failed batch may be retried one by one.
    splittable: bool,
}

/// Imports every file under `paths`; bad entries are reported and skipped
/// unless `stop_on_error`.
pub async fn import(
    config: &Config,
    paths: &[PathBuf],
    stop_on_error: bool,
) -> Result<(), StartupError> {
    let repo = startup::repository(config).await?;
    let files = collect_files(paths)?;
    let mut batches = Vec::new();
    for file in &files {
        batches.extend(read_batches(file).map_err(StartupError::Other)?);
    }
    let total: usize = batches.iter().map(|b| b.size).sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} resources ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let (mut imported, mut failed) = (0usize, 0usize);
    for batch in batches {
        match transaction::process(&repo, batch.bundle.clone(), true).await {
            Ok(_) => imported += batch.size,
            Err(err) if batch.splittable && batch.size > 1 && !stop_on_error => {
                // Retry entry by entry to report exactly which ones are bad.
                let (ok, bad) = import_one_by_one(&repo, &batch, &bar).await;
                tracing::debug!(origin = %batch.origin, %err, "batch failed; retried entry by entry");
                imported += ok;
                failed += bad;
            }
            Err(err) => {
                failed += batch.size;
                bar.suspend(|| eprintln!("{}: {}", batch.origin, describe(&err)));
                if stop_on_error {
                    bar.abandon();
                    return Err(StartupError::Other(format!(
                        "import stopped at {}",
                        batch.origin
                    )));
                }
            }
        }
        bar.set_position((imported + failed) as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "imported {imported} resources from {} files in {seconds:.1} s ({:.0} resources/s); {failed} failed",
        files.len(),
        imported as f64 / seconds.max(1e-9)
    );
    repo.store.close().await;
    Ok(())
}

async fn import_one_by_one(repo: &Repository, batch: &Batch, bar: &ProgressBar) -> (usize, usize) {
    let entries = batch.bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let (mut ok, mut bad) = (0, 0);
    for (offset, entry) in entries.into_iter().enumerate() {
        let single = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [entry] });
        match transaction::process(repo, single, true).await {
            Ok(_) => ok += 1,
            Err(err) => {
                bad += 1;
                let place = if batch.lines { "line" } else { "entry" };
                let file = batch.origin.split(':').next().unwrap_or_default();
                bar.suspend(|| {
                    eprintln!(
                        "{file}: {place} {}: {}",
                        batch.first + offset,
                        describe(&err)
                    )
                });
            }
        }
    }
    (ok, bad)
}

fn describe(err: &tillit_interactions::Error) -> String {
    err.issues()
        .iter()
        .map(|i| match &i.expression {
            Some(at) => format!("{} (at {at})", i.diagnostics),
            None => i.diagnostics.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn collect_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, StartupError> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| StartupError::Other(format!("{}: {e}", path.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|e| e.to_str()),
                        Some("json" | "ndjson")
                    )
                })
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn read_batches(file: &Path) -> Result<Vec<Batch>, String> {
    let text = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let name = file.display().to_string();
    if file.extension().and_then(|e| e.to_str()) == Some("ndjson") {
        return ndjson_batches(&name, &text);
    }
    let value = parse_json(&text).map_err(|e| format!("{name}: {}", describe(&e)))?;
    Ok(bundle_batches(&name, value))
}

fn ndjson_batches(name: &str, text: &[u8]) -> Result<Vec<Batch>, String> {
    let mut batches = Vec::new();
    let mut entries = Vec::new();
    let mut first = 1;
    for (index, line) in text.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let resource = serde_json::from_slice::<Value>(line)
            .map_err(|e| format!("{name}: line {}: not valid JSON: {e}", index + 1))?;
        if entries.is_empty() {
            first = index + 1;
        }
        entries.push(entry_for(resource));
        if entries.len() == CHUNK {
            batches.push(batch(name, std::mem::take(&mut entries), first, true));
        }
    }
    if !entries.is_empty() {
        batches.push(batch(name, entries, first, true));
    }
    Ok(batches)
}

/// A transaction Bundle runs as it is; a batch Bundle's entries and any other
/// Bundle's resources (or a single resource) run as transactions of [`CHUNK`].
fn bundle_batches(name: &str, value: Value) -> Vec<Batch> {
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if value.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return vec![batch(name, vec![entry_for(value)], 0, false)];
    }
    let entries = value
        .get("entry")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if kind == "transaction" {
        let size = entries.len();
        let origin = format!("{name}: transaction Bundle");
        return vec![Batch {
            origin,
            bundle: value,
            size,
            first: 0,
            lines: false,
            splittable: false,
        }];
    }
    entries
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            // Batch entries keep their own requests; other Bundles' resources are stored.
            let items = chunk
                .iter()
                .filter_map(|e| match kind.as_str() {
                    "batch" => Some(e.clone()),
                    _ => e.get("resource").cloned().map(entry_for),
                })
                .collect();
            batch(name, items, i * CHUNK, false)
        })
        .collect()
}

/// A transaction entry storing `resource`: PUT with its id, POST without.
fn entry_for(resource: Value) -> Value {
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or("Unknown")
        .to_owned();
    let request = match resource.get("id").and_then(Value::as_str) {
        Some(id) => json!({ "method": "PUT", "url": format!("{resource_type}/{id}") }),
        None => json!({ "method": "POST", "url": resource_type }),
    };
    json!({ "resource": resource, "request": request })
}

fn batch(name: &str, entries: Vec<Value>, first: usize, lines: bool) -> Batch {
    let size = entries.len();
    let place = if lines { "lines" } else { "entries" };
    Batch {
        origin: format!("{name}: {place} {first}-{}", first + size.saturating_sub(1)),
        bundle: json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries }),
        size,
        first,
        lines,
        splittable: true,
    }
}
