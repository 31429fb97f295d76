//! The one integration test binary (one link, shared helpers): black-box tests of the built
//! `flowforge` against real process trees, pipes and terminals.

mod common;
mod lifecycle;
