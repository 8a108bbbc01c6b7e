//! Redaction of credentials in every text before it is written.
