//! Text that people typed or that a notice quotes: bounded on the way in, cut on the way out.

/// `text`, cut to at most `max` characters with an ellipsis when it was longer.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A short name, such as an environment's or a token's: 1 to 32 lowercase letters, digits,
/// `-` or `_`, trimmed; `None` when it is not one.
pub fn short_name(name: &str) -> Option<String> {
    let name = name.trim();
    let valid = !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    valid.then(|| name.to_owned())
}

/// Trims `text` and checks it is non-empty and at most `max` characters.
pub fn bounded_text(what: &str, text: &str, max: usize) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    let len = text.chars().count();
    if len > max {
        return Err(format!(
            "the {what} is {len} characters long; the limit is {max}"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_keep_short_texts_and_cut_long_ones_to_their_limit() {
        assert_eq!(excerpt("abc", 3), "abc");
        assert_eq!(excerpt("abcd", 3), "ab…");
        assert_eq!(excerpt(&"é".repeat(400), 150).chars().count(), 150);
    }

    #[test]
    fn a_bounded_text_is_trimmed_and_refused_when_empty_or_too_long() {
        assert_eq!(bounded_text("reason", "  why  ", 3).as_deref(), Ok("why"));
        assert_eq!(
            bounded_text("reason", "   ", 3),
            Err("the reason is empty".to_owned())
        );
        assert_eq!(
            bounded_text("reason", "four", 3),
            Err("the reason is 4 characters long; the limit is 3".to_owned())
        );
    }
}
