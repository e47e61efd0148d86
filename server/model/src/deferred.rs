//! Definitions read on first use instead of at start-up: the profile
//! repository and the terminology hold thousands of definitions that only
//! `$validate` and validating writes need, so the server starts without them
//! and reads them from the packages the first time they are asked for.

use std::sync::{Mutex, OnceLock};

use serde_json::Value;

/// What reads the deferred definitions.
pub type Loader = Box<dyn FnOnce() -> Vec<Value> + Send>;

/// A one-time load: runs its loader once, on the first [`Deferred::ensure`],
/// while every other caller waits for it to finish.
#[derive(Default)]
pub struct Deferred {
    loader: Mutex<Option<Loader>>,
    done: OnceLock<()>,
}

impl Deferred {
    /// A load that `loader` performs when first needed.
    pub fn new(loader: Loader) -> Deferred {
        Deferred {
            loader: Mutex::new(Some(loader)),
            done: OnceLock::new(),
        }
    }

    /// Nothing to load: everything was given at construction.
    pub fn nothing() -> Deferred {
        let deferred = Deferred::default();
        let _ = deferred.done.set(());
        deferred
    }

    /// Runs the load if it has not run, handing each definition to `add`.
    /// Cheap (one atomic read) once done.
    pub fn ensure(&self, mut add: impl FnMut(&Value)) {
        if self.done.get().is_some() {
            return;
        }
        let mut loader = self
            .loader
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(load) = loader.take() {
            for definition in load() {
                add(&definition);
            }
        }
        let _ = self.done.set(());
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deferred")
            .field("done", &self.done.get().is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Deferred;
    use serde_json::json;

    #[test]
    fn the_loader_runs_once() {
        let deferred = Deferred::new(Box::new(|| vec![json!(1), json!(2)]));
        let mut seen = Vec::new();
        deferred.ensure(|v| seen.push(v.clone()));
        deferred.ensure(|v| seen.push(v.clone()));
        assert_eq!(seen, [json!(1), json!(2)]);
    }
}
