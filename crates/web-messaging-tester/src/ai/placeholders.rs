//! Placeholders: `{KEY}` in a prompt replaced by a value picked from the key's list.
//!
//! Every occurrence is replaced (upstream replaces only the first), literally (no `$&`-style
//! patterns). The picks come from one seeded generator, drawn in file order before any
//! scenario starts, so `--seed` repeats them whatever `--parallel` does.

use indexmap::IndexMap;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Picks the values for every scenario, in order: one value per key with a non-empty list.
pub struct Picker {
    rng: SmallRng,
}

impl Picker {
    /// A picker drawing from `seed`.
    pub fn new(seed: u64) -> Picker {
        Picker {
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// One value for each key whose list is not empty (keys with empty lists are dropped, as
    /// upstream does).
    pub fn pick(
        &mut self,
        placeholders: &IndexMap<String, Vec<String>>,
    ) -> IndexMap<String, String> {
        placeholders
            .iter()
            .filter(|(_, values)| !values.is_empty())
            .map(|(key, values)| {
                let index = self.rng.random_range(0..values.len());
                (key.clone(), values[index].clone())
            })
            .collect()
    }
}

/// A seed for runs without `--seed`, printed so the run can be repeated.
pub fn fresh_seed() -> u64 {
    rand::rng().random()
}

/// Replaces every `{KEY}` of `text` with its chosen value.
pub fn replace(text: &str, values: &IndexMap<String, String>) -> String {
    let mut out = text.to_string();
    for (key, value) in values {
        out = out.replace(&format!("{{{key}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &[&str])]) -> IndexMap<String, Vec<String>> {
        entries
            .iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.iter().map(std::string::ToString::to_string).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn replaces_every_occurrence_literally() {
        let values: IndexMap<String, String> = [("NAME".to_string(), "$& Ann".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            replace("{NAME} is {NAME}; {OTHER}", &values),
            "$& Ann is $& Ann; {OTHER}"
        );
    }

    #[test]
    fn same_seed_same_choices_and_empty_lists_dropped() {
        let placeholders = map(&[("A", &["1", "2", "3", "4"]), ("B", &[]), ("C", &["x", "y"])]);
        let first: Vec<_> = {
            let mut picker = Picker::new(42);
            (0..5).map(|_| picker.pick(&placeholders)).collect()
        };
        let second: Vec<_> = {
            let mut picker = Picker::new(42);
            (0..5).map(|_| picker.pick(&placeholders)).collect()
        };
        assert_eq!(first, second);
        assert!(first.iter().all(|values| !values.contains_key("B")));
        assert!(first.iter().all(|values| values.len() == 2));
    }
}
