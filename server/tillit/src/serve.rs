//! `tillit serve` and `tillit demo`: run the HTTP server until SIGTERM or
//! Ctrl-C, finishing in-flight requests before exiting.

use tillit_http::{app, install_metrics, HttpOptions};

use crate::config::Config;
use crate::{demo, startup};

/// Serves the API; with `demo_patients`, seeds the demo data set first.
pub async fn serve(
    config: &Config,
    demo_patients: Option<usize>,
) -> Result<(), startup::StartupError> {
    if config.auth_off {
        tracing::warn!(
            "AUTHENTICATION IS OFF: every client can read and write everything. \
             Use this open mode only for sandboxes, demos and tests."
        );
    }
    let metrics = install_metrics();
    let mut repo = startup::repository(config).await?;
    if let (Some(folder), Some(terminology)) =
        (config.snomed.clone(), repo.validation.terminology.clone())
    {
        // Seconds of work for a full release: the server answers meanwhile,
        // and SNOMED CT codes once it is in.
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match tillit_terminology::rf2::import(&folder) {
                Ok(snomed) => {
                    let (concepts, version) = (snomed.concepts.len(), snomed.version.clone());
                    terminology.add_code_system(snomed);
                    tracing::info!(
                        concepts,
                        version,
                        seconds = started.elapsed().as_secs_f64(),
                        "SNOMED CT imported"
                    );
                }
                Err(error) => tracing::error!(%error, "SNOMED CT could not be imported"),
            }
        });
    }
    let text = tillit_interactions::text::TextIndex::open(Some(&config.data_dir.join("fulltext")))
        .map_err(|e| startup::StartupError::Other(format!("full-text index: {e}")))?;
    let text = std::sync::Arc::new(text);
    text.follow(repo.store.clone(), std::time::Duration::from_secs(2));
    repo.text = Some(text);
    if let Some(patients) = demo_patients {
        demo::seed(&repo, patients).await?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| {
            startup::StartupError::Other(format!("cannot listen on {}: {e}", config.listen))
        })?;
    let router = app(
        repo.clone(),
        &HttpOptions {
            body_limit: config.body_limit,
        },
        metrics,
    );
    tracing::info!(listen = %config.listen, base = %config.base_url, "tillit is serving");
    if demo_patients.is_some() {
        demo::print_urls(&config.base_url);
    }
    tillit_http::serve(listener, router, shutdown_signal())
        .await
        .map_err(|e| startup::StartupError::Other(format!("server failed: {e}")))?;
    tracing::info!("in-flight requests finished; closing the database");
    repo.store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
