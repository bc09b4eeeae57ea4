//! The conformance suite: written once, run against every backend the machine has
//! (`NAME::uring` and `NAME::pool` for each test).

#[path = "../support/backends.rs"]
mod backends;
mod common;
mod errors;
mod executors;
mod file_io;
mod lifecycle;
mod paths;
mod read_whole;
