//! `tillit`: the FHIR R4 server binary and its command line.

mod config;
mod demo;
mod fhirpath;
mod import;
mod reindex;
mod serve;
mod startup;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use config::{Config, Flags};

/// Tillit: a FHIR R4 server for trusted health data sharing.
#[derive(Parser)]
#[command(name = "tillit", version, about)]
struct Cli {
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR API.
    Serve,
    /// Serve the FHIR API with a synthetic Norwegian demo data set seeded.
    Demo {
        /// How many demo patients to seed.
        #[arg(long, default_value_t = 20)]
        patients: usize,
    },
    /// Load Bundles (.json) and NDJSON files (.ndjson) into the database.
    Import {
        /// Files or folders to import.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Stop at the first bad entry instead of reporting it and going on.
        #[arg(long)]
        stop_on_error: bool,
    },
    /// Rebuild the search index of every stored resource (after search
    /// parameters changed), with progress.
    Reindex,
    /// Evaluate a FHIRPath expression against a resource and print the
    /// result collection as JSON, each item with its type.
    Fhirpath {
        /// The FHIRPath expression, such as `Patient.name.given`.
        expression: String,
        /// The resource file (JSON); `-` reads standard input.
        #[arg(long, short)]
        resource: PathBuf,
    },
    /// Validate resources (JSON files, Bundles, NDJSON, folders of them) against
    /// their definitions, declared profiles and --profile; exit status 1 on errors.
    Validate {
        /// Files or folders to validate.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A profile (canonical URL) every resource must conform to; repeatable.
        #[arg(long)]
        profile: Vec<String>,
        /// Extra FHIR packages (.tgz or folder) to take definitions from; repeatable.
        #[arg(long)]
        package: Vec<PathBuf>,
        /// Write the outcome (an OperationOutcome, or a Bundle of them) to this file.
        #[arg(long)]
        output: Option<PathBuf>,
        /// How failed best-practice invariants (such as dom-6, narrative) are reported.
        #[arg(long, value_enum, default_value_t = validate::BestPractice::Warning)]
        best_practice: validate::BestPractice,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(&cli.flags) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("tillit: {err}");
            return ExitCode::from(2);
        }
    };
    startup::init_tracing(&config);
    if let Command::Fhirpath {
        expression,
        resource,
    } = &cli.command
    {
        return match fhirpath::run(&config, expression, resource) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("tillit: {err}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Validate {
        paths,
        profile,
        package,
        output,
        best_practice,
    } = &cli.command
    {
        let mut config = config.clone();
        config.packages.extend(package.iter().cloned());
        let options = validate::Options {
            profiles: profile,
            output: output.as_deref(),
            best_practice: *best_practice,
        };
        return match validate::run(&config, paths, &options) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("tillit: {err}");
                ExitCode::from(2)
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tillit: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve::serve(&config, None).await,
            Command::Demo { patients } => serve::serve(&config, Some(patients)).await,
            Command::Import {
                paths,
                stop_on_error,
            } => import::import(&config, &paths, stop_on_error).await,
            Command::Reindex => reindex::run(&config).await,
            Command::Fhirpath { .. } | Command::Validate { .. } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tillit: {err}");
            ExitCode::FAILURE
        }
    }
}
