//! The lab cluster: a loopback Kubernetes API serving a scenario.
