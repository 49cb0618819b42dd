//! The LMS harness: the simulated LMS ([`lms`]) hosting the Slack connector component in its sandbox
//! ([`connector_host`]), the simulated Slack workspace ([`slack_sim`]) to run it against, and the `lms-harness`
//! commands and web pages.

pub mod app_manifest;
pub mod audit;
pub mod bench_component;
pub mod bench_invite;
pub mod check;
pub mod connect;
pub mod connector;
pub mod connector_health;
pub mod deliveries;
pub mod demo;
pub mod harness;
pub mod http_client;
pub mod invite;
pub mod live;
pub mod operator;
pub mod reminders;
pub mod secrets_reset;
pub mod seed;
pub mod session;
pub mod users_import;
pub mod vendor;
pub mod web;
