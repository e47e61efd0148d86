//! `_include` and `_revinclude`: the resources a page's matches reference, and
//! those that reference them, with `:iterate` repeating over what was added.

use std::collections::HashSet;

use sea_orm::{ConnectionTrait, Value};

use crate::dialect::{tuples, Dialect};
use crate::index::param_id;
use crate::{Result, Store, Transaction};

use super::sql::Builder;
use super::{found_from_row, Found, Visibility, FOUND_COLUMNS};

/// One `_include` or `_revinclude`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Include {
    /// The type whose reference parameters are followed: the matches' type for
    /// `_include`, the referring type for `_revinclude`.
    pub source_type: String,
    /// The reference parameters followed (several for `*`).
    pub params: Vec<String>,
    /// Only targets of this type, if given.
    pub target_type: Option<String>,
    /// `_revinclude`: resources of `source_type` that reference the matches.
    pub reverse: bool,
    /// `:iterate`: also apply to the resources included.
    pub iterate: bool,
}

impl Store {
    /// The resources that `includes` add to `matches`, at most `cap` of them.
    pub async fn include(
        &self,
        matches: &[Found],
        includes: &[Include],
        visibility: &Visibility,
        cap: usize,
    ) -> Result<Vec<Found>> {
        run(
            &self.reader,
            self.dialect,
            matches,
            includes,
            visibility,
            cap,
        )
        .await
    }
}

impl Transaction {
    /// As [`Store::include`], inside this transaction.
    pub async fn include(
        &self,
        matches: &[Found],
        includes: &[Include],
        visibility: &Visibility,
        cap: usize,
    ) -> Result<Vec<Found>> {
        self.flush().await?;
        run(&self.txn, self.dialect, matches, includes, visibility, cap).await
    }
}

/// How many rounds `:iterate` may take before it stops.
const MAX_ROUNDS: usize = 8;

async fn run(
    db: &impl ConnectionTrait,
    d: Dialect,
    matches: &[Found],
    includes: &[Include],
    visibility: &Visibility,
    cap: usize,
) -> Result<Vec<Found>> {
    let mut seen: HashSet<i64> = matches.iter().map(|m| m.rid).collect();
    let mut added: Vec<Found> = Vec::new();
    let mut base: Vec<Found> = matches.to_vec();
    for round in 0..MAX_ROUNDS {
        let mut fresh = Vec::new();
        for include in includes {
            if round > 0 && !include.iterate {
                continue;
            }
            let remaining = cap.saturating_sub(added.len() + fresh.len());
            if remaining == 0 {
                break;
            }
            for found in one(db, d, &base, include, visibility, remaining).await? {
                if seen.insert(found.rid) {
                    fresh.push(found);
                }
            }
        }
        if fresh.is_empty() {
            break;
        }
        added.extend(fresh.iter().cloned());
        base = fresh;
    }
    Ok(added)
}

/// One include applied to `base`.
async fn one(
    db: &impl ConnectionTrait,
    d: Dialect,
    base: &[Found],
    include: &Include,
    visibility: &Visibility,
    limit: usize,
) -> Result<Vec<Found>> {
    let pids: Vec<i64> = include
        .params
        .iter()
        .map(|p| param_id(&include.source_type, p))
        .collect();
    if pids.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new(visibility, d.is_postgres());
    let columns: Vec<String> = FOUND_COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect();
    b.push(&format!(
        "SELECT {}, {} FROM search_reference x ",
        columns.join(", "),
        d.content_text()
    ));
    if include.reverse {
        let targets: Vec<&Found> = match &include.target_type {
            Some(ty) => base.iter().filter(|f| &f.key.resource_type == ty).collect(),
            None => base.iter().collect(),
        };
        if targets.is_empty() {
            return Ok(Vec::new());
        }
        b.push("JOIN resource t ON t.rid = x.rid JOIN resource_version v ON v.seq = t.seq WHERE x.pid IN (");
        push_list(&mut b, &pids);
        b.push(&format!(
            ") AND (x.target_type, x.target_id) IN (VALUES {})",
            tuples(targets.len(), "(?, ?)")
        ));
        for found in targets {
            b.values.push(Value::from(found.key.resource_type.clone()));
            b.values.push(Value::from(found.key.id.as_str()));
        }
        b.push(" AND NOT t.deleted");
        b.visible("t", Some(std::slice::from_ref(&include.source_type)));
    } else {
        let sources: Vec<i64> = base
            .iter()
            .filter(|f| f.key.resource_type == include.source_type)
            .map(|f| f.rid)
            .collect();
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        b.push(
            "JOIN resource t ON t.res_type = x.target_type AND t.res_id = x.target_id \
             JOIN resource_version v ON v.seq = t.seq WHERE x.pid IN (",
        );
        push_list(&mut b, &pids);
        b.push(") AND x.rid IN (");
        push_list(&mut b, &sources);
        b.push(")");
        if let Some(ty) = &include.target_type {
            b.push(" AND x.target_type = ");
            b.bind(ty.clone());
        }
        b.push(" AND NOT t.deleted");
        match &include.target_type {
            Some(ty) => b.visible("t", Some(std::slice::from_ref(ty))),
            None => b.visible("t", None),
        }
    }
    b.push(" ORDER BY t.rid LIMIT ");
    b.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows = db.query_all_raw(d.stmt(&b.sql, b.values)).await?;
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        found.extend(found_from_row(row)?);
    }
    Ok(found)
}

fn push_list(b: &mut Builder<'_>, values: &[i64]) {
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.bind(*value);
    }
}
