//! All integration tests compile into this one binary; topics are modules.

mod util;

mod bad_input;
mod check_run;
mod cli;
mod dockerfile_fixtures;
mod dockerfile_phase;
mod full_migration;
mod fuzz_regressions;
mod git_state;
mod monorepo_e2e;
mod other_fixtures;
mod properties;
mod tui_e2e;
mod verify;
