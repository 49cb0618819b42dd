//! Who runs a command, as the audit log records it: the operator's user name on this machine and the command.

/// The actor of `command` (such as `connector enable`) in the audit log: `operator NAME via lms-harness COMMAND`,
/// NAME from `USER` or `LOGNAME`.
pub fn actor(command: &str) -> String {
    let name = ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "unknown".into());
    format!("operator {name} via lms-harness {command}")
}
