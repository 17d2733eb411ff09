//! Close matches of a name that was not found, for "did you mean" messages.

/// The names of `candidates` closest to `wanted` (case-insensitive edit distance, or one
/// containing the other), best first, at most `max`.
pub fn close_matches(wanted: &str, candidates: &[&str], max: usize) -> Vec<String> {
    let wanted = wanted.trim().to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .filter_map(|candidate| {
            let lower = candidate.to_lowercase();
            let distance = edit_distance(&wanted, &lower);
            let limit = (wanted.chars().count() / 3).max(2);
            let contains =
                !wanted.is_empty() && (lower.contains(&wanted) || wanted.contains(&lower));
            (distance <= limit || contains).then_some((distance, *candidate))
        })
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(max)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Levenshtein distance, in characters, as written (case counts); each text is read up to
/// its first 200 characters, so a long input costs no more than a short one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(200).collect();
    let b: Vec<char> = b.chars().take(200).collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            current[j + 1] = (previous[j] + cost)
                .min(previous[j + 1] + 1)
                .min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_and_parts_are_suggested() {
        let names = ["Billing", "General", "Billing Escalations", "Sales"];
        assert_eq!(
            close_matches("Biling", &names, 3),
            vec!["Billing".to_string()]
        );
        assert_eq!(close_matches("sales", &names, 3), vec!["Sales".to_string()]);
        assert_eq!(
            close_matches("billing", &names, 3),
            vec!["Billing".to_string(), "Billing Escalations".to_string()]
        );
        assert!(close_matches("Zzzzzzzz", &names, 3).is_empty());
    }
}
