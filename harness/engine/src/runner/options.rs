//! What a run is configured with: the client profile, the selected scenarios, where reports and
//! golden files go, the seed, the time factor and the known failures.

use std::path::PathBuf;
use std::time::Duration;

use cpmconf_ut::ClientProfile;

use crate::scenario::LoadedScenario;
use crate::verdict::KnownFailures;

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The client under test.
    pub profile: ClientProfile,
    /// The selected scenarios, in run order.
    pub scenarios: Vec<LoadedScenario>,
    /// Report directory (`pcap/`, `wire/` are created inside).
    pub report_dir: PathBuf,
    /// Root of the golden files (`golden/`); snapshots live in `<root>/<client>/<scenario>.snap`.
    /// `None`: no golden comparison (and nothing written).
    pub golden_root: Option<PathBuf>,
    /// Directory `send: { body: { file } }` paths are relative to (`fixtures/`).
    pub fixtures_dir: PathBuf,
    /// Seed of the run; each scenario derives its own from it and its id.
    pub seed: u64,
    /// Deadlines and SIP timers.
    pub timing: Timing,
    /// Scenarios run at the same time.
    pub jobs: usize,
    /// SHOULD failures fail the gate.
    pub strict: bool,
    /// Known failures (`--expect-fail`).
    pub known: KnownFailures,
    /// Faults of the reference client to switch on (`--fault`).
    pub faults: Vec<String>,
    /// Write golden files instead of comparing.
    pub bless: bool,
    /// Fewest judged requirement results the gate accepts (`--min-judged`).
    pub min_judged: Option<usize>,
    /// Set from outside (SIGINT, SIGTERM) to stop the run early: no further scenario starts,
    /// running ones end as `error: interrupted`.
    pub interrupt: Interrupt,
}

/// A one-way switch that stops a run: cloned handles share it; [`Interrupt::trigger`] flips it,
/// [`Interrupt::triggered`] resolves once it is flipped (at once when it already is).
#[derive(Debug, Clone)]
pub struct Interrupt(std::sync::Arc<tokio::sync::watch::Sender<bool>>);

impl Default for Interrupt {
    fn default() -> Self {
        Interrupt(std::sync::Arc::new(tokio::sync::watch::Sender::new(false)))
    }
}

impl Interrupt {
    /// Flips the switch (idempotent).
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Whether the switch is flipped.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves when the switch is flipped.
    pub async fn triggered(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail with a closed channel.
        let _ = rx.wait_for(|on| *on).await;
    }
}

/// Deadlines of the runner, every one multiplied by `scale` (`--time-scale`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The global factor.
    pub scale: f64,
}

impl Timing {
    /// Nominal timing (factor 1).
    pub fn nominal() -> Timing {
        Timing { scale: 1.0 }
    }

    /// `d` scaled.
    pub fn scaled(&self, d: Duration) -> Duration {
        let f = if self.scale.is_finite() && self.scale > 0.0 {
            self.scale
        } else {
            1.0
        };
        d.mul_f64(f)
    }

    /// Default deadline of an `expect`, a `wait_for` and a group.
    pub fn expect(&self) -> Duration {
        self.scaled(Duration::from_secs(5))
    }

    /// Default window of an `expect_none`.
    pub fn expect_none(&self) -> Duration {
        self.scaled(Duration::from_secs(1))
    }

    /// Deadline of an upper-tester command's response.
    pub fn command(&self) -> Duration {
        self.scaled(Duration::from_secs(10))
    }

    /// Deadline of starting the adapter and of its shutdown.
    pub fn adapter(&self) -> Duration {
        self.scaled(Duration::from_secs(10))
    }

    /// After the client confirmed quiescence (`sync`), how long messages it sent just before
    /// may still take to reach the simulated network over loopback.
    pub fn sync_grace(&self) -> Duration {
        self.scaled(Duration::from_millis(100))
    }
}

/// A fresh random run seed (printed by the CLI, replayed with `--seed`).
pub fn random_seed() -> u64 {
    use rand::RngCore;
    rand::rngs::OsRng.next_u64() >> 11
}

/// The current UTC time, RFC 3339 (`2026-11-27T10:00:00Z`), and a file-name form of it
/// (`2026-11-27T10-00-00Z`) for the default report directory.
pub fn now_stamp() -> (String, String) {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let rfc = now
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into());
    let file = rfc.replace(':', "-");
    (rfc, file)
}
