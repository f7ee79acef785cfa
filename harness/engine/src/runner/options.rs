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

impl RunOptions {
    /// A run of `scenarios` against `profile` with the defaults of `cpmconf run`'s flags: no
    /// golden comparison, seed 0, nominal timing on the profile's clock, one job, not strict, no known failures, no
    /// faults, no blessing, no judged minimum. Set the rest with struct update syntax.
    pub fn new(
        profile: ClientProfile,
        scenarios: Vec<LoadedScenario>,
        report_dir: PathBuf,
        fixtures_dir: PathBuf,
    ) -> RunOptions {
        let timing = Timing::new(1.0, &profile);
        RunOptions {
            profile,
            scenarios,
            report_dir,
            golden_root: None,
            fixtures_dir,
            seed: 0,
            timing,
            jobs: 1,
            strict: false,
            known: KnownFailures::default(),
            faults: Vec::new(),
            bless: false,
            min_judged: None,
            interrupt: Interrupt::default(),
        }
    }
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

/// Time of a run. Two factors: `scale` (`--time-scale`) stretches every deadline and SIP
/// timer, for a slow device or network; `clock` (the profile's) is how long one second of
/// protocol time lasts on the client under test: its own timers (subscription refresh, idle
/// periods) and the scenarios' `timer:` bounds, which measure them, run that much faster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The global factor.
    pub scale: f64,
    /// Seconds one protocol second lasts (1 = real time).
    pub clock: f64,
}

impl Timing {
    /// `--time-scale` `scale` for the client of `profile` (its `clock`).
    pub fn new(scale: f64, profile: &ClientProfile) -> Timing {
        Timing {
            scale,
            clock: profile.clock,
        }
    }

    /// The factor every deadline and timer is multiplied by (1 when `scale` is not a positive
    /// number); handed as such only across the upper-tester protocol (`hello`'s `time_scale`).
    pub fn factor(&self) -> f64 {
        positive_or_one(self.scale)
    }

    /// The client's clock (1 when not a positive number); `hello`'s `clock`.
    pub fn clock_factor(&self) -> f64 {
        positive_or_one(self.clock)
    }

    /// A bound in protocol time (a step's `timer:`): scaled and on the client's clock.
    pub fn window(&self, d: Duration) -> Duration {
        d.mul_f64(self.factor() * self.clock_factor())
    }

    /// `d` scaled.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.factor())
    }

    /// SIP transaction timers (T1, T2, T4 and all derived from them) scaled.
    pub fn sip_timers(&self, t: cpmconf_client::Timers) -> cpmconf_client::Timers {
        t.scaled(self.factor())
    }

    /// Every timer of the reference client scaled (SIP, MSRP connection set-up, deferred idle),
    /// its own protocol timers on the client's clock.
    pub fn client_timers(&self, t: cpmconf_client::ClientTimers) -> cpmconf_client::ClientTimers {
        cpmconf_client::ClientTimers {
            clock: self.clock_factor(),
            ..t.scaled(self.factor())
        }
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
        self.scaled(Duration::from_millis(20))
    }
}

fn positive_or_one(x: f64) -> f64 {
    if x.is_finite() && x > 0.0 {
        x
    } else {
        1.0
    }
}

/// Scenarios at once when the run does not say (`--jobs`): 8 per core, at most 64. A scenario
/// mostly waits (on the network, on the client, on its windows), so a suite is I/O-bound: the
/// core count left the machine idle (the reference suite took 9.6 s wall for 0.2 s of CPU).
pub fn default_jobs() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores * 8).min(64)
}

/// A fresh random run seed (printed by the CLI, replayed with `--seed`).
pub fn random_seed() -> u64 {
    rand::random::<u64>() >> 11
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `--time-scale` reaches every deadline and timer through `Timing`: the scenario's
    /// defaults, the SIP timers and every timer of the reference client.
    #[test]
    fn every_deadline_and_timer_scales() {
        let t = Timing {
            scale: 2.5,
            clock: 1.0,
        };
        assert_eq!(t.expect(), Duration::from_millis(12_500));
        let sip = cpmconf_client::Timers::default();
        assert_eq!(t.sip_timers(sip).timeout(), sip.timeout().mul_f64(2.5));
        let c = cpmconf_client::ClientTimers::default();
        let s = t.client_timers(c);
        assert_eq!(s.msrp_connect, c.msrp_connect.mul_f64(2.5));
        assert_eq!(s.deferred_idle, c.deferred_idle.mul_f64(2.5));
        assert_eq!(s.sip.t2, c.sip.t2.mul_f64(2.5));
        let bad = Timing {
            scale: -1.0,
            clock: 0.0,
        };
        assert_eq!(bad.factor(), 1.0);
        assert_eq!(bad.client_timers(c), c);
    }

    /// The client's clock shortens the scenario's `timer:` bounds and the client's own timers, not
    /// the harness's deadlines and windows or the SIP transaction timers; `--time-scale` stretches all of them.
    #[test]
    fn the_clock_shortens_protocol_time_only() {
        let t = Timing {
            scale: 2.0,
            clock: 0.05,
        };
        assert_eq!(t.window(Duration::from_secs(4)), Duration::from_millis(400));
        assert_eq!(t.expect_none(), Duration::from_secs(2));
        assert_eq!(t.expect(), Duration::from_secs(10));
        assert_eq!(t.command(), Duration::from_secs(20));
        let c = t.client_timers(cpmconf_client::ClientTimers::default());
        assert_eq!(c.clock, 0.05);
        assert_eq!(c.sip.t1, Duration::from_secs(1));
        assert_eq!(c.on_clock(c.deferred_idle), Duration::from_millis(200));
    }
}
