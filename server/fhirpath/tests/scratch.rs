//! scratch
#[test]
#[ignore = "scratch"]
fn depth_probe() {
    let patient = crate::package::input("patient-example.json");
    let shapes: Vec<(&str, Box<dyn Fn(usize) -> String>)> = vec![
        (
            "parens",
            Box::new(|n| format!("{}1{}", "(".repeat(n), ")".repeat(n))),
        ),
        (
            "union",
            Box::new(|n| vec!["Patient.name.given"; n].join(" | ")),
        ),
        (
            "first",
            Box::new(|n| format!("Patient{}", ".name.first()".repeat(n / 2))),
        ),
        ("neg", Box::new(|n| format!("{}1", "-".repeat(n)))),
        (
            "iif",
            Box::new(|n| {
                format!(
                    "{}true{}",
                    "iif(true, ".repeat(n / 2),
                    ", false)".repeat(n / 2)
                )
            }),
        ),
        (
            "where",
            Box::new(|n| {
                format!(
                    "{}true{}",
                    "Patient.where(".repeat(n / 2),
                    ")".repeat(n / 2)
                )
            }),
        ),
    ];
    let want = std::env::var("SHAPE").unwrap();
    let stack: usize = std::env::var("STACK").unwrap().parse().unwrap();
    let depth: usize = std::env::var("DEPTH").unwrap().parse().unwrap();
    for (name, shape) in shapes {
        if name != want {
            continue;
        }
        {
            let text = shape(depth);
            let p = patient.clone();
            let ok = std::thread::Builder::new()
                .stack_size(stack)
                .spawn(move || {
                    let env = tillit_fhirpath::Environment::new(&crate::package::core().model);
                    let e = tillit_fhirpath::Expression::parse(&text).unwrap();
                    let _ = e.evaluate(&p, &env);
                })
                .unwrap()
                .join()
                .is_ok();
            println!("RESULT {name} depth{depth} stack {}K ok={ok}", stack >> 10);
        }
    }
}
