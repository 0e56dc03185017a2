//! The `oneauth` program: configuration loading, assembly of the parts,
//! the listeners, and the command line.

pub mod cli;
pub mod config;
mod listener;
pub mod log_writer;
pub mod server;
