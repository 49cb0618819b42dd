//! One module of bindings per version of the `lms:connector` contract, and which version a component implements.

pub mod v0_1_0;
pub mod v0_2_0;
pub mod v0_3_0;

/// A version of the contract the host loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Contract {
    /// `lms:connector@0.1.0`: outcomes are known when `deliver` returns.
    V0_1_0,
    /// `lms:connector@0.2.0`: the connector may report its progress while it delivers.
    V0_2_0,
    /// `lms:connector@0.3.0`: the connector may also update messages it sent, and reply to them.
    V0_3_0,
}

impl Contract {
    /// Every version the host loads, oldest first.
    pub const ALL: [Contract; 3] = [Contract::V0_1_0, Contract::V0_2_0, Contract::V0_3_0];

    /// The version's number.
    pub fn version(self) -> &'static str {
        match self {
            Contract::V0_1_0 => "0.1.0",
            Contract::V0_2_0 => "0.2.0",
            Contract::V0_3_0 => "0.3.0",
        }
    }

    /// The interface a connector of this version exports.
    pub fn export(self) -> &'static str {
        match self {
            Contract::V0_1_0 => "lms:connector/connector@0.1.0",
            Contract::V0_2_0 => "lms:connector/connector@0.2.0",
            Contract::V0_3_0 => "lms:connector/connector@0.3.0",
        }
    }

    /// The WIT package, such as `lms:connector@0.3.0`.
    pub fn package(self) -> &'static str {
        match self {
            Contract::V0_1_0 => "lms:connector@0.1.0",
            Contract::V0_2_0 => "lms:connector@0.2.0",
            Contract::V0_3_0 => "lms:connector@0.3.0",
        }
    }

    /// The version whose connector interface is exported under `name`, if the host loads it.
    pub fn of_export(name: &str) -> Option<Contract> {
        Contract::ALL.into_iter().find(|c| c.export() == name)
    }
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.package())
    }
}
