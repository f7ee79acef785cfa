//! Diagnostics about scenario files, each naming `file:line:column` and what was expected.

use std::fmt;

use serde::Serialize;

/// One problem found in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file as given to the loader.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
    /// A warning (a likely mistake that still runs) rather than an error (the file cannot run).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl Diagnostic {
    /// A diagnostic at a position.
    pub fn new(
        file: impl Into<String>,
        line: usize,
        column: usize,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.into(),
            line,
            column,
            message: message.into(),
            warning: false,
        }
    }

    /// The same diagnostic as a warning.
    pub fn as_warning(mut self) -> Self {
        self.warning = true;
        self
    }

    /// `true` for an error (the scenario cannot run as written).
    pub fn is_error(&self) -> bool {
        !self.warning
    }

    /// A diagnostic placed at the first occurrence of `needle` in `source` at or after line
    /// `from_line` (1-based), else at the first occurrence anywhere, else at 1:1.
    ///
    /// serde_yaml 0.9 keeps no positions in a parsed tree, so semantic checks (unknown requirement
    /// id, undefined variable) find their line by searching the source for the offending token.
    pub fn at_token(
        file: impl Into<String>,
        source: &str,
        needle: &str,
        from_line: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = locate(source, needle, from_line)
            .or_else(|| locate(source, needle, 1))
            .unwrap_or((1, 1));
        Diagnostic::new(file, line, column, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file,
            self.line,
            self.column,
            if self.warning { "warning" } else { "error" },
            self.message
        )
    }
}

/// The 1-based (line, column) of the first `needle` at or after line `from_line`; the column
/// counts characters.
pub fn locate(source: &str, needle: &str, from_line: usize) -> Option<(usize, usize)> {
    if needle.is_empty() {
        return None;
    }
    for (i, line) in source.lines().enumerate() {
        let n = i + 1;
        if n < from_line {
            continue;
        }
        if let Some(byte) = line.find(needle) {
            let col = line.get(..byte).map(|p| p.chars().count()).unwrap_or(0) + 1;
            return Some((n, col));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_compiler() {
        let src = "a: 1\nb: x ${foo}\nc: ${foo}\n";
        let d = Diagnostic::at_token("s.yaml", src, "${foo}", 3, "undefined");
        assert_eq!(d.to_string(), "s.yaml:3:4: error: undefined");
        let d = Diagnostic::at_token("s.yaml", src, "${foo}", 1, "undefined");
        assert_eq!((d.line, d.column), (2, 6));
        let d = Diagnostic::at_token("s.yaml", src, "zzz", 1, "m");
        assert_eq!((d.line, d.column), (1, 1));
    }
}
