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

/// The expression of `shape` with the largest size the parser accepts.
fn deepest(shape: impl Fn(usize) -> String) -> String {
    (1..400)
        .rev()
        .map(&shape)
        .find(|text| Expression::parse(text).is_ok())
        .unwrap_or_else(|| shape(1))
}

#[test]
fn the_deepest_expressions_allowed_evaluate_on_a_small_stack() {
    let patient = input("patient-example.json");
    let shapes: Vec<String> = vec![
        deepest(|n| format!("{}1{}", "(".repeat(n), ")".repeat(n))),
        deepest(|n| format!("Patient{}", ".name.first()".repeat(n))),
        deepest(|n| format!("{}1", "-".repeat(n))),
        deepest(|n| format!("{}true{}", "iif(true, ".repeat(n), ", false)".repeat(n))),
        deepest(|n| format!("{}true{}", "Patient.where(".repeat(n), ")".repeat(n))),
        deepest(|n| format!("{}1{}", "(1 + ".repeat(n), ")".repeat(n))),
        deepest(|n| format!("{}name{}", "Patient.select(".repeat(n), ".given)".repeat(n))),
    ];
    // Unions, `and` and `or` chains are flat: their length is not limited.
    let long = [
        vec!["Patient.name.given"; 5000].join(" | "),
        vec!["true"; 5000].join(" and "),
    ];
    // Servers run evaluations on 2 MiB stacks (tokio's default); these need far less.
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(move || {
            let env = Environment::new(&core().model);
            for text in shapes.iter().chain(&long) {
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
    const PIECES: &[&str] = &[
        "Patient",
        "name",
        "given",
        "value",
        "birthDate",
        "extension",
        ".",
        "(",
        ")",
        "[0]",
        "[1]",
        "$this",
        "$index",
        "$total",
        "%resource",
        "'x'",
        "'2020-01-02'",
        "1",
        "0",
        "-1",
        "2.5",
        "@2020-01",
        "@2020-01-02T10:00:00Z",
        "@T10:00",
        " = ",
        " != ",
        " ~ ",
        " !~ ",
        " < ",
        " >= ",
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
        " xor ",
        " implies ",
        " in ",
        " contains ",
        " is ",
        " as ",
        "Quantity",
        "String",
        "4 'mg'",
        "3 days",
        "1 'wk'",
        "{}",
        ",",
        "true",
    ];
    const FUNCTIONS: &[&str] = &[
        "empty",
        "exists",
        "all",
        "allTrue",
        "anyTrue",
        "allFalse",
        "anyFalse",
        "subsetOf",
        "supersetOf",
        "count",
        "distinct",
        "isDistinct",
        "where",
        "select",
        "repeat",
        "ofType",
        "single",
        "first",
        "last",
        "tail",
        "skip",
        "take",
        "intersect",
        "exclude",
        "union",
        "combine",
        "iif",
        "toBoolean",
        "toInteger",
        "toDecimal",
        "toString",
        "toDate",
        "toDateTime",
        "toTime",
        "toQuantity",
        "convertsToQuantity",
        "indexOf",
        "substring",
        "startsWith",
        "contains",
        "upper",
        "replace",
        "matches",
        "replaceMatches",
        "length",
        "toChars",
        "trim",
        "split",
        "join",
        "encode",
        "decode",
        "escape",
        "unescape",
        "abs",
        "ceiling",
        "exp",
        "floor",
        "ln",
        "log",
        "power",
        "round",
        "sqrt",
        "truncate",
        "children",
        "descendants",
        "trace",
        "now",
        "today",
        "timeOfDay",
        "is",
        "as",
        "type",
        "not",
        "aggregate",
        "sort",
        "lowBoundary",
        "highBoundary",
        "precision",
        "comparable",
        "yearOf",
        "dateOf",
        "sum",
        "min",
        "avg",
        "extension",
        "hasExtension",
        "resolve",
        "hasValue",
        "getValue",
        "conformsTo",
        "memberOf",
        "htmlChecks",
    ];
    let piece = |random: &mut Lcg| -> String {
        if random.next(3) == 0 {
            let function = FUNCTIONS[random.next(FUNCTIONS.len())];
            let args = [
                "",
                "1",
                "'a'",
                "$this",
                "0, 2",
                "Quantity",
                "'base64'",
                "$this > 1",
            ][random.next(8)];
            format!(".{function}({args})")
        } else {
            PIECES[random.next(PIECES.len())].to_owned()
        }
    };
    let env = Environment::new(&core().model);
    let resources = [
        input("patient-example.json"),
        input("observation-example.json"),
        Value::Null,
    ];
    // FUZZ_ITERATIONS=1000000 FUZZ_SEED=7 explores further.
    let iterations: usize = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(42);
    let mut random = Lcg(seed);
    let mut parsed = 0;
    for _ in 0..iterations {
        let length = 1 + random.next(8);
        let text: String = (0..length).map(|_| piece(&mut random)).collect();
        if let Ok(expression) = Expression::parse(&text) {
            parsed += 1;
            for resource in &resources {
                let _ = expression.evaluate(resource, &env);
            }
        }
    }
    println!("{parsed} of {iterations} random expressions parsed");
    assert!(parsed > 100, "only {parsed} random expressions parsed");
    const CHARS: &[u8] = b" ()[]{}.,'`@%$+-*/&|=~!<>0123456789aT:Z";
    for _ in 0..iterations {
        let text: String = (0..random.next(24))
            .map(|_| char::from(CHARS[random.next(CHARS.len())]))
            .collect();
        let _ = Expression::parse(&text).map(|e| e.evaluate(&resources[0], &env));
    }
}

#[test]
fn compiled_expressions_and_models_are_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Expression>();
    shared::<tillit_fhirpath::Model>();
    shared::<Environment<'static>>();
    shared::<Item<'static>>();
    shared::<tillit_fhirpath::Error>();
}

#[test]
fn without_definitions_navigation_still_works_untyped() {
    let model = tillit_fhirpath::Model::default();
    let env = Environment::new(&model);
    let observation = input("observation-example.json");
    assert_eq!(
        eval("Observation.value.code", &observation, &env)[0].as_str(),
        Some("[lb_av]")
    );
    assert_eq!(
        type_names(&eval("Observation.subject.resolve()", &observation, &env)),
        ["Patient"]
    );
    assert_eq!(
        type_names(&eval("Observation.effective", &observation, &env)),
        ["dateTime"]
    );
    assert_eq!(
        eval("Observation.effective > @2000-01-01", &observation, &env)[0].to_json(),
        json!(true)
    );
}

#[test]
fn distinct_and_union_use_value_equality_over_large_collections() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    let numbers = (1..=40)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" | ");
    let expression = format!("({numbers}).combine(1.0 | 2.00 | 40.0 | 'x').distinct().count()");
    assert_eq!(eval(&expression, &patient, &env)[0].to_json(), json!(41));
    let expression = format!("(({numbers}) | 1.0 | 40.0).count()");
    assert_eq!(eval(&expression, &patient, &env)[0].to_json(), json!(40));
    assert_eq!(
        eval(
            "Patient.descendants().count() > Patient.descendants().distinct().count()",
            &patient,
            &env
        )[0]
        .to_json(),
        json!(true)
    );
    let given = "Patient.name.given.combine(Patient.name.given).combine(Patient.name.given).combine(Patient.name.given)";
    assert_eq!(
        eval(&format!("{given}.count()"), &patient, &env)[0].to_json(),
        json!(20)
    );
    assert_eq!(
        eval(&format!("{given}.distinct().count()"), &patient, &env)[0].to_json(),
        json!(3)
    );
    assert_eq!(
        eval(
            &format!("{given}.intersect('Jim' | 'Peter').count()"),
            &patient,
            &env
        )[0]
        .to_json(),
        json!(2)
    );
}

#[test]
fn define_variable_is_seen_by_the_rest_of_the_chain_only() {
    let env = Environment::new(&core().model);
    let patient = input("patient-example.json");
    let seen = "Patient.name.first().defineVariable('official').select(%official.given.first())";
    assert_eq!(eval(seen, &patient, &env)[0].as_str(), Some("Peter"));
    let with_value =
        "Patient.defineVariable('n', name.count()).name.where(given.count() < %n).count()";
    assert_eq!(eval(with_value, &patient, &env)[0].to_json(), json!(3));
    let per_item = "Patient.name.select(defineVariable('g', given.first()).select(%g)).count()";
    assert_eq!(eval(per_item, &patient, &env)[0].to_json(), json!(3));
    for (expression, kind) in [
        (
            "(Patient.defineVariable('x', 1) | 2) | %x",
            ErrorKind::Semantic,
        ),
        (
            "Patient.defineVariable('x', 1).defineVariable('x', 2)",
            ErrorKind::Semantic,
        ),
        ("Patient.defineVariable('resource')", ErrorKind::Semantic),
    ] {
        let error = Expression::parse(expression)
            .expect("parses")
            .evaluate(&patient, &env)
            .expect_err(expression);
        assert_eq!(error.kind(), kind, "{expression}");
    }
}
