//! Small text shapes that wording in more than one layer needs (the `ai` engine's end reasons,
//! `results/`'s failures). No rule about what is said lives here.

/// `text` with its first character in upper case, so a lower-case message can start a
/// sentence.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_character_changes() {
        assert_eq!(capitalise("the connection closed"), "The connection closed");
        assert_eq!(capitalise("échec: X"), "Échec: X");
        assert_eq!(capitalise(""), "");
    }
}
