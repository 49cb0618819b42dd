//! The Slack connector for an LMS.
//!
//! Everything Slack-specific lives here, as a plain Rust library that compiles and is tested natively:
//! [`api`] speaks the Slack Web API over any [`api::Transport`], [`render`] builds the Block Kit message,
//! and [`connector`] runs the integration's life (activation, delivery, deactivation, inbound requests) over the
//! host's settings and log. On `wasm32` the thin [`glue`] module binds this to the WIT contract in `wit/`.

pub mod api;
pub mod connector;
pub mod directory;
pub mod model;
pub mod pacing;
pub mod render;

#[cfg(target_arch = "wasm32")]
mod glue;
