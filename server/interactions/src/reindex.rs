//! Rebuilding the search index of stored resources: after SearchParameters
//! are created or changed (`$reindex`, `tillit reindex`), and at start-up when
//! the active parameters differ from those the index was built with.

use crate::{Error, Repository};

/// The setting that records the fingerprint of the parameters the index was built with.
const FINGERPRINT: &str = "search_index_fingerprint";

/// Resources per scan and per write transaction.
const BATCH: u32 = 500;

/// Progress of a reindex: resources done out of the total when it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Resources reindexed so far.
    pub done: u64,
    /// Current resources when the reindex started.
    pub total: u64,
}

/// Re-extracts the index rows of every current resource with the parameters
/// active now, in batches, calling `progress` after each; writes made during
/// the reindex keep their own (newer) rows. Records the fingerprint at the end.
pub async fn reindex(
    repo: &Repository,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<u64, Error> {
    let index = repo.search_index();
    let total = u64::try_from(repo.store.count_current().await?).unwrap_or(0);
    let mut state = Progress { done: 0, total };
    progress(state);
    let mut after = 0;
    loop {
        let scanned = repo.store.scan(after, BATCH).await?;
        let Some(last) = scanned.last() else {
            break;
        };
        after = last.found.rid;
        let batch = extract(&index, scanned);
        let txn = repo.store.begin().await?;
        txn.replace_index(&batch).await?;
        txn.commit().await?;
        state.done += batch.len() as u64;
        progress(state);
    }
    record(repo, &index.fingerprint()).await?;
    Ok(state.done)
}

/// Records that the stored index matches the parameters active now (for a
/// database whose every resource was indexed as it was written).
pub async fn mark_current(repo: &Repository) -> Result<(), Error> {
    record(repo, &repo.search_index().fingerprint()).await
}

async fn record(repo: &Repository, fingerprint: &str) -> Result<(), Error> {
    let txn = repo.store.begin().await?;
    txn.set_setting(FINGERPRINT, fingerprint).await?;
    txn.commit().await?;
    Ok(())
}

/// The index rows of each scanned resource.
fn extract(
    index: &crate::index::SearchIndex,
    scanned: Vec<tillit_store::Scanned>,
) -> Vec<(tillit_store::Scanned, Vec<tillit_store::IndexRow>)> {
    let mut batch = Vec::with_capacity(scanned.len());
    for s in scanned {
        let rows = match s.found.stored.content.as_deref().map(serde_json::from_str) {
            Some(Ok(resource)) => index.rows(&resource),
            _ => Vec::new(),
        };
        batch.push((s, rows));
    }
    batch
}

/// Whether the stored index was built with the parameters active now.
pub async fn is_current(repo: &Repository) -> Result<bool, Error> {
    let stored = repo.store.setting(FINGERPRINT).await?;
    Ok(stored.as_deref() == Some(repo.search_index().fingerprint().as_str()))
}

/// Loads the SearchParameters created on this server (those not in a loaded
/// package) into the active index, so they survive restarts; returns how many.
pub async fn activate_stored_parameters(repo: &Repository) -> Result<usize, Error> {
    let mut activated = 0;
    each_stored(repo, "SearchParameter", |resource| {
        let url = resource
            .get("url")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        if !repo.registry.is_package_search_parameter(url) {
            repo.activate_search_parameter(resource);
            activated += 1;
        }
    })
    .await?;
    Ok(activated)
}

/// Hands every stored current resource of `resource_type` to `f`, a page at a time.
pub(crate) async fn each_stored(
    repo: &Repository,
    resource_type: &str,
    mut f: impl FnMut(&serde_json::Value),
) -> Result<(), Error> {
    let mut query = tillit_store::SearchQuery::of_type(resource_type);
    query.count = 500;
    loop {
        let page = repo.store.search(&query).await?;
        for found in &page.matches {
            let resource = found
                .stored
                .content
                .as_deref()
                .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
            if let Some(resource) = resource {
                f(&resource);
            }
        }
        match page.next {
            Some(next) => query.cursor = Some(next),
            None => return Ok(()),
        }
    }
}

/// A reindex running in the background (`$reindex`), one at a time, with its
/// progress for status requests.
#[derive(Clone, Debug, Default)]
pub struct Job {
    state: std::sync::Arc<std::sync::Mutex<JobState>>,
}

/// Where a background reindex stands.
#[derive(Clone, Debug, Default)]
struct JobState {
    running: bool,
    progress: Progress,
    finished: Option<Result<u64, String>>,
}

impl Job {
    /// Starts a reindex of `repo` on the tokio runtime unless one is running;
    /// returns whether it started.
    pub fn start(&self, repo: Repository) -> bool {
        {
            let mut state = self.lock();
            if state.running {
                return false;
            }
            *state = JobState {
                running: true,
                ..JobState::default()
            };
        }
        let state = self.state.clone();
        tokio::spawn(async move {
            let report = |p: Progress| {
                let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                s.progress = p;
            };
            let outcome = reindex(&repo, &report).await.map_err(|e| e.to_string());
            if let Err(problem) = &outcome {
                tracing::error!(%problem, "reindex failed");
            }
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            s.running = false;
            s.finished = Some(outcome);
        });
        true
    }

    /// A Parameters resource with the state, resources done and total.
    pub fn report(&self) -> serde_json::Value {
        let state = self.lock().clone();
        let status = match (&state.finished, state.running) {
            (_, true) => "running".to_owned(),
            (Some(Ok(_)), false) => "completed".to_owned(),
            (Some(Err(problem)), false) => format!("failed: {problem}"),
            (None, false) => "idle".to_owned(),
        };
        serde_json::json!({
            "resourceType": "Parameters",
            "parameter": [
                { "name": "status", "valueString": status },
                { "name": "done", "valueInteger": state.progress.done },
                { "name": "total", "valueInteger": state.progress.total },
            ]
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, JobState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}
