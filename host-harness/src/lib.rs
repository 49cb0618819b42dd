//! The host harness: a simulated LMS that loads the Slack connector component in a wasmtime sandbox, and a
//! simulated Slack workspace to run it against.

pub mod audit;
pub mod bench;
pub mod db;
pub mod demo;
pub mod harness;
pub mod http_client;
pub mod inbound;
pub mod lms;
pub mod markup;
pub mod outbox;
pub mod sandbox;
pub mod scheduler;
pub mod secrets;
pub mod slack_sim;
pub mod web;
pub mod workers;
