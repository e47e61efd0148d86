//! Reading FHIR packages in the NPM package format: a `.tgz` or a folder with
//! `package/package.json` and one resource per JSON file.
//! <https://confluence.hl7.org/display/FHIR/NPM+Package+Specification>

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use serde_json::Value;

/// Where a package's bytes are: built into the binary, or a file or folder.
#[derive(Clone, Debug)]
pub enum PackageSource {
    /// A gzipped tarball compiled into the binary; the label names it in errors.
    Static(&'static str, &'static [u8]),
    /// A `.tgz` file or an unpacked folder.
    Path(PathBuf),
}

/// A package's identity and where to read it again (definitions are not kept
/// in memory: they are installed into the database once).
#[derive(Clone, Debug)]
pub struct Package {
    /// `name` from `package.json`, such as `hl7.fhir.uv.ips`.
    pub name: String,
    /// `version` from `package.json`.
    pub version: String,
    /// `canonical` from `package.json`: the base of its definitions' URLs.
    pub canonical: Option<String>,
    /// Where it came from.
    pub source: PackageSource,
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
    /// Reads the package at `source`, parsing only the resources whose
    /// `resourceType` passes `wanted` (the type is found without parsing the rest).
    pub fn read(
        source: &PackageSource,
        wanted: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<(Package, Vec<Value>), PackageError> {
        let path = source.path();
        let io = |source| PackageError::Io {
            path: path.clone(),
            source,
        };
        let files = match source {
            PackageSource::Static(_, bytes) => read_tar(GzDecoder::new(*bytes)).map_err(io)?,
            PackageSource::Path(p) if p.is_dir() => read_folder(p).map_err(io)?,
            PackageSource::Path(p) => read_tgz(p).map_err(io)?,
        };
        let parse = |(file, bytes): &(String, Vec<u8>)| {
            let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            serde_json::from_slice::<Value>(text).map_err(|source| PackageError::Json {
                path: path.clone(),
                file: file.clone(),
                source,
            })
        };
        let manifest = files
            .iter()
            .find(|(name, _)| name == "package.json")
            .ok_or_else(|| PackageError::NoManifest(path.clone()))
            .and_then(parse)?;
        let (Some(name), Some(version)) = (
            manifest.get("name").and_then(Value::as_str),
            manifest.get("version").and_then(Value::as_str),
        ) else {
            return Err(PackageError::NoManifest(path.clone()));
        };
        let selected: Vec<&(String, Vec<u8>)> = files
            .iter()
            .filter(|(name, bytes)| {
                name.ends_with(".json")
                    && name != "package.json"
                    && !name.starts_with('.')
                    && resource_type_of(bytes).is_some_and(wanted)
            })
            .collect();
        let resources = parse_all(&selected, &parse)?;
        let package = Package {
            name: name.to_owned(),
            version: version.to_owned(),
            canonical: manifest
                .get("canonical")
                .and_then(Value::as_str)
                .map(str::to_owned),
            source: source.clone(),
        };
        Ok((package, resources))
    }
}

impl PackageSource {
    fn path(&self) -> PathBuf {
        match self {
            PackageSource::Static(label, _) => PathBuf::from(label),
            PackageSource::Path(path) => path.clone(),
        }
    }
}

/// A file inside a package: its name and bytes.
type PackageFile = (String, Vec<u8>);

/// Parses `files` on every core: parsing dominates start-up.
fn parse_all(
    files: &[&PackageFile],
    parse: &(dyn Fn(&PackageFile) -> Result<Value, PackageError> + Sync),
) -> Result<Vec<Value>, PackageError> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = files.len().div_ceil(threads).max(1);
    let parsed: Vec<Result<Vec<Value>, PackageError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(|f| parse(f)).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Ok(Vec::new())))
            .collect()
    });
    let mut resources = Vec::with_capacity(files.len());
    for part in parsed {
        resources.extend(part?);
    }
    Ok(resources)
}

/// The value of the first `"resourceType"` key in JSON text, found by a scan
/// rather than a parse (FHIR JSON puts it first in practice).
fn resource_type_of(bytes: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"resourceType\"";
    let at = bytes.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &bytes[at..];
    let open = rest.iter().position(|&b| b == b'"')?;
    let value = &rest[open + 1..];
    let close = value.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&value[..close]).ok()
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
