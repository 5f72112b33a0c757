//! Keeping devices in step: when each device syncs (schedules and their
//! recurrence), what a run asks of it (runs and their plans), which folders it
//! holds (selective sync), and the engine that fires due schedules.
pub mod engine;
mod history;
mod on_change;
pub mod recurrence;
pub mod runs;
pub(crate) mod schedule_cache;
pub mod schedule_rules;
pub mod schedules;
pub mod selective;
