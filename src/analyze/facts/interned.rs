//! Strings that repeat across many of the analysis's records (namespaces, node, backup and volume names,
//! phases), held once and shared as `Arc<str>`: a clone is a reference count, not an allocation.
use std::collections::HashSet;
use std::sync::Arc;

/// The strings shared so far.
#[derive(Debug, Default)]
pub(crate) struct Strings(HashSet<Arc<str>>);

impl Strings {
    /// `text` as a shared string: the one already held when an equal text was shared before.
    pub(crate) fn share(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(Arc::clone(&shared));
        shared
    }

    /// `text`, already shared elsewhere, as the one held here: records built from it and from equal texts
    /// share one allocation.
    pub(crate) fn adopt(&mut self, text: &Arc<str>) -> Arc<str> {
        if let Some(shared) = self.0.get(&**text) {
            return Arc::clone(shared);
        }
        self.0.insert(Arc::clone(text));
        Arc::clone(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_allocation() {
        let mut strings = Strings::default();
        let a = strings.share("velero");
        let b = strings.share("velero");
        assert!(Arc::ptr_eq(&a, &b));
        let elsewhere: Arc<str> = Arc::from("worker-1");
        let adopted = strings.adopt(&elsewhere);
        assert!(Arc::ptr_eq(&adopted, &elsewhere));
        assert!(Arc::ptr_eq(&strings.share("worker-1"), &elsewhere));
        assert!(Arc::ptr_eq(&strings.adopt(&Arc::from("velero")), &a));
    }
}
