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
    if let Some(terminology) = repo.validation.terminology.clone() {
        import_code_systems(config, &terminology);
    }
    // Definitions other replicas write reach this one through the change feed.
    tillit_interactions::definitions::follow(repo.clone(), std::time::Duration::from_secs(2));
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

/// Imports the code systems the configuration names from their releases
/// (SNOMED CT, LOINC) in the background: seconds of work for a full
/// release, during which the server answers, with the codes once they are in.
fn import_code_systems(
    config: &Config,
    terminology: &std::sync::Arc<tillit_terminology::Terminology>,
) {
    type Import = Box<dyn FnOnce() -> Result<tillit_terminology::CodeSystem, String> + Send>;
    let mut imports: Vec<(&str, Import)> = Vec::new();
    if let Some(folder) = config.snomed.clone() {
        imports.push((
            "SNOMED CT",
            Box::new(move || tillit_terminology::rf2::import(&folder).map_err(|e| e.to_string())),
        ));
    }
    if let Some(table) = config.loinc.clone() {
        imports.push((
            "LOINC",
            Box::new(move || {
                // A release folder is named after its version (`Loinc_2.80`).
                let version = table
                    .ancestors()
                    .filter_map(|p| p.file_name()?.to_str()?.strip_prefix("Loinc_"))
                    .next()
                    .map(str::to_owned);
                tillit_terminology::loinc::import(&table, version.as_deref())
                    .map_err(|e| e.to_string())
            }),
        ));
    }
    for (name, import) in imports {
        let terminology = terminology.clone();
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            match import() {
                Ok(system) => {
                    let (concepts, version) = (system.concepts.len(), system.version.clone());
                    terminology.add_code_system(system);
                    tracing::info!(
                        code_system = name,
                        concepts,
                        version,
                        seconds = started.elapsed().as_secs_f64(),
                        "code system imported"
                    );
                }
                Err(error) => tracing::error!(code_system = name, %error, "could not be imported"),
            }
        });
    }
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
