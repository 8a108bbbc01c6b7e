//! Helpers shared by the integration tests that read the lab scenarios.
pub(crate) mod openapi;
pub(crate) mod scenario;
