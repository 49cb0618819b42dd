//! One module of bindings per version of the `lms:connector` contract.

pub mod v0_1_0;
