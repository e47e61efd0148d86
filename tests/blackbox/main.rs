//! Black-box tests: the real `tillit` binary, started on a free port with a
//! fresh database, exercised over HTTP on SQLite and on PostgreSQL.

mod support;

mod bundles;
mod cli;
mod concurrency;
mod crash;
mod conditional;
mod crud;
mod edge;
mod history;
mod roundtrip;
