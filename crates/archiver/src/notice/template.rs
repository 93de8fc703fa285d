//! The notices' wording: a plain-text and an HTML template for each kind, built in and
//! overridable by files. A template fills `{{name}}` with a value and repeats the block between
//! `{{#entries}}` and `{{/entries}}` once per recording; values are HTML-escaped in HTML. The
//! text template's first line, `Subject: …`, is the subject.

use std::path::Path;

use crate::error::{Error, Result};

/// The two kinds of notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// "Your recordings will be archived on …".
    Archive,
    /// "Your recordings are back".
    Restored,
}

impl Kind {
    fn file_stem(self) -> &'static str {
        match self {
            Kind::Archive => "archive",
            Kind::Restored => "restored",
        }
    }
}

/// Values for one notice: the mail's own, and one set per recording.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// `{{name}}` → value.
    pub fields: Vec<(&'static str, String)>,
    /// The recordings, each with its `{{name}}` → value.
    pub entries: Vec<Vec<(&'static str, String)>>,
}

/// A rendered notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// The templates in use.
#[derive(Debug, Clone)]
pub struct Templates {
    archive: (String, String),
    restored: (String, String),
}

impl Default for Templates {
    fn default() -> Self {
        Templates {
            archive: (
                include_str!("templates/archive.txt").into(),
                include_str!("templates/archive.html").into(),
            ),
            restored: (
                include_str!("templates/restored.txt").into(),
                include_str!("templates/restored.html").into(),
            ),
        }
    }
}

impl Templates {
    /// The built-in templates, with any of `archive.txt`, `archive.html`, `restored.txt`,
    /// `restored.html` found in `dir` instead. A text template must start with `Subject: `.
    pub fn load(dir: Option<&Path>) -> Result<Templates> {
        let mut t = Templates::default();
        let Some(dir) = dir else { return Ok(t) };
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "the notice template directory {} does not exist",
                dir.display()
            )));
        }
        for kind in [Kind::Archive, Kind::Restored] {
            let (text, html) = match kind {
                Kind::Archive => &mut t.archive,
                Kind::Restored => &mut t.restored,
            };
            for (slot, ext) in [(text, "txt"), (html, "html")] {
                let path = dir.join(format!("{}.{ext}", kind.file_stem()));
                if path.exists() {
                    *slot = std::fs::read_to_string(&path).map_err(|e| {
                        Error::Invalid(format!("cannot read {}: {e}", path.display()))
                    })?;
                }
            }
            let text = match kind {
                Kind::Archive => &t.archive.0,
                Kind::Restored => &t.restored.0,
            };
            if split_subject(text).is_none() {
                return Err(Error::Invalid(format!(
                    "{}.txt in {} must start with a line `Subject: …`",
                    kind.file_stem(),
                    dir.display()
                )));
            }
        }
        Ok(t)
    }

    /// Renders a notice of `kind`.
    pub fn render(&self, kind: Kind, values: &Values) -> Rendered {
        let (text, html) = match kind {
            Kind::Archive => &self.archive,
            Kind::Restored => &self.restored,
        };
        let text = fill(text, values, false);
        let (subject, body) = split_subject(&text).unwrap_or(("", &text));
        Rendered {
            subject: subject.trim().to_string(),
            text: body.trim_start_matches('\n').to_string(),
            html: fill(html, values, true),
        }
    }
}

fn split_subject(text: &str) -> Option<(&str, &str)> {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    Some((first.strip_prefix("Subject:")?, rest))
}

const START: &str = "{{#entries}}";
const END: &str = "{{/entries}}";

fn fill(template: &str, values: &Values, html: bool) -> String {
    match template.split_once(START).and_then(|(head, rest)| {
        let (block, tail) = rest.split_once(END)?;
        Some((head, block, tail))
    }) {
        Some((head, block, tail)) => {
            let block = block.strip_prefix('\n').unwrap_or(block);
            let mut out = substitute(head, &values.fields, html);
            for e in &values.entries {
                out.push_str(&substitute(block, e, html));
            }
            out.push_str(&substitute(
                tail.strip_prefix('\n').unwrap_or(tail),
                &values.fields,
                html,
            ));
            out
        }
        None => substitute(template, &values.fields, html),
    }
}

fn substitute(s: &str, values: &[(&'static str, String)], html: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) if html => out.push_str(&escape_html(v)),
                    Some((_, v)) => out.push_str(v),
                    None => out.push_str(&rest[at..at + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// `s` as HTML text or attribute value.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            fields: vec![
                ("owner", "ada".into()),
                ("count", "2".into()),
                ("date", "2026-12-16".into()),
            ],
            entries: vec![
                vec![("name", "Fluids <1>".into()), ("id", "0_a".into())],
                vec![("name", "Waves & Optics".into()), ("id", "0_b".into())],
            ],
        }
    }

    #[test]
    fn the_built_in_archive_notice_lists_every_recording_and_escapes_html() {
        let r = Templates::default().render(Kind::Archive, &values());
        assert_eq!(
            r.subject,
            "2 of your recordings will be archived on 2026-12-16"
        );
        assert!(r.text.starts_with("Hello ada,"), "{}", r.text);
        assert!(r.text.contains("  - Fluids <1> (0_a)") && r.text.contains("Waves & Optics (0_b)"));
        assert!(r.html.contains("<td>Fluids &lt;1&gt;</td>"), "{}", r.html);
        assert!(r.html.contains("Waves &amp; Optics"));
        assert!(!r.html.contains("{{#entries}}") && !r.text.contains("{{/entries}}"));
    }

    #[test]
    fn templates_in_a_directory_replace_the_built_in_ones_and_need_a_subject() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("archive.txt"),
            "Subject: Archiving for {{owner}}\n{{#entries}}* {{id}}\n{{/entries}}{{unknown}}\n",
        )
        .unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let r = t.render(Kind::Archive, &values());
        assert_eq!(r.subject, "Archiving for ada");
        assert_eq!(r.text, "* 0_a\n* 0_b\n{{unknown}}\n");
        assert!(r.html.contains("<table"), "the HTML stays built in");
        std::fs::write(
            dir.path().join("restored.txt"),
            "Your recordings are back\n",
        )
        .unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err().to_string();
        assert!(e.contains("restored.txt") && e.contains("Subject:"), "{e}");
    }
}
