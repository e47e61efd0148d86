//! The harness: starts the real `tillit` binary on a free port with a fresh
//! database (SQLite in a temporary folder, or a new PostgreSQL database) and
//! talks to it over HTTP.
//!
//! PostgreSQL is expected at `TILLIT_TEST_POSTGRES` (default
//! `postgres://postgres@127.0.0.1:5432`); the tests fail, not skip, without it.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use reqwest::{Method, Response};
use serde_json::Value;

/// Which database a server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The production database.
    Postgres,
}

/// A database prepared for one server.
pub struct Database {
    /// The URL to give `--database-url`.
    pub url: String,
    /// The folder for SQLite files and logs.
    pub dir: PathBuf,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Database {
    /// A fresh, empty database on `backend`.
    pub fn fresh(backend: Backend) -> Database {
        static SWEPT_DIRS: std::sync::Once = std::sync::Once::new();
        SWEPT_DIRS.call_once(remove_folders_of_finished_runs);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("tillit-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = match backend {
            Backend::Sqlite => format!("sqlite://{}/tillit.db", dir.display()),
            Backend::Postgres => {
                static SWEPT: std::sync::Once = std::sync::Once::new();
                SWEPT.call_once(drop_databases_of_finished_runs);
                let name = format!("tillit_test_{}_{n}", std::process::id());
                psql(&format!("DROP DATABASE IF EXISTS {name}"));
                psql(&format!("CREATE DATABASE {name}"));
                format!("{}/{name}", postgres_base())
            }
        };
        Database { url, dir }
    }
}

fn postgres_base() -> String {
    std::env::var("TILLIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// Removes the temporary folders of earlier test processes that have ended.
fn remove_folders_of_finished_runs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("tillit-test-") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Drops the test databases of earlier test processes that have ended, so
/// repeated runs do not pile databases up.
fn drop_databases_of_finished_runs() {
    let url = format!("{}/postgres", postgres_base());
    let Ok(out) = Command::new("psql")
        .args([
            url.as_str(),
            "-Atc",
            "SELECT datname FROM pg_database WHERE datname LIKE 'tillit_test_%'",
        ])
        .output()
    else {
        return;
    };
    for name in String::from_utf8_lossy(&out.stdout).lines() {
        let pid = name
            .trim_start_matches("tillit_test_")
            .split('_')
            .next()
            .unwrap_or("");
        if !Path::new(&format!("/proc/{pid}")).exists() {
            psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// Runs one SQL statement as the postgres user (for creating test databases).
fn psql(sql: &str) {
    let url = format!("{}/postgres", postgres_base());
    let out = Command::new("psql")
        .args([url.as_str(), "-v", "ON_ERROR_STOP=1", "-qc", sql])
        .output()
        .expect("psql must be installed for the PostgreSQL tests");
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A running `tillit serve`.
pub struct Server {
    /// `http://127.0.0.1:port/fhir`.
    pub base: String,
    /// The data folder.
    pub dir: PathBuf,
    client: reqwest::Client,
    child: Option<Child>,
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The command line for the real binary with `database_url` and `port`.
pub fn tillit(database_url: &str, port: u16, dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tillit"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TILLIT_LOG", "warn")
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", database_url])
        .args(["--data-dir", &dir.display().to_string()])
        .current_dir(dir);
    cmd
}

impl Server {
    /// Starts a dedicated server on `db`, stopped when dropped.
    pub fn start_on(db: &Database) -> Server {
        Server::start_with(db, &[])
    }

    /// Starts a dedicated server on `db` with extra command-line flags.
    pub fn start_with(db: &Database, flags: &[&str]) -> Server {
        Server::spawn(db, flags, false)
    }

    /// Starts `tillit serve`; with `die_with_parent`, the kernel kills it when
    /// the spawning thread ends (PR_SET_PDEATHSIG).
    fn spawn(db: &Database, flags: &[&str], die_with_parent: bool) -> Server {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let log = std::fs::File::create(db.dir.join("server.log")).expect("log file");
        let mut cmd = tillit(&db.url, port, &db.dir);
        cmd.args(flags)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(log);
        if die_with_parent {
            // SAFETY: prctl is async-signal-safe and touches only this child.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let child = cmd.spawn().expect("the tillit binary starts");
        let server = Server {
            base: format!("http://127.0.0.1:{port}/fhir"),
            dir: db.dir.clone(),
            client: client(),
            child: Some(child),
        };
        server.wait_ready();
        server
    }

    /// A server shared by every test of this binary on `backend`; it lives until
    /// the test process exits (the kernel kills it then).
    pub fn shared(backend: Backend) -> &'static Server {
        static SQLITE: OnceLock<Server> = OnceLock::new();
        static POSTGRES: OnceLock<Server> = OnceLock::new();
        let cell = match backend {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        };
        cell.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            // The child dies with the thread that spawned it (PR_SET_PDEATHSIG),
            // so it is spawned by a thread that lives as long as the process.
            std::thread::spawn(move || {
                let db = Database::fresh(backend);
                let mut server = Server::spawn(&db, &[], true);
                let child = server.child.take();
                tx.send(server).expect("send server");
                let _keep = child;
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("shared server started")
        })
    }

    fn wait_ready(&self) {
        let ready = self.base.replace("/fhir", "/readyz");
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline {
            if let Ok(resp) = blocking_get(&ready) {
                if resp == 200 {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        panic!("tillit did not become ready; log:\n{log}");
    }

    /// Kills the server process at once (`kill -9`), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server with SIGTERM and waits for it to exit; returns its status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("server running");
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        child.wait().expect("wait")
    }

    /// A request to `path` (relative to the FHIR base, or absolute).
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}/{}", self.base, path.trim_start_matches('/'))
        };
        self.client.request(method, url)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.expect("GET")
    }

    /// `GET path`, expecting 200, as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.get(path).await;
        let status = resp.status();
        let body: Value = resp.json().await.expect("JSON body");
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Response {
        self.request(Method::DELETE, path)
            .send()
            .await
            .expect("DELETE")
    }

    /// `method path` with a FHIR JSON body and extra headers.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self
            .request(method, path)
            .header("content-type", "application/fhir+json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// `method path` with a FHIR JSON body.
    pub async fn send(&self, method: Method, path: &str, body: &Value) -> Response {
        self.request(method, path)
            .header("content-type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }

    /// Fails if any request so far reached the panic-catching layer: it is a
    /// last resort, and no normal path may depend on it.
    pub async fn assert_no_panics(&self) {
        let metrics = self
            .get(&self.base.replace("/fhir", "/metrics"))
            .await
            .text()
            .await
            .expect("metrics");
        assert!(
            !metrics.contains("tillit_panics_total"),
            "a request panicked:\n{metrics}"
        );
    }

    /// Creates `resource` and returns its new id.
    pub async fn create(&self, resource: Value) -> String {
        let t = resource["resourceType"]
            .as_str()
            .expect("resourceType")
            .to_owned();
        let resp = self.send(Method::POST, &t, &resource).await;
        assert_eq!(resp.status(), 201, "create {t}");
        let body: Value = resp.json().await.expect("JSON");
        body["id"].as_str().expect("id").to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A client that keeps no idle connections: each test runs its own runtime, and
/// a pooled connection would die with the runtime that opened it.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(0)
        .build()
        .expect("client")
}

fn blocking_get(url: &str) -> std::io::Result<u16> {
    use std::io::Write;
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = std::net::TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    Ok(response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// A unique suffix for ids and identifiers, so tests sharing a server never collide.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs one test body against the shared server on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$srv:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $srv = $crate::support::Server::shared($crate::support::Backend::Sqlite);
                $body
                $srv.assert_no_panics().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $srv = $crate::support::Server::shared($crate::support::Backend::Postgres);
                $body
                $srv.assert_no_panics().await;
            }
        }
    };
}

/// A test's own corner of a shared server: the resources it creates carry its
/// own tag, and its searches ask for that tag, so tests never see each other's data.
pub struct Fixture<'s> {
    /// The server.
    pub srv: &'s Server,
    /// The tag code (system `urn:tillit:test`).
    pub tag: String,
}

impl<'s> Fixture<'s> {
    /// A fixture with a fresh tag.
    pub fn new(srv: &'s Server) -> Fixture<'s> {
        Fixture {
            srv,
            tag: unique("t"),
        }
    }

    /// The `_tag` parameter that limits a search to this fixture.
    pub fn tag_param(&self) -> String {
        format!("_tag=urn:tillit:test%7C{}", self.tag)
    }

    /// Creates `resource` with this fixture's tag and returns its id.
    pub async fn create(&self, mut resource: Value) -> String {
        let tag = serde_json::json!({"system": "urn:tillit:test", "code": self.tag});
        match resource["meta"]["tag"].as_array_mut() {
            Some(tags) => tags.push(tag),
            None => resource["meta"]["tag"] = serde_json::json!([tag]),
        }
        self.srv.create(resource).await
    }

    /// `GET [type]?query&_tag=…`, expecting 200; the searchset Bundle.
    pub async fn search(&self, resource_type: &str, query: &str) -> Value {
        let sep = if query.is_empty() { "" } else { "&" };
        self.srv
            .get_json(&format!("{resource_type}?{query}{sep}{}", self.tag_param()))
            .await
    }

    /// The ids of the `match` entries of a search, sorted.
    pub async fn ids(&self, resource_type: &str, query: &str) -> Vec<String> {
        let mut ids = match_ids(&self.search(resource_type, query).await);
        ids.sort();
        ids
    }

    /// The status and OperationOutcome of a search expected to fail.
    pub async fn search_status(&self, resource_type: &str, query: &str) -> (u16, Value) {
        let resp = self
            .srv
            .get(&format!("{resource_type}?{query}&{}", self.tag_param()))
            .await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

/// The ids of a Bundle's entries with `search.mode` `match`, in order.
pub fn match_ids(bundle: &Value) -> Vec<String> {
    entries_with_mode(bundle, "match")
}

/// `Type/id` of a Bundle's entries with `search.mode` `mode`, or bare ids for `match`.
pub fn entries_with_mode(bundle: &Value, mode: &str) -> Vec<String> {
    let typed = typed_entries(bundle, mode);
    if mode != "match" {
        return typed;
    }
    typed
        .into_iter()
        .map(|t| t.split_once('/').map_or(t.clone(), |(_, id)| id.to_owned()))
        .collect()
}

/// `Type/id` of a Bundle's entries with `search.mode` `mode`, in order.
pub fn typed_entries(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            let r = &e["resource"];
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// Sorted copies of `ids`, for comparing result sets.
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    out.sort();
    out
}

/// The examples package, fetched once with `npm pack` into `target/fhir-packages`.
fn r4_examples_package() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fhir-packages");
    let file = dir.join("hl7.fhir.r4.examples-4.0.1.tgz");
    if !file.exists() {
        std::fs::create_dir_all(&dir).expect("package dir");
        let status = std::process::Command::new("npm")
            .args(["pack", "hl7.fhir.r4.examples@4.0.1", "--pack-destination"])
            .arg(&dir)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("npm is needed to fetch hl7.fhir.r4.examples@4.0.1");
        assert!(
            status.success(),
            "npm pack hl7.fhir.r4.examples@4.0.1 failed"
        );
    }
    file
}

/// `(file name, resource)` of every resource in `hl7.fhir.r4.examples@4.0.1`,
/// sorted by file name.
pub fn r4_examples() -> &'static [(String, Value)] {
    static CACHE: OnceLock<Vec<(String, Value)>> = OnceLock::new();
    CACHE.get_or_init(|| {
        let file = std::fs::File::open(r4_examples_package()).expect("examples package");
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut out = Vec::new();
        for entry in archive.entries().expect("tar") {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("path").to_string_lossy().into_owned();
            let Some(file) = name.strip_prefix("package/") else {
                continue;
            };
            if file.contains('/')
                || !file.ends_with(".json")
                || file == "package.json"
                || file.starts_with('.')
            {
                continue;
            }
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("utf-8");
            let value: Value =
                serde_json::from_str(text.trim_start_matches('\u{feff}')).expect("json");
            out.push((file.to_owned(), value));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}
