//! Prompt templates: Markdown files under `prompts/`, compiled in with
//! `include_str!`, with `{{name}}` placeholders.
//!
//! A template may open with an HTML comment (`<!-- ... -->`) that documents
//! it for its maintainers; the comment is never sent. Rendering is one pass
//! over the template, so a value that itself contains `{{...}}` (a
//! conversation can hold anything) is inserted as it is and never expanded.
//! Every placeholder must be given a value and every value must have a
//! placeholder: a template and the code that fills it cannot drift apart
//! silently.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(&'static str),
    Slot(&'static str),
}

/// A parsed prompt template.
#[derive(Debug, Clone)]
pub struct Template {
    name: &'static str,
    pieces: Vec<Piece>,
}

impl Template {
    /// Parse `source` (the file `name`, for messages). Fails on an unclosed
    /// comment or placeholder, or a placeholder name that is not `[a-z_]+`.
    pub fn parse(name: &'static str, source: &'static str) -> Result<Self, String> {
        // The file's final newline is not part of the prompt.
        let mut rest = source.trim();
        if let Some(after) = rest.strip_prefix("<!--") {
            let end = after
                .find("-->")
                .ok_or_else(|| format!("prompt {name}: unclosed comment"))?;
            rest = after[end + 3..].trim_start();
        }
        let mut pieces = Vec::new();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                pieces.push(Piece::Text(&rest[..open]));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("prompt {name}: unclosed placeholder"))?;
            let slot = &after[..close];
            if slot.is_empty() || !slot.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                return Err(format!("prompt {name}: bad placeholder {{{{{slot}}}}}"));
            }
            pieces.push(Piece::Slot(slot));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest));
        }
        Ok(Self { name, pieces })
    }

    /// The placeholders, in order of first appearance.
    pub fn placeholders(&self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Slot(s) = piece
                && !out.contains(s)
            {
                out.push(s);
            }
        }
        out
    }

    /// The template with each placeholder replaced by its value.
    pub fn render(&self, values: &[(&str, &str)]) -> Result<String, String> {
        let placeholders = self.placeholders();
        if let Some((unused, _)) = values.iter().find(|(k, _)| !placeholders.contains(k)) {
            return Err(format!(
                "prompt {}: no placeholder for {unused:?}",
                self.name
            ));
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(s) => {
                    let (_, value) = values
                        .iter()
                        .find(|(k, _)| k == s)
                        .ok_or_else(|| format!("prompt {}: no value for {{{{{s}}}}}", self.name))?;
                    out.push_str(value);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_fills_its_placeholders_once_and_hides_its_comment() {
        let t = Template::parse(
            "t.md",
            "<!-- about {{nothing}} -->\nSay {{a}} and {{b}}, {{a}}.",
        )
        .expect("parses");
        assert_eq!(t.placeholders(), vec!["a", "b"]);
        let out = t.render(&[("a", "{{b}}"), ("b", "x")]).expect("renders");
        assert_eq!(out, "Say {{b}} and x, {{b}}.");
        assert!(t.render(&[("a", "1")]).is_err(), "b is missing");
        assert!(t.render(&[("a", "1"), ("b", "2"), ("c", "3")]).is_err());
        assert!(Template::parse("t.md", "{{open").is_err());
        assert!(Template::parse("t.md", "{{Bad Name}}").is_err());
    }
}
