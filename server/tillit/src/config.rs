//! Configuration: defaults, then a TOML file, then `TILLIT_…` environment
//! variables, then command-line flags (flags win). Every setting is listed in
//! the README.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tillit_interactions::WritePolicy;

/// Command-line flags; each overrides the same setting from the environment and the file.
#[derive(clap::Args, Debug, Default)]
pub struct Flags {
    /// TOML configuration file (default: ./tillit.toml when it exists) [env: TILLIT_CONFIG]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Address to listen on [env: TILLIT_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, global = true)]
    listen: Option<String>,
    /// The public FHIR base URL [env: TILLIT_BASE_URL] [default: http://<listen>/fhir]
    #[arg(long, global = true)]
    base_url: Option<String>,
    /// sqlite://… or postgres://… [env: TILLIT_DATABASE_URL] [default: sqlite://<data-dir>/tillit.db]
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Folder for the embedded database and indexes [env: TILLIT_DATA_DIR] [default: ./data]
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Authentication mode; `off` is the open mode for sandboxes and tests [env: TILLIT_AUTH] [default: off]
    #[arg(long, global = true)]
    auth: Option<String>,
    /// Largest request body in bytes [env: TILLIT_BODY_LIMIT] [default: 67108864]
    #[arg(long, global = true)]
    body_limit: Option<usize>,
    /// Database connections in the pool [env: TILLIT_POOL_SIZE] [default: 16]
    #[arg(long, global = true)]
    pool_size: Option<u32>,
    /// Megabytes of current resources cached in memory, SQLite only; 0 turns it off [env: TILLIT_READ_CACHE_MB] [default: 64]
    #[arg(long, global = true)]
    read_cache_mb: Option<u64>,
    /// Log format: text or json [env: TILLIT_LOG_FORMAT] [default: text]
    #[arg(long, global = true)]
    log_format: Option<String>,
    /// Extra FHIR packages (.tgz or folder), comma-separated [env: TILLIT_PACKAGES]
    #[arg(long, global = true, value_delimiter = ',')]
    packages: Option<Vec<PathBuf>>,
    /// What writes are validated against: `structure` (the base definitions) or
    /// `declared-profiles` (also each resource's meta.profile) [env: TILLIT_VALIDATE_WRITES] [default: structure]
    #[arg(long, global = true)]
    validate_writes: Option<String>,
    /// Profiles every written resource of a type must conform to, as TYPE=URL, comma-separated
    /// [env: TILLIT_REQUIRE_PROFILES]
    #[arg(long, global = true, value_delimiter = ',')]
    require_profiles: Option<Vec<String>>,
    /// A SNOMED CT RF2 release folder (snapshot files), imported in the background at start-up
    /// [env: TILLIT_SNOMED]
    #[arg(long, global = true)]
    snomed: Option<PathBuf>,
    /// LOINC's table (`Loinc.csv` of a release), imported in the background at start-up [env: TILLIT_LOINC]
    #[arg(long, global = true)]
    loinc: Option<PathBuf>,
}

/// The same settings as read from a TOML file.
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<String>,
    base_url: Option<String>,
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    auth: Option<String>,
    body_limit: Option<usize>,
    pool_size: Option<u32>,
    read_cache_mb: Option<u64>,
    log_format: Option<String>,
    packages: Option<Vec<PathBuf>>,
    validate_writes: Option<String>,
    require_profiles: Option<Vec<String>>,
    snomed: Option<PathBuf>,
    loinc: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Public FHIR base URL, without a trailing slash.
    pub base_url: String,
    /// Database URL.
    pub database_url: String,
    /// Folder for local files: the SQLite database by default, and the
    /// full-text index.
    pub data_dir: PathBuf,
    /// Whether authentication is off (the open mode).
    pub auth_off: bool,
    /// Largest request body.
    pub body_limit: usize,
    /// Database pool size.
    pub pool_size: u32,
    /// Read cache size in megabytes (SQLite only).
    pub read_cache_mb: u64,
    /// Logs as JSON lines.
    pub json_logs: bool,
    /// Extra packages to load.
    pub packages: Vec<PathBuf>,
    /// What writes are validated against beyond the base structure.
    pub write_policy: WritePolicy,
    /// A SNOMED CT RF2 release to import at start-up.
    pub snomed: Option<PathBuf>,
    /// LOINC's table to import at start-up.
    pub loinc: Option<PathBuf>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read or parsed.
    #[error("configuration file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A setting has a value it cannot have.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Resolves defaults < file < environment < flags.
    pub fn resolve(flags: &Flags) -> Result<Config, ConfigError> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let file_path = flags
            .config
            .clone()
            .or_else(|| env("TILLIT_CONFIG").map(PathBuf::from));
        let file = read_file(file_path.as_deref())?;
        let parse_env = |name: &str| -> Result<Option<u64>, ConfigError> {
            env(name)
                .map(|v| {
                    v.parse::<u64>()
                        .map_err(|_| ConfigError::Invalid(format!("{name}={v} is not a number")))
                })
                .transpose()
        };
        let listen = pick(flags.listen.clone(), env("TILLIT_LISTEN"), file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let data_dir = pick(
            flags.data_dir.clone(),
            env("TILLIT_DATA_DIR").map(PathBuf::from),
            file.data_dir,
        )
        .unwrap_or_else(|| PathBuf::from("./data"));
        let database_url = pick(
            flags.database_url.clone(),
            env("TILLIT_DATABASE_URL"),
            file.database_url,
        )
        .unwrap_or_else(|| format!("sqlite://{}/tillit.db", data_dir.display()));
        let base_url = pick(
            flags.base_url.clone(),
            env("TILLIT_BASE_URL"),
            file.base_url,
        )
        .unwrap_or_else(|| format!("http://{listen}/fhir"))
        .trim_end_matches('/')
        .to_owned();
        let auth =
            pick(flags.auth.clone(), env("TILLIT_AUTH"), file.auth).unwrap_or_else(|| "off".into());
        if auth != "off" {
            return Err(ConfigError::Invalid(format!(
                "auth '{auth}' is not available yet: this release only has the open mode (--auth off); \
                 the SMART authorisation server is the next milestone"
            )));
        }
        let log_format = pick(
            flags.log_format.clone(),
            env("TILLIT_LOG_FORMAT"),
            file.log_format,
        )
        .unwrap_or_else(|| "text".into());
        if log_format != "text" && log_format != "json" {
            return Err(ConfigError::Invalid(format!(
                "log format '{log_format}' must be text or json"
            )));
        }
        let env_packages =
            env("TILLIT_PACKAGES").map(|v| v.split(',').map(PathBuf::from).collect());
        let write_policy = write_policy(
            pick(
                flags.validate_writes.clone(),
                env("TILLIT_VALIDATE_WRITES"),
                file.validate_writes,
            ),
            pick(
                flags.require_profiles.clone(),
                env("TILLIT_REQUIRE_PROFILES").map(|v| v.split(',').map(str::to_owned).collect()),
                file.require_profiles,
            ),
        )?;
        Ok(Config {
            listen,
            base_url,
            database_url,
            data_dir,
            auth_off: true,
            body_limit: pick(
                flags.body_limit,
                parse_env("TILLIT_BODY_LIMIT")?.map(|n| n as usize),
                file.body_limit,
            )
            .unwrap_or(64 * 1024 * 1024),
            pool_size: pick(
                flags.pool_size,
                parse_env("TILLIT_POOL_SIZE")?.map(|n| n as u32),
                file.pool_size,
            )
            .unwrap_or(16)
            .max(1),
            read_cache_mb: pick(
                flags.read_cache_mb,
                parse_env("TILLIT_READ_CACHE_MB")?,
                file.read_cache_mb,
            )
            .unwrap_or(64),
            json_logs: log_format == "json",
            packages: pick(flags.packages.clone(), env_packages, file.packages).unwrap_or_default(),
            write_policy,
            snomed: pick(
                flags.snomed.clone(),
                env("TILLIT_SNOMED").map(PathBuf::from),
                file.snomed,
            ),
            loinc: pick(
                flags.loinc.clone(),
                env("TILLIT_LOINC").map(PathBuf::from),
                file.loinc,
            ),
        })
    }
}

/// The write policy from its two settings.
fn write_policy(
    mode: Option<String>,
    required: Option<Vec<String>>,
) -> Result<WritePolicy, ConfigError> {
    let declared_profiles = match mode.as_deref() {
        None | Some("structure") => false,
        Some("declared-profiles") => true,
        Some(other) => {
            return Err(ConfigError::Invalid(format!(
                "validate-writes '{other}' must be structure or declared-profiles"
            )))
        }
    };
    let mut policy = WritePolicy {
        declared_profiles,
        ..WritePolicy::default()
    };
    for entry in required.unwrap_or_default() {
        let Some((resource_type, url)) = entry.split_once('=') else {
            return Err(ConfigError::Invalid(format!(
                "require-profiles '{entry}' must be TYPE=URL, such as Patient=http://hl7.org/fhir/uv/ips/StructureDefinition/Patient-uv-ips"
            )));
        };
        policy
            .required
            .entry(resource_type.trim().to_owned())
            .or_default()
            .push(url.trim().to_owned());
    }
    Ok(policy)
}

/// The first setting present, in precedence order.
fn pick<T>(flag: Option<T>, env: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(env).or(file)
}

fn read_file(path: Option<&Path>) -> Result<FileSettings, ConfigError> {
    let (path, required) = match path {
        Some(path) => (path.to_owned(), true),
        None => (PathBuf::from("tillit.toml"), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(_) if !required => return Ok(FileSettings::default()),
        Err(err) => {
            return Err(ConfigError::File {
                path,
                message: err.to_string(),
            })
        }
    };
    toml::from_str(&text).map_err(|err| ConfigError::File {
        path,
        message: err.to_string(),
    })
}
