//! The SQL differences between SQLite and PostgreSQL, in one place.

use sea_orm::{DbBackend, Statement, Value};

/// Which database the SQL is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dialect(pub DbBackend);

impl Dialect {
    /// A statement from SQL written with `?` placeholders, renumbered to `$1…`
    /// for PostgreSQL.
    pub fn stmt(self, sql: &str, values: Vec<Value>) -> Statement {
        let sql = if self.is_postgres() {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for ch in sql.chars() {
                if ch == '?' {
                    n += 1;
                    out.push('$');
                    out.push_str(&n.to_string());
                } else {
                    out.push(ch);
                }
            }
            out
        } else {
            sql.to_owned()
        };
        Statement::from_sql_and_values(self.0, sql, values)
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(self) -> bool {
        self.0 == DbBackend::Postgres
    }

    /// The expression that reads the `content` column as text.
    pub fn content_text(self) -> &'static str {
        if self.is_postgres() {
            "v.content::text"
        } else {
            "v.content"
        }
    }

    /// The placeholder for writing `content` (PostgreSQL stores `jsonb`).
    pub fn content_param(self) -> &'static str {
        if self.is_postgres() {
            "CAST(? AS jsonb)"
        } else {
            "?"
        }
    }

    /// The row-lock suffix for reading a row that this transaction will update.
    /// SQLite needs none: its single writer connection serialises writes.
    pub fn for_update(self) -> &'static str {
        if self.is_postgres() {
            " FOR UPDATE"
        } else {
            ""
        }
    }
}

/// `count` copies of a placeholder tuple such as `(?, ?)`, comma-separated,
/// for multi-row `VALUES` and `IN` lists.
pub(crate) fn tuples(count: usize, tuple: &str) -> String {
    vec![tuple; count].join(", ")
}
