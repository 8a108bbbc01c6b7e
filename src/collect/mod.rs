//! Collectors: read the cluster through kube-rs and write the bundle.
