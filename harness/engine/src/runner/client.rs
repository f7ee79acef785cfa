//! Starting the client under test from its profile: the in-process reference client (with the
//! selected faults), or an external adapter (process or TCP) through the upper-tester driver.

use std::net::SocketAddr;

use cpmconf_capture::Tap;
use cpmconf_client::{ClientConfig, FaultSet, RefClient};
use cpmconf_ut::{AdapterProcess, AdapterSpec, ClientProfile, UpperTester};

use super::options::Timing;

/// A started client: its upper tester, and the reference client itself when in process (kept
/// alive until the scenario ends).
pub struct StartedClient {
    /// Drives the client.
    pub ut: Box<dyn UpperTester>,
    /// The in-process reference client, if that is the client.
    pub reference: Option<RefClient>,
}

/// `true` when the profile runs the reference client in this process (its sockets report to
/// the tap themselves; for other clients the simulated network records what it receives).
pub fn is_in_process(profile: &ClientProfile) -> bool {
    matches!(profile.adapter, AdapterSpec::InProcess)
}

/// Starts the client under test.
pub async fn start(
    profile: &ClientProfile,
    faults: &FaultSet,
    core: SocketAddr,
    tap: &Tap,
    seed: u64,
    timing: Timing,
) -> Result<StartedClient, String> {
    match &profile.adapter {
        AdapterSpec::InProcess => {
            let mut cfg =
                ClientConfig::from_configure(&profile.configure(&core.to_string()), core.ip())?;
            cfg.faults = faults.clone();
            cfg.timers = timing.client_timers(cfg.timers);
            cfg.tap = Some(tap.clone());
            cfg.seed = seed;
            if let Some(w) = profile.reference.file_send_window {
                cfg.file_send_window = w.chunks();
            }
            cfg.quirks = profile.reference.quirks.clone();
            let (client, adapter) = RefClient::start(cfg)
                .await
                .map_err(|e| format!("the reference client did not start: {e}"))?;
            Ok(StartedClient {
                ut: Box::new(adapter),
                reference: Some(client),
            })
        }
        AdapterSpec::Tcp { addr } => {
            let a = cpmconf_ut::Adapter::connect_tcp(addr, timing.adapter())
                .await
                .map_err(|e| format!("adapter at {addr}: {e}"))?;
            Ok(StartedClient {
                ut: Box::new(a),
                reference: None,
            })
        }
        spec @ AdapterSpec::Process { .. } => {
            let a = AdapterProcess::spawn(spec, timing.adapter())
                .await
                .map_err(|e| format!("adapter did not start: {e}"))?;
            Ok(StartedClient {
                ut: Box::new(a),
                reference: None,
            })
        }
    }
}
