//! Reading FHIR packages in the NPM package format: a `.tgz` or a folder with
//! `package/package.json` and one resource per JSON file.
//! <https://confluence.hl7.org/display/FHIR/NPM+Package+Specification>

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde_json::Value;

/// One loaded package: its name, version and the resources in its `package/` folder.
#[derive(Debug)]
pub struct Package {
    /// `name` from `package.json`, such as `hl7.fhir.uv.ips`.
    pub name: String,
    /// `version` from `package.json`.
    pub version: String,
    /// The resources in the package folder (examples in sub-folders are not loaded).
    pub resources: Vec<Value>,
}

/// Why a package could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    /// The file or folder could not be read.
    #[error("cannot read package {path}: {source}")]
    Io {
        /// The package path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file in the package is not valid JSON.
    #[error("package {path}: {file} is not valid JSON: {source}")]
    Json {
        /// The package path.
        path: PathBuf,
        /// The file inside the package.
        file: String,
        /// Why.
        source: serde_json::Error,
    },
    /// There is no `package/package.json` with a name and version.
    #[error("package {0}: no package/package.json with name and version")]
    NoManifest(PathBuf),
}

impl Package {
    /// Loads a package from a `.tgz` file or an unpacked folder.
    pub fn load(path: &Path) -> Result<Package, PackageError> {
        let io = |source| PackageError::Io {
            path: path.to_owned(),
            source,
        };
        let files = if path.is_dir() {
            read_folder(path).map_err(io)?
        } else {
            read_tgz(path).map_err(io)?
        };
        Package::from_files(path, files)
    }

    /// Loads a package from gzipped tarball bytes (packages built into the binary);
    /// `label` names it in errors.
    pub fn from_tgz_bytes(label: &str, bytes: &[u8]) -> Result<Package, PackageError> {
        let path = Path::new(label);
        let files = read_tar(GzDecoder::new(bytes)).map_err(|source| PackageError::Io {
            path: path.to_owned(),
            source,
        })?;
        Package::from_files(path, files)
    }

    /// Builds a package from `(name inside package/, bytes)` pairs.
    fn from_files(path: &Path, files: Vec<(String, Vec<u8>)>) -> Result<Package, PackageError> {
        let parse = |(file, bytes): &(String, Vec<u8>)| {
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            serde_json::from_slice::<Value>(text).map_err(|source| PackageError::Json {
                path: path.to_owned(),
                file: file.clone(),
                source,
            })
        };
        let manifest = files
            .iter()
            .find(|(name, _)| name == "package.json")
            .ok_or_else(|| PackageError::NoManifest(path.to_owned()))
            .and_then(parse)?;
        let (Some(name), Some(version)) = (
            manifest.get("name").and_then(Value::as_str),
            manifest.get("version").and_then(Value::as_str),
        ) else {
            return Err(PackageError::NoManifest(path.to_owned()));
        };
        let resource_files: Vec<&(String, Vec<u8>)> = files
            .iter()
            .filter(|(name, _)| {
                name.ends_with(".json") && name != "package.json" && !name.starts_with('.')
            })
            .collect();
        // Parsing dominates start-up: split it over the cores.
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let chunk = resource_files.len().div_ceil(threads).max(1);
        let parsed: Vec<Result<Vec<Value>, PackageError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = resource_files
                .chunks(chunk)
                .map(|part| scope.spawn(move || part.iter().map(|f| parse(f)).collect()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
                .collect()
        });
        let mut resources = Vec::with_capacity(resource_files.len());
        for part in parsed {
            resources.extend(
                part?
                    .into_iter()
                    .filter(|r| r.get("resourceType").is_some()),
            );
        }
        Ok(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            resources,
        })
    }
}

/// The files directly inside `package/` of a gzipped tarball.
fn read_tgz(path: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let file = std::fs::File::open(path)?;
    read_tar(GzDecoder::new(std::io::BufReader::new(file)))
}

/// The files directly inside `package/` of an uncompressed tar stream.
fn read_tar(reader: impl Read) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut archive = tar::Archive::new(reader);
    let mut files = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let Some(inner) = name.strip_prefix("package/") else {
            continue;
        };
        if inner.contains('/') {
            continue;
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry.read_to_end(&mut bytes)?;
        files.push((inner.to_owned(), bytes));
    }
    Ok(files)
}

/// The files directly inside `package/` of a folder (or the folder itself when
/// it holds `package.json`).
fn read_folder(path: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let root = if path.join("package").is_dir() {
        path.join("package")
    } else {
        path.to_owned()
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&root)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((name, std::fs::read(entry.path())?));
        }
    }
    Ok(files)
}
