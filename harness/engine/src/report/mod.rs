//! One stream of run events feeding every reporter (terminal, JUnit, JSON, HTML); reporters write
//! to an injectable `std::io::Write`, so each is snapshot-tested on a fixed synthetic run; and the
//! merge of sharded reports, which replays their streams into the same reporters.

pub mod event;
pub mod html;
pub mod json;
pub mod junit;
pub mod ladder;
pub mod merge;
pub mod terminal;

pub use event::{GoldenStatus, RunEvent, RunEventKind, StepStatus};
pub use html::HtmlReporter;
pub use json::{JsonReporter, Results, Selection};
pub use junit::JunitReporter;
pub use ladder::{Arrow, Ladder};
pub use merge::{merge_reports, MergeError, Merged};
pub use terminal::TerminalReporter;

/// Something that consumes run events.
pub trait Reporter {
    /// Handles one event (streaming reporters write at once; file reporters accumulate).
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()>;
    /// Flushes everything (after `RunFinished`).
    fn finish(&mut self) -> std::io::Result<()>;
}

/// Feeds every event to several reporters.
#[derive(Default)]
pub struct Fanout {
    reporters: Vec<Box<dyn Reporter>>,
}

impl Fanout {
    /// An empty fan-out.
    pub fn new() -> Self {
        Fanout::default()
    }

    /// Adds a reporter.
    pub fn push(&mut self, r: Box<dyn Reporter>) {
        self.reporters.push(r);
    }
}

impl Reporter for Fanout {
    fn event(&mut self, ev: &RunEvent) -> std::io::Result<()> {
        for r in &mut self.reporters {
            r.event(ev)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> std::io::Result<()> {
        for r in &mut self.reporters {
            r.finish()?;
        }
        Ok(())
    }
}

/// XML text escaping for reporters.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod fixture;
