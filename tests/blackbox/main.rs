//! Black-box tests: the real `tillit` binary, started on a free port with a
//! fresh database, exercised over HTTP on SQLite and on PostgreSQL.

// Tests may unwrap: a panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

mod support;

mod bundles;
mod cli;
mod concurrency;
mod conditional;
mod crash;
mod crud;
mod e2e;
mod edge;
mod history;
mod roundtrip;
mod search_admin;
mod search_examples;
mod search_paging;
mod search_relations;
mod search_values;
mod terminology;
mod tidy;
mod tx_ecosystem;
mod validate;
