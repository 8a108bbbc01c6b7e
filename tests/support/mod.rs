//! Helpers shared by the integration tests that read the lab scenarios.
pub mod openapi;
pub mod scenario;
