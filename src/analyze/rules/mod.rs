//! Rule files (YAML, docs/rules.md) → validated rules.
