//! Turns a [`Condition`] tree into SQL over one resource alias, joining the
//! caller's [`Visibility`] into every resource the SQL reaches.
//!
//! Index conditions are `rid IN (SELECT rid FROM search_… WHERE pid … )`
//! sub-selects, which both databases can drive from the lookup index.

use sea_orm::Value;

use crate::dialect::tuples;
use crate::index::{param_id, IndexTable};

use super::condition::{Condition, Prefix, StringTest, UriTest, ValueTest, Visibility};
use super::plan::Plan;

/// The largest code point: appended to a prefix, it bounds every string that
/// starts with the prefix (byte order in SQLite and in PostgreSQL's "C" collation).
const PREFIX_END: char = '\u{10FFFF}';

/// SQL text and its bound values, built up in order.
pub(crate) struct Builder<'v> {
    /// The SQL so far.
    pub sql: String,
    /// The values of its `?` placeholders.
    pub values: Vec<Value>,
    visibility: &'v Visibility,
    /// Off while writing a visibility condition itself (policies are trusted
    /// and must not recurse into themselves).
    apply_visibility: bool,
    aliases: usize,
    /// Write index conditions as correlated `EXISTS` probes of one resource's
    /// rows (by `rid`, the leading key of every index table) instead of
    /// `rid IN (…)` sets: for every condition but the one that drives a query.
    probe: bool,
    /// SQLite, whose planner (without statistics) needs telling which index a
    /// probe may use.
    sqlite: bool,
    /// The top-level condition chosen (by [`super::plan`]) to drive the
    /// query; taken by the first [`Builder::conditions`] call.
    driver: Option<usize>,
    /// The driver yields many candidates: chains probe them against the set
    /// of qualifying targets, found once, instead of following each one's
    /// references.
    probe_sets: bool,
}

/// The columns a value test reads: plain index rows, or a composite's second component.
struct Columns {
    system: &'static str,
    code: &'static str,
    folded: &'static str,
    low: &'static str,
    high: &'static str,
}

const PLAIN: Columns = Columns {
    system: "x.system",
    code: "x.code",
    folded: "x.folded",
    low: "x.low",
    high: "x.high",
};

/// Plain columns, with `high` hidden from SQLite's index choice.
const UNINDEXED_HIGH: Columns = Columns {
    high: "+x.high",
    ..PLAIN
};

/// Plain columns, hidden from SQLite's index choice.
const UNINDEXED: Columns = Columns {
    low: "+x.low",
    high: "+x.high",
    ..UNINDEXED_HIGH
};

const SECOND: Columns = Columns {
    system: "x.second_system",
    code: "x.second_code",
    folded: "x.second_code",
    low: "x.low",
    high: "x.high",
};

impl<'v> Builder<'v> {
    /// An empty builder that applies `visibility`, writing SQL for SQLite or
    /// (with `postgres`) PostgreSQL.
    pub fn new(visibility: &'v Visibility, postgres: bool) -> Builder<'v> {
        Builder {
            sql: String::new(),
            values: Vec::new(),
            visibility,
            apply_visibility: true,
            aliases: 0,
            probe: false,
            sqlite: !postgres,
            driver: None,
            probe_sets: false,
        }
    }

    /// Follows `plan`: its driver drives, and many candidates make chains
    /// probe against target sets.
    pub fn with_plan(mut self, plan: &Plan) -> Builder<'v> {
        self.driver = plan.driver;
        // PostgreSQL joins a target set into each probe (and finds it again per
        // candidate) even when fenced; it follows references instead.
        self.probe_sets = plan.many_candidates && self.sqlite;
        self
    }

    /// Appends the conditions of a query over `alias`: the most selective
    /// condition drives (an index lookup giving candidate rows), every other
    /// one probes each candidate's own index rows (inside a probe, all do). Both databases then read
    /// a few index entries per candidate instead of building every
    /// condition's full set of matches.
    pub fn conditions(&mut self, alias: &str, scope: &[String], condition: &Condition) {
        let chosen = self.driver.take();
        let Condition::All(_) = condition else {
            self.condition(alias, scope, condition);
            return;
        };
        let mut parts = Vec::new();
        flatten(condition, &mut parts);
        // Inside a probe, every part probes.
        let chosen = chosen.filter(|i| *i < parts.len() && !self.probe);
        let driver = chosen.or_else(|| {
            parts
                .iter()
                .enumerate()
                .filter(|(_, c)| !self.probe && rank(c) < NO_DRIVER)
                .min_by_key(|(_, c)| rank(c))
                .map(|(i, _)| i)
        });
        // The driver first, then the cheaper probes before the dearer ones.
        let mut order: Vec<usize> = (0..parts.len()).collect();
        order.sort_by_key(|i| (Some(*i) != driver, rank(parts[*i])));
        let index_driver = driver.filter(|i| has_rid_set(parts[*i]));
        self.push("(1 = 1");
        let was = self.probe;
        if let Some(d) = index_driver {
            // Probes that read only index rows filter the driver's rows before
            // any resource row is read.
            let rows = self.fresh_alias("d");
            self.push(&format!(" AND {alias}.rid IN (SELECT {rows}.rid FROM ("));
            self.rid_set(scope, parts[d]);
            self.push(&format!(") {rows} WHERE 1 = 1"));
            self.probe = true;
            for &i in order
                .iter()
                .filter(|&&i| i != d && reads_only_index_rows(parts[i]))
            {
                self.push(" AND ");
                self.condition(&rows, scope, parts[i]);
            }
            self.push(")");
            order.retain(|&i| i != d && !reads_only_index_rows(parts[i]));
        }
        for i in order {
            self.push(" AND ");
            self.probe = Some(i) != driver;
            self.condition(alias, scope, parts[i]);
        }
        self.probe = was;
        self.push(")");
    }

    /// Closes a probe's `EXISTS (…`. On PostgreSQL `OFFSET 0` keeps the
    /// planner from turning the probe into a join that it might run first
    /// (from its row estimates, which are poor for these tables): the driver
    /// chosen by [`super::plan`] drives there too.
    fn close_probe(&mut self) {
        if !self.sqlite {
            self.push(" OFFSET 0");
        }
        self.push(")");
    }

    /// Whether the SQL is for SQLite (else PostgreSQL).
    pub fn is_sqlite(&self) -> bool {
        self.sqlite
    }

    /// Appends `text`.
    pub fn push(&mut self, text: &str) {
        self.sql.push_str(text);
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) {
        self.sql.push('?');
        self.values.push(value.into());
    }

    /// Appends `(?, ?, …)` binding `values`; `(NULL)`, which matches nothing,
    /// when there are none.
    fn bind_list<T: Into<Value> + Clone>(&mut self, values: &[T]) {
        if values.is_empty() {
            self.sql.push_str("(NULL)");
            return;
        }
        self.sql.push('(');
        self.sql.push_str(&tuples(values.len(), "?"));
        self.sql.push(')');
        self.values.extend(values.iter().cloned().map(Into::into));
    }

    fn fresh_alias(&mut self, stem: &str) -> String {
        self.aliases += 1;
        format!("{stem}{}", self.aliases)
    }

    /// Appends SQL that is true when resource row `alias`, of one of the types
    /// `scope`, meets `condition`.
    pub fn condition(&mut self, alias: &str, scope: &[String], condition: &Condition) {
        match condition {
            Condition::All(parts) => self.join(alias, scope, parts, " AND ", "1 = 1"),
            Condition::Any(_) if !self.probe && has_rid_set(condition) => {
                self.drive(alias, scope, condition);
            }
            Condition::Any(parts) => self.join(alias, scope, parts, " OR ", "1 = 0"),
            Condition::Not(inner) => {
                self.push("NOT (");
                let was = self.probe;
                self.probe = true;
                self.condition(alias, scope, inner);
                self.probe = was;
                self.push(")");
            }
            Condition::Id(ids) if ids.is_empty() => self.push("1 = 0"),
            Condition::Id(ids) => {
                self.push(&format!("{alias}.res_id IN "));
                self.bind_list(ids);
            }
            Condition::Type(types) if types.is_empty() => self.push("1 = 0"),
            Condition::Type(types) => {
                self.push(&format!("{alias}.res_type IN "));
                self.bind_list(types);
            }
            Condition::LastUpdated(windows) => {
                self.push("(");
                for (i, window) in windows.iter().enumerate() {
                    if i > 0 {
                        self.push(" OR ");
                    }
                    self.push(if window.negate { "NOT (" } else { "(" });
                    self.push("1 = 1");
                    if let Some(from) = window.from {
                        self.push(&format!(" AND {alias}.last_updated >= "));
                        self.bind(from);
                    }
                    if let Some(to) = window.to {
                        self.push(&format!(" AND {alias}.last_updated < "));
                        self.bind(to);
                    }
                    self.push(")");
                }
                if windows.is_empty() {
                    self.push("1 = 0");
                }
                self.push(")");
            }
            Condition::Match { param, tests } => {
                let Some(table) = tests.first().map(ValueTest::table) else {
                    self.push("1 = 0");
                    return;
                };
                if self.probe {
                    self.push(&format!(
                        "EXISTS (SELECT 1 FROM {} x WHERE x.rid = {alias}.rid AND x.pid IN ",
                        table.name()
                    ));
                    self.bind_pids(scope, param);
                    self.push(" AND (");
                    let tests_start = self.sql.len();
                    self.any_value_test(tests);
                    if self.sqlite {
                        // Only the primary key (rid, pid) may serve a probe:
                        // `+x.col` keeps SQLite off the value indexes.
                        let tests_sql = self.sql.split_off(tests_start);
                        self.sql.push_str(&unindexed(&tests_sql));
                    }
                    self.push(")");
                    self.close_probe();
                    return;
                }
                self.drive(alias, scope, condition);
            }
            Condition::Missing {
                param,
                table,
                missing,
            } => {
                // A value is an index row, or a presence row for an element
                // that gave no searchable value.
                let (negation, joiner) = if *missing {
                    ("NOT ", " AND ")
                } else {
                    ("", " OR ")
                };
                self.push("(");
                for (i, table) in [*table, IndexTable::Present].into_iter().enumerate() {
                    if i > 0 {
                        self.push(joiner);
                    }
                    self.push(&format!(
                        "{negation}EXISTS (SELECT 1 FROM {} x WHERE x.rid = {alias}.rid AND x.pid IN ",
                        table.name()
                    ));
                    self.bind_pids(scope, param);
                    self.push(")");
                }
                self.push(")");
            }
            Condition::Compartment { .. } if !self.probe => {
                self.drive(alias, scope, condition);
            }
            Condition::Compartment {
                params,
                target_type,
                target_id,
            } => {
                let pids = compartment_pids(params, scope);
                if pids.is_empty() {
                    self.push("1 = 0");
                    return;
                }
                self.push(&format!(
                    "EXISTS (SELECT 1 FROM search_reference x WHERE x.rid = {alias}.rid AND "
                ));
                self.compartment_rows(&pids, target_type, target_id);
                self.close_probe();
            }
            Condition::Chain {
                param,
                target_types,
                condition,
            } => self.chain(alias, scope, param, target_types, condition),
            Condition::Has {
                source_type,
                param,
                condition,
            } => self.has(alias, scope, source_type, param, condition),
        }
    }

    /// Chaining: a reference of `param` points at a resource of one of
    /// `target_types` that meets `condition`. Driving, the (usually few)
    /// targets that qualify are found first and their referrers looked up in
    /// the reference index. Probing, each candidate's references are followed
    /// to their targets; or, when the candidates are many
    /// ([`Builder::probe_sets`]), checked against the set of qualifying
    /// targets, found once.
    fn chain(
        &mut self,
        alias: &str,
        scope: &[String],
        param: &str,
        target_types: &[String],
        condition: &Condition,
    ) {
        let target = self.fresh_alias("t");
        let refs = self.fresh_alias("x");
        if self.probe && !self.probe_sets {
            self.push(&format!(
                "EXISTS (SELECT 1 FROM search_reference {refs} JOIN resource {target} \
                 ON {target}.res_type = {refs}.target_type AND {target}.res_id = {refs}.target_id \
                 WHERE {refs}.rid = {alias}.rid AND {refs}.pid IN "
            ));
            self.bind_pids(scope, param);
            self.push(&format!(" AND {refs}.target_type IN "));
            self.bind_list(target_types);
            self.push(&format!(" AND NOT {target}.deleted AND "));
            self.condition(&target, target_types, condition);
            self.visible(&target, Some(target_types));
            self.close_probe();
            return;
        }
        if self.probe {
            self.push(&format!(
                "EXISTS (SELECT 1 FROM search_reference {refs} WHERE {refs}.rid = {alias}.rid AND {refs}.pid IN "
            ));
        } else {
            self.push(&format!(
                "{alias}.rid IN (SELECT {refs}.rid FROM search_reference {refs} WHERE {refs}.pid IN "
            ));
        }
        self.bind_pids(scope, param);
        // A probe reads the candidate's own rows by primary key; `+` keeps
        // SQLite from turning the target set into lookups instead.
        let plus = if self.probe && self.sqlite { "+" } else { "" };
        let was = std::mem::replace(&mut self.probe, false);
        if let [only] = target_types {
            self.push(&format!(" AND {refs}.target_type = "));
            self.bind(only.clone());
            self.push(&format!(
                " AND {plus}{refs}.target_id IN (SELECT {target}.res_id FROM resource {target} \
                 WHERE {target}.res_type = "
            ));
            self.bind(only.clone());
        } else {
            self.push(&format!(
                " AND ({plus}{refs}.target_type, {plus}{refs}.target_id) IN (SELECT {target}.res_type, \
                 {target}.res_id FROM resource {target} WHERE {target}.res_type IN "
            ));
            self.bind_list(target_types);
        }
        self.push(&format!(" AND NOT {target}.deleted AND "));
        self.conditions(&target, target_types, condition);
        self.visible(&target, Some(target_types));
        self.probe = was;
        self.push(")");
        if self.probe {
            self.close_probe();
        } else {
            self.push(")");
        }
    }

    /// `_has`: a resource of `source_type` refers to this one by `param` and
    /// meets `condition`. Index rows exist for current resources only, so
    /// when `condition` reads nothing but index rows and the caller sees every
    /// `source_type` resource, the referring rows stand in for the resources.
    fn has(
        &mut self,
        alias: &str,
        scope: &[String],
        source_type: &str,
        param: &str,
        condition: &Condition,
    ) {
        let refs = self.fresh_alias("x");
        let source_scope = [source_type.to_owned()];
        let joined = !reads_only_index_rows(condition)
            || (self.apply_visibility && self.visibility.per_type.contains_key(source_type));
        let source = if joined {
            self.fresh_alias("s")
        } else {
            refs.clone()
        };
        if self.probe {
            // From this resource to what refers to it.
            self.push(&format!("EXISTS (SELECT 1 FROM search_reference {refs}"));
            if joined {
                self.push(&format!(
                    " JOIN resource {source} ON {source}.rid = {refs}.rid"
                ));
            }
            self.push(&format!(" WHERE {refs}.pid = "));
            self.bind(param_id(source_type, param));
            self.push(&format!(
                " AND {refs}.target_id = {alias}.res_id AND {refs}.target_type = {alias}.res_type AND "
            ));
        } else {
            // Driven from the referring resources that qualify.
            if let [only] = scope {
                self.push(&format!(
                    "{alias}.res_id IN (SELECT {refs}.target_id FROM search_reference {refs} \
                     WHERE {refs}.target_type = "
                ));
                self.bind(only.clone());
            } else {
                self.push(&format!(
                    "({alias}.res_type, {alias}.res_id) IN (SELECT {refs}.target_type, \
                     {refs}.target_id FROM search_reference {refs} WHERE 1 = 1"
                ));
            }
            self.push(&format!(" AND {refs}.pid = "));
            self.bind(param_id(source_type, param));
            self.push(" AND ");
            if joined {
                self.push(&format!(
                    "{refs}.rid IN (SELECT {source}.rid FROM resource {source} WHERE "
                ));
            }
        }
        if joined {
            self.push(&format!("{source}.res_type = "));
            self.bind(source_type.to_owned());
            self.push(&format!(" AND NOT {source}.deleted AND "));
        }
        self.conditions(&source, &source_scope, condition);
        if joined {
            self.visible(&source, Some(&source_scope));
        }
        if joined && !self.probe {
            self.push(")");
        }
        if self.probe {
            self.close_probe();
        } else {
            self.push(")");
        }
    }

    /// `{alias}.rid IN (…)`: `condition` drives, through [`Builder::rid_set`].
    fn drive(&mut self, alias: &str, scope: &[String], condition: &Condition) {
        self.push(&format!("{alias}.rid IN ("));
        self.rid_set(scope, condition);
        self.push(")");
    }

    /// The reference rows (alias `x`) of a compartment: one of `pids`
    /// pointing at `target_type/target_id`.
    fn compartment_rows(&mut self, pids: &[i64], target_type: &str, target_id: &str) {
        self.push("x.pid IN ");
        self.bind_list(pids);
        self.push(" AND x.target_id = ");
        self.bind(target_id.to_owned());
        self.push(" AND x.target_type = ");
        self.bind(target_type.to_owned());
    }

    /// Appends `SELECT x.rid FROM …`: the rows whose resources meet
    /// `condition`, a [`Condition::Match`] or [`Condition::Compartment`],
    /// found through the value indexes (for driving a query or estimating
    /// how many resources it would drive).
    pub fn rid_set(&mut self, scope: &[String], condition: &Condition) {
        match condition {
            Condition::Match { param, tests } => {
                let Some(table) = tests.first().map(ValueTest::table) else {
                    self.push("SELECT NULL AS rid WHERE 1 = 0");
                    return;
                };
                if let [test] = tests.as_slice() {
                    if let Some(bounds) = date_bounds(test) {
                        self.date_match(scope, param, test, &bounds);
                        return;
                    }
                }
                self.push(&format!(
                    "SELECT x.rid FROM {} x WHERE x.pid IN ",
                    table.name()
                ));
                self.bind_pids(scope, param);
                self.push(" AND (");
                self.any_value_test(tests);
                self.push(")");
            }
            Condition::Compartment {
                params,
                target_type,
                target_id,
            } => {
                self.push("SELECT x.rid FROM search_reference x WHERE ");
                let pids = compartment_pids(params, scope);
                self.compartment_rows(&pids, target_type, target_id);
            }
            Condition::Any(parts) if has_rid_set(condition) => {
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        self.push(" UNION ALL ");
                    }
                    self.rid_set(scope, part);
                }
            }
            Condition::Id(_) | Condition::All(_) if has_rid_set(condition) => {
                let mut parts = Vec::new();
                flatten(condition, &mut parts);
                let mut types = scope.to_vec();
                let mut ids: Vec<String> = Vec::new();
                for part in parts {
                    match part {
                        Condition::Type(only) => types.retain(|t| only.contains(t)),
                        Condition::Id(some) if ids.is_empty() => ids.clone_from(some),
                        Condition::Id(some) => ids.retain(|i| some.contains(i)),
                        _ => {}
                    }
                }
                self.push("SELECT x.rid FROM resource x WHERE NOT x.deleted AND x.res_type IN ");
                self.bind_list(&types);
                self.push(" AND x.res_id IN ");
                self.bind_list(&ids);
            }
            _ => self.push("SELECT NULL AS rid WHERE 1 = 0"),
        }
    }

    /// A date match as index range scans: rows with both ends bounded are
    /// found by a range on `low` (widened by the longest such row of the
    /// parameter, kept in `search_date_span`), open-ended rows by equality on
    /// their open end; the sub-selects are joined with UNION ALL.
    fn date_match(&mut self, scope: &[String], param: &str, test: &ValueTest, bounds: &DateBounds) {
        self.push("SELECT x.rid FROM search_date x WHERE x.pid IN ");
        self.bind_pids(scope, param);
        if let Some(min) = bounds.low_at_least {
            self.push(" AND x.low >= ");
            self.bind(min);
        }
        if let Some(min) = bounds.low_at_least_less_span {
            self.push(" AND x.low >= ");
            self.bind(min);
            self.push(
                " - (SELECT COALESCE(MAX(w.span), 0) FROM search_date_span w WHERE w.pid IN ",
            );
            self.bind_pids(scope, param);
            self.push(")");
        }
        if let Some(max) = bounds.low_at_most {
            self.push(" AND x.low <= ");
            self.bind(max);
        }
        // `+x.high` keeps SQLite from scanning the `high` index instead of the
        // `low` range, and the open ends below to their equality.
        self.push(" AND (");
        self.date_test(&UNINDEXED_HIGH, test);
        self.push(")");
        for open_end in [
            format!("x.high = {}", i64::MAX),
            format!("x.low = {}", i64::MIN),
        ] {
            self.push(" UNION ALL SELECT x.rid FROM search_date x WHERE x.pid IN ");
            self.bind_pids(scope, param);
            self.push(&format!(" AND {open_end} AND ("));
            self.date_test(&UNINDEXED, test);
            self.push(")");
        }
    }

    /// A date test (one or several on the same row) over columns `c`.
    fn date_test(&mut self, c: &Columns, test: &ValueTest) {
        let tests: &[(Prefix, i64, i64)] = match test {
            ValueTest::Date { prefix, low, high } => &[(*prefix, *low, *high)],
            ValueTest::DateAll(tests) => tests,
            _ => &[],
        };
        for (i, (prefix, low, high)) in tests.iter().enumerate() {
            if i > 0 {
                self.push(" AND ");
            }
            self.push("(");
            self.range_test(c, *prefix, Value::from(*low), Value::from(*high), None);
            self.push(")");
        }
    }

    fn join(&mut self, alias: &str, scope: &[String], parts: &[Condition], op: &str, empty: &str) {
        if parts.is_empty() {
            self.push(empty);
            return;
        }
        self.push("(");
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.push(op);
            }
            self.condition(alias, scope, part);
        }
        self.push(")");
    }

    fn bind_pids(&mut self, scope: &[String], param: &str) {
        let pids: Vec<i64> = scope.iter().map(|ty| param_id(ty, param)).collect();
        self.bind_list(&pids);
    }

    /// Appends ` AND (…)` restricting resource row `alias` to what the caller
    /// may see; `scope` names its possible types, `None` meaning any type.
    pub fn visible(&mut self, alias: &str, scope: Option<&[String]>) {
        if !self.apply_visibility || self.visibility.is_open() {
            return;
        }
        let visibility = self.visibility;
        let restricted: Vec<(&String, &Condition)> = visibility
            .per_type
            .iter()
            .filter(|(ty, _)| scope.is_none_or(|s| s.contains(ty)))
            .collect();
        if restricted.is_empty() {
            return;
        }
        self.apply_visibility = false;
        self.push(" AND (");
        let single = matches!(scope, Some([_]));
        if !single {
            self.push(&format!("{alias}.res_type NOT IN "));
            let names: Vec<String> = restricted.iter().map(|(ty, _)| (*ty).clone()).collect();
            self.bind_list(&names);
        }
        for (ty, condition) in restricted {
            if single {
                self.condition(alias, std::slice::from_ref(ty), condition);
            } else {
                self.push(&format!(" OR ({alias}.res_type = "));
                self.bind(ty.clone());
                self.push(" AND ");
                self.condition(alias, std::slice::from_ref(ty), condition);
                self.push(")");
            }
        }
        self.push(")");
        self.apply_visibility = true;
    }

    /// `(t1) OR (t2) …`: a row passes one of `tests`.
    fn any_value_test(&mut self, tests: &[ValueTest]) {
        for (i, test) in tests.iter().enumerate() {
            if i > 0 {
                self.push(" OR ");
            }
            self.push("(");
            self.value_test(test);
            self.push(")");
        }
    }

    fn value_test(&mut self, test: &ValueTest) {
        match test {
            ValueTest::String(test) => self.string_test(PLAIN.folded, "x.exact", test),
            ValueTest::Reference {
                target_type,
                target_id,
                version,
            } => {
                self.push("x.target_id = ");
                self.bind(target_id.clone());
                if let Some(target_type) = target_type {
                    self.push(" AND x.target_type = ");
                    self.bind(target_type.clone());
                }
                if let Some(version) = version {
                    self.push(" AND x.version = ");
                    self.bind(version.clone());
                }
            }
            ValueTest::Uri(UriTest::Exact(uri)) => {
                self.push("x.value = ");
                self.bind(uri.clone());
            }
            ValueTest::Uri(UriTest::Below(uri)) => self.prefix_test("x.value", uri),
            ValueTest::Uri(UriTest::Above(uri)) => {
                self.push("x.value IN ");
                self.bind_list(&uri_ancestors(uri));
            }
            ValueTest::Composite {
                system,
                code,
                second,
            } => {
                self.token_test(&PLAIN, system, &Some(code.clone()));
                self.push(" AND ");
                match second.as_ref() {
                    ValueTest::String(test) => self.string_test(SECOND.folded, SECOND.code, test),
                    ValueTest::Date { prefix, low, high } => self.range_test(
                        &SECOND,
                        *prefix,
                        Value::from(*low as f64),
                        Value::from(*high as f64),
                        None,
                    ),
                    other => self.measured_test(&SECOND, other),
                }
            }
            other => self.measured_test(&PLAIN, other),
        }
    }

    /// Token, date, number and quantity tests over columns `c` (an index row's
    /// own, or a composite's second component).
    fn measured_test(&mut self, c: &Columns, test: &ValueTest) {
        match test {
            ValueTest::Token { system, code } => self.token_test(c, system, code),
            ValueTest::Date { .. } | ValueTest::DateAll(_) => self.date_test(c, test),
            ValueTest::Number {
                prefix,
                value,
                low,
                high,
            } => self.range_test(
                c,
                *prefix,
                Value::from(*low),
                Value::from(*high),
                Some(Value::from(*value)),
            ),
            ValueTest::Quantity {
                system,
                code,
                prefix,
                value,
                low,
                high,
            } => {
                self.token_test(c, system, code);
                self.push(" AND ");
                self.range_test(
                    c,
                    *prefix,
                    Value::from(*low),
                    Value::from(*high),
                    Some(Value::from(*value)),
                );
            }
            // Other component types do not occur in R4's composites.
            _ => self.push("1 = 0"),
        }
    }

    fn string_test(&mut self, folded_column: &str, exact_column: &str, test: &StringTest) {
        match test {
            StringTest::Prefix(prefix) => self.prefix_test(folded_column, prefix),
            StringTest::Exact { folded, exact } => {
                self.push(&format!("{folded_column} = "));
                self.bind(folded.clone());
                self.push(&format!(" AND {exact_column} = "));
                self.bind(exact.clone());
            }
            StringTest::Contains(part) => {
                self.push(&format!("{folded_column} LIKE "));
                self.bind(format!("%{}%", escape_like(part)));
                self.push(" ESCAPE '\\'");
            }
        }
    }

    fn prefix_test(&mut self, column: &str, prefix: &str) {
        self.push(&format!("{column} >= "));
        self.bind(prefix.to_owned());
        self.push(&format!(" AND {column} < "));
        self.bind(format!("{prefix}{PREFIX_END}"));
    }

    fn token_test(&mut self, columns: &Columns, system: &Option<String>, code: &Option<String>) {
        self.push("1 = 1");
        if let Some(code) = code {
            self.push(&format!(" AND {} = ", columns.code));
            self.bind(code.clone());
        }
        if let Some(system) = system {
            self.push(&format!(" AND {} = ", columns.system));
            self.bind(system.clone());
        }
    }

    /// A prefix comparison of the row's `[low, high]` with the search value's
    /// range `[low, high)` (and, for numbers, the value as written).
    fn range_test(
        &mut self,
        c: &Columns,
        prefix: Prefix,
        low: Value,
        high: Value,
        value: Option<Value>,
    ) {
        let (lo, hi) = (c.low, c.high);
        // Dates: the row is `[low, high)`, so "reaches above" is `high > x`.
        // Numbers: the row is a closed `[low, high]`, compared with the value.
        let point = value.clone().unwrap_or_else(|| low.clone());
        match (prefix, value.is_some()) {
            (Prefix::Eq, _) | (Prefix::Ne, _) => {
                if prefix == Prefix::Ne {
                    self.push("NOT ");
                }
                self.push(&format!("({lo} >= "));
                self.bind(low);
                self.push(&format!(
                    " AND {hi} {} ",
                    if value.is_some() { "<" } else { "<=" }
                ));
                self.bind(high);
                self.push(")");
            }
            (Prefix::Gt, false) => self.compare(hi, ">", high),
            (Prefix::Lt, false) => self.compare(lo, "<", low),
            (Prefix::Ge, false) => self.compare(hi, ">", low),
            (Prefix::Le, false) => self.compare(lo, "<", high),
            (Prefix::Sa, false) => self.compare(lo, ">=", high),
            (Prefix::Eb, false) => self.compare(hi, "<=", low),
            (Prefix::Gt, true) => self.compare(hi, ">", point),
            (Prefix::Lt, true) => self.compare(lo, "<", point),
            (Prefix::Ge, true) => self.compare(hi, ">=", point),
            (Prefix::Le, true) => self.compare(lo, "<=", point),
            (Prefix::Sa, true) => self.compare(lo, ">", point),
            (Prefix::Eb, true) => self.compare(hi, "<", point),
            (Prefix::Ap, _) => {
                self.compare(lo, "<=", high);
                self.push(" AND ");
                self.compare(hi, ">=", low);
            }
        }
    }

    fn compare(&mut self, column: &str, op: &str, value: Value) {
        self.push(&format!("{column} {op} "));
        self.bind(value);
    }
}

/// `sql` with every column of the index alias `x` written `+x.col`, which
/// SQLite reads as "do not use an index for this term".
fn unindexed(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut previous: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let starts_word = previous.is_none_or(|p| !(p.is_alphanumeric() || p == '_' || p == '.'));
        if c == 'x' && starts_word && chars.peek() == Some(&'.') {
            out.push('+');
        }
        out.push(c);
        previous = Some(c);
    }
    out
}

/// Whether [`Builder::rid_set`] can list the resources that meet
/// `condition`: index matches, compartments, ids (of some types), and
/// alternatives of those (a union).
fn has_rid_set(condition: &Condition) -> bool {
    match condition {
        Condition::Match { .. } | Condition::Compartment { .. } | Condition::Id(_) => true,
        Condition::Any(parts) => !parts.is_empty() && parts.iter().all(has_rid_set),
        Condition::All(parts) => {
            parts.iter().any(|p| matches!(p, Condition::Id(_)))
                && parts
                    .iter()
                    .all(|p| matches!(p, Condition::Id(_) | Condition::Type(_)))
        }
        _ => false,
    }
}

/// The parameter ids of a compartment's reference parameters on the types of `scope`.
fn compartment_pids(params: &[(String, String)], scope: &[String]) -> Vec<i64> {
    params
        .iter()
        .filter(|(ty, _)| scope.contains(ty))
        .map(|(ty, code)| param_id(ty, code))
        .collect()
}

/// Whether `condition` reads only the index rows of its resource (by `rid`),
/// never the resource row itself.
fn reads_only_index_rows(condition: &Condition) -> bool {
    match condition {
        Condition::All(parts) | Condition::Any(parts) => parts.iter().all(reads_only_index_rows),
        Condition::Not(inner) => reads_only_index_rows(inner),
        Condition::Match { .. }
        | Condition::Missing { .. }
        | Condition::Compartment { .. }
        | Condition::Chain { .. } => true,
        Condition::Id(_)
        | Condition::Type(_)
        | Condition::LastUpdated(_)
        | Condition::Has { .. } => false,
    }
}

/// The conditions of nested `All`s, as one list.
pub(crate) fn flatten<'c>(condition: &'c Condition, out: &mut Vec<&'c Condition>) {
    match condition {
        Condition::All(parts) => parts.iter().for_each(|p| flatten(p, out)),
        other => out.push(other),
    }
}

/// Ranks at or above this never drive a query (they are no index lookup).
pub(crate) const NO_DRIVER: u8 = 7;

/// How selective a condition usually is, lower first: the driver of a query
/// is the lowest-ranked one (ties: the first).
pub(crate) fn rank(condition: &Condition) -> u8 {
    match condition {
        Condition::Id(_) => 0,
        Condition::Compartment { .. } => 1,
        Condition::Match { tests, .. } => match tests.first() {
            Some(ValueTest::Reference { .. }) => 1,
            Some(ValueTest::Token {
                system: Some(_),
                code: Some(_),
            })
            | Some(ValueTest::String(StringTest::Exact { .. }))
            | Some(ValueTest::Uri(UriTest::Exact(_))) => 2,
            Some(ValueTest::Composite { .. }) => 3,
            Some(ValueTest::String(StringTest::Prefix(p))) if p.chars().count() >= 3 => 3,
            Some(ValueTest::Token { code: Some(_), .. }) => 3,
            Some(ValueTest::Token { .. })
            | Some(ValueTest::String(_))
            | Some(ValueTest::Uri(_)) => 4,
            Some(ValueTest::Date { .. }) | Some(ValueTest::DateAll(_)) => 5,
            Some(_) => 6,
            None => NO_DRIVER,
        },
        Condition::Chain { .. } | Condition::Has { .. } => 6,
        Condition::All(parts) => parts.iter().map(rank).min().unwrap_or(NO_DRIVER),
        // Alternatives drive together (a union of lookups) when each can.
        Condition::Any(parts) => match parts.iter().map(rank).max() {
            Some(worst) if worst < NO_DRIVER => worst,
            _ => NO_DRIVER,
        },
        Condition::LastUpdated(_)
        | Condition::Type(_)
        | Condition::Not(_)
        | Condition::Missing { .. } => NO_DRIVER,
    }
}

/// Bounds on a date row's `low` that a test implies, for an index range.
#[derive(Debug, Default, PartialEq)]
struct DateBounds {
    /// `low >= v`.
    low_at_least: Option<i64>,
    /// `low >= v - span`, where span is the parameter's longest bounded row.
    low_at_least_less_span: Option<i64>,
    /// `low <= v`.
    low_at_most: Option<i64>,
}

/// The bounds a date test implies (the search value is `[lo, hi)`; a row
/// `[low, high)` has `low <= high`); `None` when it bounds nothing.
fn date_bounds(test: &ValueTest) -> Option<DateBounds> {
    let tests: Vec<(Prefix, i64, i64)> = match test {
        ValueTest::Date { prefix, low, high } => vec![(*prefix, *low, *high)],
        ValueTest::DateAll(tests) => tests.clone(),
        _ => return None,
    };
    let mut b = DateBounds::default();
    let raise = |slot: &mut Option<i64>, v: i64| *slot = Some(slot.map_or(v, |s| s.max(v)));
    let lower = |slot: &mut Option<i64>, v: i64| *slot = Some(slot.map_or(v, |s| s.min(v)));
    for (prefix, lo, hi) in tests {
        match prefix {
            Prefix::Eq => {
                raise(&mut b.low_at_least, lo);
                lower(&mut b.low_at_most, hi);
            }
            Prefix::Sa => raise(&mut b.low_at_least, hi),
            Prefix::Gt => raise(&mut b.low_at_least_less_span, hi),
            Prefix::Ge => raise(&mut b.low_at_least_less_span, lo),
            Prefix::Lt | Prefix::Eb => lower(&mut b.low_at_most, lo),
            Prefix::Le => lower(&mut b.low_at_most, hi),
            Prefix::Ap => {
                raise(&mut b.low_at_least_less_span, lo);
                lower(&mut b.low_at_most, hi);
            }
            Prefix::Ne => {}
        }
    }
    (b != DateBounds::default()).then_some(b)
}

/// `uri` and every ancestor of it by path, for `:above`:
/// `http://x.org/fhir/ValueSet/a` → itself, `http://x.org/fhir/ValueSet`, `http://x.org/fhir`, `http://x.org`.
fn uri_ancestors(uri: &str) -> Vec<String> {
    let mut out = vec![uri.to_owned()];
    let authority_end = uri.find("://").map_or(0, |i| i + 3);
    let mut rest = uri;
    while let Some(slash) = rest.rfind('/') {
        if slash < authority_end {
            break;
        }
        rest = &rest[..slash];
        out.push(rest.to_owned());
    }
    out
}

/// Escapes `%`, `_` and the escape character itself for `LIKE … ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The table a sort on a parameter of `table` reads, and the aggregate that
/// gives one sort value per resource.
pub(crate) fn sort_expression(table: IndexTable, descending: bool) -> (&'static str, &'static str) {
    let column = match table {
        IndexTable::String => "folded",
        IndexTable::Token | IndexTable::Composite => "code",
        IndexTable::Date | IndexTable::Number | IndexTable::Quantity => {
            if descending {
                "high"
            } else {
                "low"
            }
        }
        IndexTable::Reference => "target_id",
        IndexTable::Uri => "value",
        // Presence rows hold no value; no parameter sorts by them.
        IndexTable::Present => "pid",
    };
    (column, if descending { "MAX" } else { "MIN" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_hide_value_columns_from_sqlite() {
        assert_eq!(
            unindexed("x.low >= ? AND (+x.high > ?) AND max.x = 1"),
            "+x.low >= ? AND (++x.high > ?) AND max.x = 1"
        );
    }

    #[test]
    fn uri_ancestors_climb_the_path_but_not_the_authority() {
        assert_eq!(
            uri_ancestors("http://x.org/fhir/ValueSet/a"),
            vec![
                "http://x.org/fhir/ValueSet/a",
                "http://x.org/fhir/ValueSet",
                "http://x.org/fhir",
                "http://x.org"
            ]
        );
    }

    fn compartment_or_self() -> Condition {
        Condition::Any(vec![
            Condition::Compartment {
                params: vec![("Observation".into(), "subject".into())],
                target_type: "Patient".into(),
                target_id: "p1".into(),
            },
            Condition::All(vec![
                Condition::Type(vec!["Patient".into()]),
                Condition::Id(vec!["p1".into()]),
            ]),
        ])
    }

    #[test]
    fn alternatives_of_lookups_drive_as_one_union() {
        let visibility = Visibility::default();
        let mut b = Builder::new(&visibility, false);
        let scope = vec!["Observation".to_owned(), "Patient".to_owned()];
        b.conditions("r", &scope, &Condition::All(vec![compartment_or_self()]));
        assert!(
            b.sql
                .contains("r.rid IN (SELECT d1.rid FROM (SELECT x.rid FROM search_reference x"),
            "{}",
            b.sql
        );
        assert!(
            b.sql.contains("UNION ALL SELECT x.rid FROM resource x"),
            "{}",
            b.sql
        );
        assert!(!b.sql.contains("EXISTS"), "{}", b.sql);
    }

    #[test]
    fn probes_are_fenced_on_postgres_only() {
        let visibility = Visibility::default();
        let scope = vec!["Observation".to_owned()];
        let condition = Condition::All(vec![
            Condition::Id(vec!["o1".into()]),
            Condition::Match {
                param: "code".into(),
                tests: vec![ValueTest::Token {
                    system: None,
                    code: Some("x".into()),
                }],
            },
        ]);
        let mut postgres = Builder::new(&visibility, true);
        postgres.conditions("r", &scope, &condition);
        assert!(postgres.sql.contains("OFFSET 0)"), "{}", postgres.sql);
        let mut sqlite = Builder::new(&visibility, false);
        sqlite.conditions("r", &scope, &condition);
        assert!(sqlite.sql.contains("EXISTS"), "{}", sqlite.sql);
        assert!(!sqlite.sql.contains("OFFSET"), "{}", sqlite.sql);
    }

    #[test]
    fn visibility_is_joined_into_chains() {
        let mut visibility = Visibility::default();
        visibility.per_type.insert(
            "Patient".into(),
            Condition::Not(Box::new(Condition::Id(vec!["p1".into()]))),
        );
        let mut b = Builder::new(&visibility, false);
        let scope = vec!["Observation".to_owned()];
        b.condition(
            "r",
            &scope,
            &Condition::Chain {
                param: "subject".into(),
                target_types: vec!["Patient".into()],
                condition: Box::new(Condition::All(vec![])),
            },
        );
        assert!(b.sql.contains("NOT (t1.res_id IN (?))"), "{}", b.sql);
    }
}
