//! The one integration test binary (one link, shared helpers): black-box tests of the built
//! `flowforge` against real process trees, pipes, terminals and SQLite files.

mod common;

mod actions;
mod api;
mod api_security;
mod ci;
mod dashboard;
mod detection;
mod evidence;
mod export;
mod install;
mod lifecycle;
mod pid1;
mod readme;
mod redaction;
mod replay;
