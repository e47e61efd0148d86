//! Search benchmark: latency at concurrency 1 and throughput at concurrency 32
//! for a fixed query mix, against a server loaded with the demo data set of
//! `patients` patients. Every answer is checked against the same data set,
//! generated here: a fast wrong answer counts as a failure.
//!
//! `cargo run --release -p tillit --example search_bench -- http://127.0.0.1:18184/fhir 46000 [seconds]`
//! (tests/perf/search.sh loads the data and runs it on SQLite and PostgreSQL).

// A benchmark tool: a panic is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tillit_demo::{transaction_bundles, DemoSize};

const FNR: &str = "urn:oid:2.16.578.1.12.4.1.4.1";
const KINDS: [Kind; 8] = [
    Kind::ObservationsByPatientAndCode,
    Kind::PatientByNameAndBirthdate,
    Kind::Identifier,
    Kind::DateRange,
    Kind::Include,
    Kind::Has,
    Kind::TwoLevelChain,
    Kind::Everything,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    ObservationsByPatientAndCode,
    PatientByNameAndBirthdate,
    Identifier,
    DateRange,
    Include,
    Has,
    TwoLevelChain,
    Everything,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ObservationsByPatientAndCode => "Observation by patient+code, sorted by date",
            Kind::PatientByNameAndBirthdate => "Patient by name+birthdate",
            Kind::Identifier => "Patient by identifier",
            Kind::DateRange => "Observation date range (1 day)",
            Kind::Include => "Encounter by patient + _include",
            Kind::Has => "Patient _has:Condition + birth year",
            Kind::TwoLevelChain => "Observation two-level chain",
            Kind::Everything => "Patient/$everything",
        }
    }
}

struct Patient {
    id: String,
    family: String,
    birth: String,
    fnr: String,
    gp: String,
}

struct Clinical {
    id: String,
    patient: String,
    codes: Vec<String>,
    date: String,
    provider: String,
}

/// The generated data, indexed for the checks.
#[derive(Default)]
struct Data {
    patients: Vec<Patient>,
    patient_index: HashMap<String, usize>,
    practitioner_family: HashMap<String, String>,
    observations: Vec<Clinical>,
    conditions: Vec<Clinical>,
    encounters: Vec<Clinical>,
    by_patient: HashMap<String, Vec<(char, usize)>>,
    total: usize,
    // Look-ups for the checks, so that the client spends little CPU per query.
    by_birth: HashMap<String, Vec<usize>>,
    observations_per_day: HashMap<String, usize>,
    observations_by_code_month: HashMap<(String, String), Vec<usize>>,
    patients_with_condition: HashMap<String, BTreeSet<String>>,
}

fn fold(text: &str) -> String {
    text.to_lowercase()
        .chars()
        .map(|c| match c {
            'å' | 'á' | 'à' | 'ä' => 'a',
            'é' | 'è' | 'ë' => 'e',
            'ö' | 'ó' => 'o',
            'ü' | 'ú' => 'u',
            other => other,
        })
        .collect()
}

fn reference_id(value: &Value) -> String {
    value["reference"]
        .as_str()
        .and_then(|r| r.split('/').nth(1))
        .unwrap_or_default()
        .to_owned()
}

fn codes(concept: &Value) -> Vec<String> {
    concept["coding"]
        .as_array()
        .map(|c| {
            c.iter()
                .map(|c| {
                    format!(
                        "{}|{}",
                        c["system"].as_str().unwrap_or(""),
                        c["code"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl Data {
    fn generate(patients: usize) -> Data {
        let mut data = Data::default();
        for bundle in transaction_bundles(&DemoSize { patients }) {
            for entry in bundle["entry"].as_array().unwrap() {
                let r = &entry["resource"];
                data.total += 1;
                let id = r["id"].as_str().unwrap().to_owned();
                match r["resourceType"].as_str().unwrap() {
                    "Patient" => {
                        // The national id, or whatever identifier the patient has.
                        let identifier = r["identifier"].as_array().and_then(|ids| {
                            ids.iter().find(|i| i["system"] == FNR).or(ids.first())
                        });
                        let fnr = identifier
                            .map(|i| {
                                format!(
                                    "{}|{}",
                                    i["system"].as_str().unwrap_or(""),
                                    i["value"].as_str().unwrap_or("")
                                )
                            })
                            .unwrap_or_default();
                        data.patient_index.insert(id.clone(), data.patients.len());
                        data.patients.push(Patient {
                            family: r["name"][0]["family"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            birth: r["birthDate"].as_str().unwrap_or_default().to_owned(),
                            gp: reference_id(&r["generalPractitioner"][0]),
                            fnr,
                            id,
                        });
                    }
                    "Practitioner" => {
                        let family = r["name"][0]["family"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        data.practitioner_family.insert(id, family);
                    }
                    "Observation" => {
                        let c = Clinical {
                            patient: reference_id(&r["subject"]),
                            codes: codes(&r["code"]),
                            date: r["effectiveDateTime"]
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            provider: String::new(),
                            id,
                        };
                        data.by_patient
                            .entry(c.patient.clone())
                            .or_default()
                            .push(('o', data.observations.len()));
                        data.observations.push(c);
                    }
                    "Condition" => {
                        let c = Clinical {
                            patient: reference_id(&r["subject"]),
                            codes: codes(&r["code"]),
                            date: String::new(),
                            provider: String::new(),
                            id,
                        };
                        data.by_patient
                            .entry(c.patient.clone())
                            .or_default()
                            .push(('c', data.conditions.len()));
                        data.conditions.push(c);
                    }
                    "Encounter" => {
                        let c = Clinical {
                            patient: reference_id(&r["subject"]),
                            codes: Vec::new(),
                            date: r["period"]["start"].as_str().unwrap_or_default().to_owned(),
                            provider: reference_id(&r["serviceProvider"]),
                            id,
                        };
                        data.by_patient
                            .entry(c.patient.clone())
                            .or_default()
                            .push(('e', data.encounters.len()));
                        data.encounters.push(c);
                    }
                    _ => {}
                }
            }
        }
        for (i, p) in data.patients.iter().enumerate() {
            data.by_birth.entry(p.birth.clone()).or_default().push(i);
        }
        for (i, o) in data.observations.iter().enumerate() {
            let day = o.date.get(..10).unwrap_or_default().to_owned();
            *data.observations_per_day.entry(day).or_default() += 1;
            for code in &o.codes {
                let month = o.date.get(..7).unwrap_or_default().to_owned();
                data.observations_by_code_month
                    .entry((code.clone(), month))
                    .or_default()
                    .push(i);
            }
        }
        for c in &data.conditions {
            for code in &c.codes {
                data.patients_with_condition
                    .entry(code.clone())
                    .or_default()
                    .insert(c.patient.clone());
            }
        }
        data
    }
}

/// A small deterministic random stream (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
    }
}

type Check = Box<dyn Fn(&Value) -> Result<(), String> + Send>;

fn match_ids(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .filter(|e| e["search"]["mode"] == mode)
                .map(|e| {
                    format!(
                        "{}/{}",
                        e["resource"]["resourceType"].as_str().unwrap_or(""),
                        e["resource"]["id"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn same(got: Vec<String>, expected: BTreeSet<String>, what: &str) -> Result<(), String> {
    let got: BTreeSet<String> = got.into_iter().collect();
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "{what}: got {} resources, expected {}",
            got.len(),
            expected.len()
        ))
    }
}

fn next_day(day: &str) -> String {
    let date = time::Date::parse(
        day,
        &time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    date.next_day().unwrap().to_string()
}

/// A query of `kind` with its URL (relative to the base) and its check.
fn query(data: &Arc<Data>, kind: Kind, rng: &mut Rng) -> (String, Check) {
    let patient = &data.patients[rng.below(data.patients.len())];
    let pid = patient.id.clone();
    match kind {
        Kind::ObservationsByPatientAndCode => {
            let mine: Vec<&Clinical> = data
                .by_patient
                .get(&pid)
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k == 'o')
                .map(|(_, i)| &data.observations[*i])
                .collect();
            let code = mine
                .get(rng.below(mine.len()))
                .and_then(|o| o.codes.first().cloned())
                .unwrap_or_else(|| "http://loinc.org|8867-4".into());
            let expected: BTreeSet<String> = mine
                .iter()
                .filter(|o| o.codes.contains(&code))
                .map(|o| format!("Observation/{}", o.id))
                .collect();
            let url = format!(
                "Observation?subject=Patient/{pid}&code={}&_sort=-date&_count=100",
                code.replace('|', "%7C")
            );
            (
                url,
                Box::new(move |b| {
                    let dates: Vec<&str> = b["entry"]
                        .as_array()
                        .map(|e| {
                            e.iter()
                                .filter_map(|e| e["resource"]["effectiveDateTime"].as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    if dates.windows(2).any(|w| w[0] < w[1]) {
                        return Err("not sorted by date descending".into());
                    }
                    same(match_ids(b, "match"), expected.clone(), "observations")
                }),
            )
        }
        Kind::PatientByNameAndBirthdate => {
            let family = fold(&patient.family);
            let birth = patient.birth.clone();
            let expected: BTreeSet<String> = data
                .patients
                .iter()
                .filter(|p| p.birth == birth && fold(&p.family).starts_with(&family))
                .map(|p| format!("Patient/{}", p.id))
                .collect();
            let url = format!("Patient?family={}&birthdate={birth}", patient.family);
            (
                url,
                Box::new(move |b| same(match_ids(b, "match"), expected.clone(), "patients")),
            )
        }
        Kind::Identifier => {
            let patient = (0..100)
                .map(|_| &data.patients[rng.below(data.patients.len())])
                .find(|p| !p.fnr.is_empty())
                .unwrap_or(patient);
            let pid = patient.id.clone();
            let url = format!("Patient?identifier={}", patient.fnr.replace('|', "%7C"));
            let expected: BTreeSet<String> = [format!("Patient/{pid}")].into();
            (
                url,
                Box::new(move |b| same(match_ids(b, "match"), expected.clone(), "patient")),
            )
        }
        Kind::DateRange => {
            let o = &data.observations[rng.below(data.observations.len())];
            let day = o.date.get(..10).unwrap_or("2024-01-01").to_owned();
            let count = data
                .observations
                .iter()
                .filter(|o| o.date.starts_with(&day))
                .count();
            let url = format!(
                "Observation?date=ge{day}&date=lt{}&_count=20&_total=accurate",
                next_day(&day)
            );
            (
                url,
                Box::new(move |b| {
                    if b["total"].as_u64() != Some(count as u64) {
                        return Err(format!(
                            "total {} but {count} observations that day",
                            b["total"]
                        ));
                    }
                    let ok = b["entry"]
                        .as_array()
                        .map(|e| {
                            e.iter().all(|e| {
                                e["resource"]["effectiveDateTime"]
                                    .as_str()
                                    .is_some_and(|d| d.starts_with(&day))
                            })
                        })
                        .unwrap_or(count == 0);
                    if ok && match_ids(b, "match").len() == count.min(20) {
                        Ok(())
                    } else {
                        Err("wrong page".into())
                    }
                }),
            )
        }
        Kind::Include => {
            let mine: Vec<&Clinical> = data
                .by_patient
                .get(&pid)
                .into_iter()
                .flatten()
                .filter(|(k, _)| *k == 'e')
                .map(|(_, i)| &data.encounters[*i])
                .collect();
            let expected: BTreeSet<String> =
                mine.iter().map(|e| format!("Encounter/{}", e.id)).collect();
            let providers: BTreeSet<String> = mine
                .iter()
                .filter(|e| !e.provider.is_empty())
                .map(|e| format!("Organization/{}", e.provider))
                .collect();
            let url = format!(
                "Encounter?subject=Patient/{pid}&_include=Encounter:service-provider&_count=100"
            );
            (
                url,
                Box::new(move |b| {
                    same(match_ids(b, "match"), expected.clone(), "encounters")?;
                    same(
                        match_ids(b, "include"),
                        providers.clone(),
                        "included organisations",
                    )
                }),
            )
        }
        Kind::Has => {
            let c = &data.conditions[rng.below(data.conditions.len())];
            let code = c.codes.first().cloned().unwrap_or_default();
            let year = data.patients[data.patient_index[&c.patient]]
                .birth
                .get(..4)
                .unwrap_or("1970")
                .to_owned();
            let with: BTreeSet<&str> = data
                .conditions
                .iter()
                .filter(|c| c.codes.contains(&code))
                .map(|c| c.patient.as_str())
                .collect();
            let expected: BTreeSet<String> = data
                .patients
                .iter()
                .filter(|p| p.birth.starts_with(&year) && with.contains(p.id.as_str()))
                .map(|p| format!("Patient/{}", p.id))
                .collect();
            let url = format!(
                "Patient?_has:Condition:subject:code={}&birthdate={year}&_count=1000",
                code.replace('|', "%7C")
            );
            (
                url,
                Box::new(move |b| same(match_ids(b, "match"), expected.clone(), "patients")),
            )
        }
        Kind::TwoLevelChain => {
            let o = &data.observations[rng.below(data.observations.len())];
            let code = o.codes.first().cloned().unwrap_or_default();
            let month = o.date.get(..7).unwrap_or("2024-01").to_owned();
            let gp = data.patients[data.patient_index[&o.patient]].gp.clone();
            let family = data
                .practitioner_family
                .get(&gp)
                .cloned()
                .unwrap_or_default();
            let families: BTreeSet<&str> = data
                .practitioner_family
                .iter()
                .filter(|(_, f)| fold(f).starts_with(&fold(&family)))
                .map(|(id, _)| id.as_str())
                .collect();
            let expected: BTreeSet<String> = data
                .observations
                .iter()
                .filter(|x| {
                    x.date.starts_with(&month)
                        && x.codes.contains(&code)
                        && families
                            .contains(data.patients[data.patient_index[&x.patient]].gp.as_str())
                })
                .map(|x| format!("Observation/{}", x.id))
                .collect();
            let url = format!(
                "Observation?code={}&date={month}&subject:Patient.general-practitioner:Practitioner.family={family}&_count=1000",
                code.replace('|', "%7C")
            );
            (
                url,
                Box::new(move |b| same(match_ids(b, "match"), expected.clone(), "observations")),
            )
        }
        Kind::Everything => {
            let mine: BTreeSet<String> = data
                .by_patient
                .get(&pid)
                .into_iter()
                .flatten()
                .map(|(k, i)| match k {
                    'o' => format!("Observation/{}", data.observations[*i].id),
                    'c' => format!("Condition/{}", data.conditions[*i].id),
                    _ => format!("Encounter/{}", data.encounters[*i].id),
                })
                .collect();
            let url = format!("Patient/{pid}/$everything?_count=1000");
            let me = format!("Patient/{pid}");
            (
                url,
                Box::new(move |b| {
                    let got: BTreeSet<String> = match_ids(b, "match").into_iter().collect();
                    if !got.contains(&me) {
                        return Err("the patient is missing".into());
                    }
                    let missing = mine.difference(&got).count();
                    if missing > 0 {
                        Err(format!("{missing} of the patient's resources missing"))
                    } else {
                        Ok(())
                    }
                }),
            )
        }
    }
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
    url: &str,
) -> Result<(Duration, Value), String> {
    let started = Instant::now();
    let resp = client
        .get(format!("{base}/{url}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    let json = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    Ok((elapsed, json))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:18184/fhir".into());
    let patients: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let seconds: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(30);
    let per_kind: usize = std::env::var("PER_KIND")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    eprintln!("generating the data set of {patients} patients to check answers against…");
    let data = Arc::new(Data::generate(patients));
    eprintln!("{} resources", data.total);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let failures = Arc::new(AtomicU64::new(0));

    println!("| query | p50 ms | p99 ms | checked |");
    println!("|---|---|---|---|");
    for kind in KINDS {
        let mut times = Vec::with_capacity(per_kind);
        for i in 0..per_kind + 10 {
            let (url, check) = query(&data, kind, &mut rng);
            match fetch(&client, &base, &url).await {
                Ok((elapsed, body)) => {
                    if let Err(problem) = check(&body) {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("WRONG {url}: {problem}");
                    }
                    if i >= 10 {
                        times.push(elapsed);
                    }
                }
                Err(problem) => {
                    failures.fetch_add(1, Ordering::Relaxed);
                    eprintln!("FAILED {url}: {problem}");
                }
            }
        }
        times.sort();
        println!(
            "| {} | {:.2} | {:.2} | {} |",
            kind.label(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            times.len()
        );
    }

    let concurrency = 32;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for w in 0..concurrency {
        let (data, client, base, done, failures) = (
            data.clone(),
            client.clone(),
            base.clone(),
            done.clone(),
            failures.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ ((w as u64 + 1) * 0x1234_5678));
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let kind = KINDS[rng.below(KINDS.len())];
                let (url, check) = query(&data, kind, &mut rng);
                match fetch(&client, &base, &url).await {
                    Ok((elapsed, body)) => {
                        if let Err(problem) = check(&body) {
                            failures.fetch_add(1, Ordering::Relaxed);
                            eprintln!("WRONG {url}: {problem}");
                        }
                        times.push(elapsed);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(problem) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        eprintln!("FAILED {url}: {problem}");
                    }
                }
            }
            times
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    println!();
    println!(
        "mix at concurrency {concurrency}: {} requests in {elapsed:.1} s = {:.0} requests/s (p50 {:.1} ms, p99 {:.1} ms); wrong or failed answers: {}",
        done.load(Ordering::Relaxed),
        done.load(Ordering::Relaxed) as f64 / elapsed,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        failures.load(Ordering::Relaxed)
    );
    if failures.load(Ordering::Relaxed) > 0 {
        std::process::exit(1);
    }
}
