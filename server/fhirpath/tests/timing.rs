//! Evaluation speed on typical search-parameter expressions. Ignored by default; run with
//! `cargo test -p tillit-fhirpath --release --test suite -- --ignored --nocapture`.

use std::time::Instant;

use tillit_fhirpath::{Environment, Expression};

use crate::package::{core, input};

#[test]
#[ignore = "timing, run in release mode"]
fn search_expressions_evaluate_in_microseconds() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    let observation = input("observation-example.json");
    let cases = [
        ("Patient.name.where(use='official').given.first()", &patient),
        ("Patient.name", &patient),
        ("Patient.telecom.where(system='phone')", &patient),
        (
            "Patient.deceased.exists() and Patient.deceased != false",
            &patient,
        ),
        (
            "Observation.subject.where(resolve() is Patient)",
            &observation,
        ),
        (
            "(Observation.value as Quantity) | (Observation.value as SampledData)",
            &observation,
        ),
        ("Observation.effective", &observation),
        (
            "Observation.code.coding.where(system = %loinc).code",
            &observation,
        ),
    ];
    for (text, resource) in cases {
        let expression = Expression::parse(text).expect("parses");
        // The best of several rounds, so other work on the machine disturbs less.
        let iterations = 50_000;
        let mut count = 0;
        let mut per_eval = f64::MAX;
        for _ in 0..7 {
            let start = Instant::now();
            for _ in 0..iterations {
                count += expression
                    .evaluate(resource, &env)
                    .expect("evaluates")
                    .len();
            }
            per_eval = per_eval.min(start.elapsed().as_secs_f64() * 1e6 / f64::from(iterations));
        }
        assert!(count > 0, "{text} found nothing");
        println!("{per_eval:>8.3} µs  {text}");
    }
    let start = Instant::now();
    for _ in 0..10_000 {
        Expression::parse("Patient.name.where(use='official').given.first()").expect("parses");
    }
    println!(
        "{:>8.3} µs  parse and compile",
        start.elapsed().as_secs_f64() * 1e6 / 10_000.0
    );
}
