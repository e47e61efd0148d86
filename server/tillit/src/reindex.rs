//! `tillit reindex`: rebuilds the search index of every stored resource with
//! the search parameters active now, showing progress.

use indicatif::{ProgressBar, ProgressStyle};
use tillit_interactions::reindex;

use crate::config::Config;
use crate::startup::{self, StartupError};

/// Opens the database, reindexes it and reports the count.
pub async fn run(config: &Config) -> Result<(), StartupError> {
    let repo = startup::repository(config).await?;
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} resources ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let done = reindex::reindex(&repo, &|p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    })
    .await?;
    bar.finish_and_clear();
    eprintln!("reindexed {done} resources");
    repo.store.close().await;
    Ok(())
}
