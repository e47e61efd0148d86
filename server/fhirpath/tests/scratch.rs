//! scratch
#[test]
#[ignore = "scratch"]
fn hot_loop() {
    let env = tillit_fhirpath::Environment::new(&crate::package::core().model);
    let which = std::env::var("WHICH").unwrap_or_else(|_| "patient".into());
    let (text, file) = match which.as_str() {
        "patient" => ("Patient.name", "patient-example.json"),
        _ => ("Observation.effective", "observation-example.json"),
    };
    let resource = crate::package::input(file);
    let e = tillit_fhirpath::Expression::parse(text).unwrap();
    let mut n = 0;
    for _ in 0..5_000_000 { n += e.evaluate(&resource, &env).unwrap().len(); }
    assert!(n > 0);
}
