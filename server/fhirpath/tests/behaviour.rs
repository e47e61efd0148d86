//! Behaviour the server relies on: references typed without a resolver, choice types, `_name`
//! primitives, lenient `as`, variables and hooks, and evaluation that never panics.

use serde_json::{json, Value};
use tillit_fhirpath::{Environment, ErrorKind, Expression, Item, Resolver, Terminology, Validator};

use crate::package::{core, input};

fn eval<'a>(expression: &str, resource: &'a Value, env: &Environment<'a>) -> Vec<Item<'a>> {
    Expression::parse(expression)
        .expect("parses")
        .evaluate(resource, env)
        .expect("evaluates")
}

fn type_names(items: &[Item<'_>]) -> Vec<String> {
    items.iter().map(|i| i.type_name().to_owned()).collect()
}

#[test]
fn resolve_without_a_resolver_types_relative_and_absolute_references() {
    let env = Environment::new(&core().model);
    let observation = json!({"resourceType": "Observation", "status": "final",
        "subject": {"reference": "Patient/123"},
        "performer": [{"reference": "https://example.org/fhir/Practitioner/9/_history/2"},
                      {"reference": "#org"}, {"reference": "urn:uuid:0c3151bd"}, {"display": "no reference"}],
        "contained": [{"resourceType": "Organization", "id": "org", "name": "Acme"}]});
    let subject = eval("Observation.subject.resolve()", &observation, &env);
    assert_eq!(type_names(&subject), ["Patient"]);
    assert!(subject[0].json().is_none());
    let performers = eval("Observation.performer.resolve()", &observation, &env);
    assert_eq!(type_names(&performers), ["Practitioner", "Organization"]);
    assert_eq!(
        performers[1].json().and_then(|o| o["name"].as_str()),
        Some("Acme")
    );
    assert_eq!(
        eval("Observation.performer.resolve().name", &observation, &env)[0].as_str(),
        Some("Acme")
    );
    let is_patient = eval(
        "Observation.subject.where(resolve() is Patient)",
        &observation,
        &env,
    );
    assert_eq!(type_names(&is_patient), ["Reference"]);
    assert!(eval(
        "Observation.performer.where(resolve() is Patient)",
        &observation,
        &env
    )
    .is_empty());
    assert_eq!(
        eval(
            "Observation.subject.resolve() is DomainResource",
            &observation,
            &env
        )[0]
        .to_json(),
        json!(true)
    );
    let unknown = json!({"resourceType": "Observation", "subject": {"reference": "Nonsense/1"}});
    assert!(eval("Observation.subject.resolve()", &unknown, &env).is_empty());
}

struct OnePatient(Value);

impl Resolver for OnePatient {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        (reference == "Patient/123").then_some(&self.0)
    }
}

#[test]
fn resolve_asks_the_resolver_first() {
    let resolver = OnePatient(json!({"resourceType": "Patient", "id": "123", "gender": "female"}));
    let env = Environment::new(&core().model).with_resolver(&resolver);
    let observation =
        json!({"resourceType": "Observation", "subject": {"reference": "Patient/123"}});
    let gender = eval("Observation.subject.resolve().gender", &observation, &env);
    assert_eq!(gender[0].as_str(), Some("female"));
    assert_eq!(type_names(&gender), ["code"]);
}

#[test]
fn choice_elements_are_found_by_name_and_typed_by_suffix() {
    let env = Environment::new(&core().model);
    let observation = input("observation-example.json");
    let value = eval("Observation.value", &observation, &env);
    assert_eq!(type_names(&value), ["Quantity"]);
    assert_eq!(
        eval(
            "Observation.value.ofType(Quantity).code",
            &observation,
            &env
        )[0]
        .as_str(),
        Some("[lb_av]")
    );
    let error = Expression::parse("Observation.valueQuantity")
        .expect("parses")
        .evaluate(&observation, &env)
        .expect_err("typed name");
    assert_eq!(error.kind(), ErrorKind::Semantic);
    let string = json!({"resourceType": "Observation", "valueString": "high",
        "_valueString": {"extension": [{"url": "http://x", "valueCode": "c"}]}});
    assert_eq!(
        type_names(&eval("Observation.value", &string, &env)),
        ["string"]
    );
    assert_eq!(
        eval(
            "Observation.value.extension('http://x').value",
            &string,
            &env
        )[0]
        .as_str(),
        Some("c")
    );
    assert_eq!(
        core().model.element_type("Observation", "valueQuantity"),
        Some("Quantity")
    );
    assert_eq!(
        core().model.element_type("Patient.contact", "name"),
        Some("HumanName")
    );
}

#[test]
fn primitives_keep_their_underscore_companions() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    let birth_time = eval("Patient.birthDate.extension('http://hl7.org/fhir/StructureDefinition/patient-birthTime').value", &patient, &env);
    assert_eq!(type_names(&birth_time), ["dateTime"]);
    let only_extension = json!({"resourceType": "Patient",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]},
        "name": [{"given": ["A", null], "_given": [null, {"id": "g2"}]}]});
    let birth_date = eval("Patient.birthDate", &only_extension, &env);
    assert_eq!(type_names(&birth_date), ["date"]);
    assert!(birth_date[0].json().is_none());
    assert_eq!(
        eval("Patient.birthDate.hasValue()", &only_extension, &env)[0].to_json(),
        json!(false)
    );
    assert_eq!(
        eval("Patient.birthDate.extension.value", &only_extension, &env)[0].as_str(),
        Some("unknown")
    );
    assert_eq!(
        eval("Patient.name.given.id", &only_extension, &env)[0].as_str(),
        Some("g2")
    );
    assert_eq!(
        eval("Patient.name.given.count()", &only_extension, &env)[0].to_json(),
        json!(2)
    );
}

#[test]
fn as_operator_is_lenient_but_the_as_function_is_not() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    assert_eq!(
        eval("(Patient.name as HumanName).count()", &patient, &env)[0].to_json(),
        json!(3)
    );
    let error = Expression::parse("Patient.name.as(HumanName)")
        .expect("parses")
        .evaluate(&patient, &env)
        .expect_err("several");
    assert_eq!(error.kind(), ErrorKind::Execution);
    assert_eq!(
        eval("Patient.name.ofType(HumanName).count()", &patient, &env)[0].to_json(),
        json!(3)
    );
}

#[test]
fn variables_and_environment_constants() {
    let model = &core().model;
    let questionnaire = input("questionnaire-example.json");
    let env = Environment::new(model)
        .with_variable("limit", json!(2))
        .with_variable("codes", json!(["a", "b"]))
        .with_variable("object", json!({"x": 1}))
        .with_node_variable("questionnaire", &questionnaire);
    let patient = input("patient-example.json");
    assert_eq!(
        eval("Patient.name.take(%limit).count()", &patient, &env)[0].to_json(),
        json!(2)
    );
    assert_eq!(
        eval("%codes.count()", &patient, &env)[0].to_json(),
        json!(2)
    );
    assert_eq!(
        eval("%questionnaire.item.count() > 0", &patient, &env)[0].to_json(),
        json!(true)
    );
    assert_eq!(
        eval("%resource.id", &patient, &env)[0].as_str(),
        Some("example")
    );
    assert_eq!(
        eval("%ucum", &patient, &env)[0].as_str(),
        Some("http://unitsofmeasure.org")
    );
    for (expression, kind) in [
        ("%object", ErrorKind::Execution),
        ("%missing", ErrorKind::Semantic),
    ] {
        let error = Expression::parse(expression)
            .expect("parses")
            .evaluate(&patient, &env)
            .expect_err(expression);
        assert_eq!(error.kind(), kind, "{expression}");
    }
}

struct Genders;

impl Terminology for Genders {
    fn member_of(&self, _system: Option<&str>, code: &str, value_set: &str) -> Option<bool> {
        (value_set == "http://hl7.org/fhir/ValueSet/administrative-gender")
            .then(|| ["male", "female"].contains(&code))
    }
}

struct NoProfiles;

impl Validator for NoProfiles {
    fn conforms_to(&self, _resource: &Value, profile: &str) -> Option<bool> {
        profile.ends_with("/strict-patient").then_some(false)
    }
}

#[test]
fn member_of_and_conforms_to_use_the_hooks() {
    let patient = input("patient-example.json");
    let env = Environment::new(&core().model)
        .with_terminology(&Genders)
        .with_validator(&NoProfiles);
    assert_eq!(
        eval(
            "Patient.gender.memberOf(%`vs-administrative-gender`)",
            &patient,
            &env
        )[0]
        .to_json(),
        json!(true)
    );
    assert!(eval(
        "Patient.gender.memberOf('http://example.org/vs')",
        &patient,
        &env
    )
    .is_empty());
    assert_eq!(
        eval(
            "conformsTo('http://example.org/strict-patient')",
            &patient,
            &env
        )[0]
        .to_json(),
        json!(false)
    );
    assert_eq!(
        eval(
            "conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')",
            &patient,
            &env
        )[0]
        .to_json(),
        json!(true)
    );
    let plain = Environment::new(&core().model);
    assert!(eval(
        "Patient.gender.memberOf(%`vs-administrative-gender`)",
        &patient,
        &plain
    )
    .is_empty());
}

#[test]
fn trace_reports_to_the_hook() {
    let seen = std::sync::Mutex::new(Vec::new());
    let trace = |name: &str, items: &[Item<'_>]| {
        seen.lock()
            .expect("lock")
            .push(format!("{name}:{}", items.len()))
    };
    let patient = input("patient-example.json");
    let env = Environment::new(&core().model).with_trace(&trace);
    assert_eq!(
        eval(
            "Patient.name.trace('names').given.trace('given', $this.length()).count()",
            &patient,
            &env
        )[0]
        .to_json(),
        json!(5)
    );
    assert_eq!(*seen.lock().expect("lock"), ["names:3", "given:5"]);
}

#[test]
fn overflow_and_bad_input_are_errors_not_panics() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    for expression in [
        "9223372036854775807 + 1",
        "(-9223372036854775807 - 1).abs()",
        "2.power(64)",
        "@9999-12-31 + 1 day",
    ] {
        let result = Expression::parse(expression)
            .expect("parses")
            .evaluate(&patient, &env);
        assert!(result.is_err(), "{expression} gave {result:?}");
    }
    let deep = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(
        Expression::parse(&deep).expect_err("too deep").kind(),
        ErrorKind::Syntax
    );
    let repeat = Expression::parse("1.repeat($this + 1)").expect("parses");
    assert!(repeat.evaluate(&patient, &env).is_err());
}

#[test]
fn the_deepest_expressions_allowed_evaluate_on_a_small_stack() {
    let patient = input("patient-example.json");
    let deepest: Vec<String> = [1, 2, 4]
        .into_iter()
        .flat_map(|k| {
            let n = 190 / k;
            [
                format!("{}1{}", "(".repeat(n), ")".repeat(n)),
                vec!["Patient.name.given"; n].join(" | "),
                format!("Patient{}", ".name.first()".repeat(n / 2)),
                format!("{}1", "-".repeat(n)),
                format!(
                    "{}true{}",
                    "iif(true, ".repeat(n / 2),
                    ", false)".repeat(n / 2)
                ),
            ]
        })
        .collect();
    // Servers run evaluations on 2 MiB stacks (tokio's default); leave room for the caller.
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            let env = Environment::new(&core().model);
            for text in &deepest {
                let expression = Expression::parse(text).unwrap_or_else(|e| panic!("{e}: {text}"));
                let _ = expression.evaluate(&patient, &env);
            }
        })
        .expect("thread")
        .join()
        .expect("no stack overflow");
}

/// A small deterministic generator, so the test needs no property-testing crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }
}

#[test]
fn random_expressions_never_panic() {
    const PIECES: [&str; 48] = [
        "Patient",
        "name",
        "given",
        ".",
        "(",
        ")",
        "[0]",
        "where(",
        "select(",
        "$this",
        "'x'",
        "1",
        "2.5",
        "@2020-01",
        "@T10:00",
        " = ",
        " != ",
        " ~ ",
        " < ",
        " + ",
        " - ",
        " * ",
        " / ",
        " div ",
        " mod ",
        " & ",
        " | ",
        " and ",
        " or ",
        " implies ",
        " is ",
        " as ",
        "Quantity",
        "4 'mg'",
        "3 days",
        "first()",
        "count()",
        "exists()",
        "resolve()",
        "descendants()",
        "ofType(string)",
        "substring(1)",
        "replaceMatches('a', 'b')",
        "lowBoundary()",
        ".extension('u')",
        "{}",
        ",",
        "aggregate($total + $this, 0)",
    ];
    let env = Environment::new(&core().model);
    let resources = [
        input("patient-example.json"),
        input("observation-example.json"),
        Value::Null,
    ];
    let mut random = Lcg(42);
    let mut parsed = 0;
    for _ in 0..3000 {
        let length = 1 + random.next(8);
        let text: String = (0..length)
            .map(|_| PIECES[random.next(PIECES.len())])
            .collect();
        if let Ok(expression) = Expression::parse(&text) {
            parsed += 1;
            for resource in &resources {
                let _ = expression.evaluate(resource, &env);
            }
        }
    }
    assert!(parsed > 100, "only {parsed} random expressions parsed");
    const CHARS: &[u8] = b" ()[]{}.,'`@%$+-*/&|=~!<>0123456789aT:Z";
    for _ in 0..3000 {
        let text: String = (0..random.next(24))
            .map(|_| char::from(CHARS[random.next(CHARS.len())]))
            .collect();
        let _ = Expression::parse(&text).map(|e| e.evaluate(&resources[0], &env));
    }
}
