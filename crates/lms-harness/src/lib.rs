//! The LMS harness: the simulated LMS ([`lms`]) hosting the Slack connector component in its sandbox
//! ([`connector_host`]), the simulated Slack workspace ([`slack_sim`]) to run it against, and the `lms-harness`
//! commands and web pages.

pub mod audit;
pub mod bench_component;
pub mod bench_invite;
pub mod connector;
pub mod deliveries;
pub mod demo;
pub mod harness;
pub mod http_client;
pub mod web;
