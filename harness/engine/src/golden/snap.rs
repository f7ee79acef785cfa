//! Golden files in insta's `.snap` format (`---` YAML header `---` then the content), so
//! `cargo insta review` can accept changes: read, write (bless), compare with a unified diff.

use std::path::{Path, PathBuf};

/// Errors reading or writing golden files.
#[derive(Debug, thiserror::Error)]
pub enum SnapError {
    /// I/O failure.
    #[error("failed to {action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The file.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not in `.snap` format.
    #[error("{path}:{line}:1: error: {message}")]
    Format {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// What was expected.
        message: String,
    },
}

/// A snapshot: its header fields and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `source:` (the scenario file).
    pub source: String,
    /// `expression:` (what was projected, e.g. `golden projection of <scenario>`).
    pub expression: String,
    /// The content (no trailing newline).
    pub content: String,
}

impl Snapshot {
    /// The file text: header, content, one final newline (LF only).
    pub fn to_text(&self) -> String {
        format!(
            "---\nsource: {}\nexpression: {}\n---\n{}\n",
            yaml_scalar(&self.source),
            yaml_scalar(&self.expression),
            self.content.trim_end_matches('\n')
        )
    }

    /// Parses file text.
    pub fn parse(text: &str, path: &str) -> Result<Snapshot, SnapError> {
        let text = text.replace("\r\n", "\n");
        let err = |line: usize, message: &str| SnapError::Format {
            path: path.to_string(),
            line,
            message: message.to_string(),
        };
        let rest = text
            .strip_prefix("---\n")
            .ok_or_else(|| err(1, "expected `---` opening the snapshot header"))?;
        let end = rest
            .find("\n---\n")
            .map(|i| (i, i + 5))
            .or_else(|| rest.strip_suffix("\n---").map(|h| (h.len(), rest.len())))
            .ok_or_else(|| err(2, "expected `---` closing the snapshot header"))?;
        let header = rest.get(..end.0).unwrap_or("");
        let content = rest.get(end.1..).unwrap_or("");
        let mut snap = Snapshot {
            source: String::new(),
            expression: String::new(),
            content: content.trim_end_matches('\n').to_string(),
        };
        for line in header.lines() {
            if let Some(v) = line.strip_prefix("source:") {
                snap.source = unquote(v.trim());
            } else if let Some(v) = line.strip_prefix("expression:") {
                snap.expression = unquote(v.trim());
            }
        }
        Ok(snap)
    }

    /// Reads a `.snap` file; `Ok(None)` when it does not exist.
    pub fn read(path: &Path) -> Result<Option<Snapshot>, SnapError> {
        match std::fs::read_to_string(path) {
            Ok(t) => Snapshot::parse(&t, &path.display().to_string()).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SnapError::Io {
                action: "read",
                path: path.display().to_string(),
                source,
            }),
        }
    }

    /// Writes the file atomically (temporary file then rename), creating directories.
    pub fn write(&self, path: &Path) -> Result<(), SnapError> {
        let io = |action: &'static str, source: std::io::Error| SnapError::Io {
            action,
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create the directory of", e))?;
        }
        let tmp = path.with_extension("snap.tmp");
        std::fs::write(&tmp, self.to_text()).map_err(|e| io("write", e))?;
        std::fs::rename(&tmp, path).map_err(|e| io("rename into", e))
    }
}

fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._/-<>".contains(c))
        && !s.starts_with(['-', ' ', '<'])
        && !s.ends_with(' ');
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn unquote(s: &str) -> String {
    if s.starts_with('"') {
        serde_json::from_str(s).unwrap_or_else(|_| s.to_string())
    } else {
        s.to_string()
    }
}

/// Where a client's golden file for a scenario lives: `<root>/<client>/<scenario>.snap`.
pub fn golden_path(root: &Path, client: &str, scenario: &str) -> PathBuf {
    root.join(client).join(format!("{scenario}.snap"))
}

/// The result of comparing a projection with its golden file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Identical content.
    Same,
    /// No golden file yet.
    Missing,
    /// Different: a unified diff from golden (`-`) to actual (`+`).
    Differs(String),
}

/// Compares actual content with the golden file at `path`.
pub fn compare(path: &Path, actual: &str) -> Result<Comparison, SnapError> {
    let Some(golden) = Snapshot::read(path)? else {
        return Ok(Comparison::Missing);
    };
    let actual = actual.trim_end_matches('\n');
    if golden.content == actual {
        return Ok(Comparison::Same);
    }
    Ok(Comparison::Differs(unified_diff(
        &golden.content,
        actual,
        &path.display().to_string(),
    )))
}

/// A unified diff of two texts (with a trailing newline each, so the last line compares cleanly).
pub fn unified_diff(golden: &str, actual: &str, name: &str) -> String {
    let a = format!("{golden}\n");
    let b = format!("{actual}\n");
    similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("golden {name}"), "actual")
        .to_string()
}

/// Writes the golden file (`--bless`).
pub fn bless(path: &Path, source: &str, expression: &str, content: &str) -> Result<(), SnapError> {
    Snapshot {
        source: source.to_string(),
        expression: expression.to_string(),
        content: content.to_string(),
    }
    .write(path)
}

/// Writes `<path>.new` beside the golden file, where `cargo insta review` finds pending changes.
pub fn write_pending(
    path: &Path,
    source: &str,
    expression: &str,
    content: &str,
) -> Result<PathBuf, SnapError> {
    let mut p = path.as_os_str().to_owned();
    p.push(".new");
    let p = PathBuf::from(p);
    Snapshot {
        source: source.to_string(),
        expression: expression.to_string(),
        content: content.to_string(),
    }
    .write(&p)?;
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_compare_and_bless() {
        let dir = tempfile::tempdir().unwrap();
        let path = golden_path(dir.path(), "reference", "rejoin");
        assert_eq!(compare(&path, "a\nb").unwrap(), Comparison::Missing);
        bless(
            &path,
            "scenarios/7.3.1.5.1/rejoin.yaml",
            "golden projection of rejoin",
            "a\nb\n",
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "---\nsource: scenarios/7.3.1.5.1/rejoin.yaml\nexpression: golden projection of rejoin\n---\na\nb\n"
        );
        assert_eq!(Snapshot::parse(&text, "x").unwrap().content, "a\nb");
        assert_eq!(compare(&path, "a\nb").unwrap(), Comparison::Same);
        let Comparison::Differs(d) = compare(&path, "a\nc").unwrap() else {
            panic!("expected a difference");
        };
        assert!(d.contains("-b\n+c\n"), "{d}");
        let pending = write_pending(&path, "s", "e", "a\nc").unwrap();
        assert!(pending.to_string_lossy().ends_with("rejoin.snap.new"));
    }

    /// A header value is written plain only when YAML reads it back unchanged: leading `-`,
    /// space or `<`, a trailing space, or another character make it quoted.
    #[rstest::rstest]
    #[case::plain("scenarios/7/a-b.yaml", "scenarios/7/a-b.yaml")]
    #[case::trailing_space("a b ", "\"a b \"")]
    #[case::leading_dash("-a", "\"-a\"")]
    #[case::leading_angle("<a>", "\"<a>\"")]
    #[case::colon("a: b", "\"a: b\"")]
    #[case::empty("", "\"\"")]
    fn header_values_are_quoted_when_yaml_needs_it(#[case] value: &str, #[case] written: &str) {
        assert_eq!(yaml_scalar(value), written);
        let snap = Snapshot {
            source: value.to_string(),
            expression: "e".into(),
            content: "c".into(),
        };
        assert_eq!(Snapshot::parse(&snap.to_text(), "x").unwrap(), snap);
    }

    #[test]
    fn reads_insta_written_headers() {
        let text = "---\nsource: harness/engine/src/x.rs\nexpression: text\nsnapshot_kind: text\n---\nhello\n";
        let s = Snapshot::parse(text, "x").unwrap();
        assert_eq!(
            (s.source.as_str(), s.content.as_str()),
            ("harness/engine/src/x.rs", "hello")
        );
        assert!(Snapshot::parse("hello", "y.snap")
            .unwrap_err()
            .to_string()
            .starts_with("y.snap:1:1:"));
    }
}
