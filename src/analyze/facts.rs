//! Derived objects the rules read (docs/rules.md "Facts") and the component versions compat rules compare.
