//! charon-tui's core library: everything the tool knows and does, with no
//! terminal code. The binary (`src/main.rs`) and the TUI drive it.
//!
//! Data flow: [`recipe`] (the migration as data) → [`analyze`] (facts from
//! syntax trees) → [`rewrite`] (rules turn facts into [`edit::Edit`]s) →
//! [`plan`] (edits grouped into reviewable hunks) → [`session`] (apply,
//! record, commit).

pub mod analyze;
pub mod edit;
pub mod error;
pub mod recipe;

pub use error::{Error, Result};
pub mod check;
pub mod command;
pub mod demo;
pub mod git;
pub mod plan;
pub mod report;
pub mod rewrite;
pub mod session;
pub mod state;
pub mod trivy;
pub mod verify;
