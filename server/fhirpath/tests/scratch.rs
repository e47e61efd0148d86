//! Temporary differential run against fhirpath.js output.

#[test]
#[ignore = "scratch"]
fn differential() {
    let dir = std::env::var("DIFF_DIR").unwrap();
    let model = &crate::package::core().model;
    let env = tillit_fhirpath::Environment::new(model);
    let jobs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/jobs.json")).unwrap())
            .unwrap();
    let mut out = String::new();
    for file in jobs["files"].as_array().unwrap() {
        let file = file.as_str().unwrap();
        let res: serde_json::Value = serde_json::from_str(
            std::fs::read_to_string(file)
                .unwrap()
                .trim_start_matches('\u{feff}'),
        )
        .unwrap();
        for e in jobs["expressions"].as_array().unwrap() {
            let text = e.as_str().unwrap();
            let result = match tillit_fhirpath::Expression::parse(text)
                .and_then(|x| x.evaluate(&res, &env))
            {
                Ok(items) => serde_json::Value::Array(items.iter().map(|i| i.to_json()).collect()),
                Err(err) => serde_json::json!({"error": err.to_string()}),
            };
            out.push_str(
                &serde_json::json!({"file": file, "ri": 0, "expr": text, "result": result})
                    .to_string(),
            );
            out.push('\n');
        }
    }
    std::fs::write(format!("{dir}/rs.jsonl"), out).unwrap();
}
