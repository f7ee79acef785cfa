//! The MSRP media plane of one session (7.3.9.1, RFC 4975 / RFC 6135): a task that opens the
//! connection (active connect or passive accept), sends what the loop asks and forwards every
//! MSRP event back to the loop.

use std::sync::Arc;
use std::time::Duration;

use cpmconf_capture::Tap;
use cpmconf_codec::msrp::MsrpUri;
use cpmconf_stack::msrp::{MsrpConnection, MsrpEndpoint, SendOptions, SessionConfig, SessionEvent};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::core::Internal;

/// What the loop asks a media task.
#[derive(Debug)]
pub(crate) enum MediaCmd {
    /// Send one message.
    Send {
        content_type: String,
        body: Vec<u8>,
        opts: SendOptions,
    },
    /// Close the connection (release the media plane).
    Close,
}

/// Which side opens the TCP connection (RFC 6135).
pub(crate) enum Role {
    /// We connect to the peer's path.
    Active,
    /// We wait for the peer on our listener.
    Passive(Arc<MsrpEndpoint>),
}

/// Starts the media task of `handle`; reports [`Internal::MediaUp`] or [`Internal::MediaDown`].
#[allow(clippy::too_many_arguments)]
pub(crate) fn open(
    handle: String,
    role: Role,
    local_path: Vec<MsrpUri>,
    remote_path: Vec<MsrpUri>,
    tap: Option<Tap>,
    seed: u64,
    connect_deadline: Duration,
    internal: mpsc::UnboundedSender<Internal>,
) {
    tokio::spawn(async move {
        let mut config = SessionConfig::new(local_path, remote_path);
        config.seed = Some(seed);
        config.emit_frames = true;
        let deadline = Instant::now() + connect_deadline;
        let conn = match role {
            Role::Active => MsrpConnection::connect(config, tap, deadline).await,
            Role::Passive(ep) => ep.accept_session(config, deadline).await,
        };
        let mut conn = match conn {
            Ok(c) => c,
            Err(e) => {
                let _ = internal.send(Internal::MediaDown {
                    handle,
                    error: e.to_string(),
                });
                return;
            }
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        if internal
            .send(Internal::MediaUp {
                handle: handle.clone(),
                cmds: tx,
            })
            .is_err()
        {
            return;
        }
        loop {
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(MediaCmd::Send { content_type, body, opts }) => {
                        if let Err(e) = conn.send_message(&content_type, body, opts).await {
                            let _ = internal.send(Internal::MediaDown { handle: handle.clone(), error: e.to_string() });
                            return;
                        }
                    }
                    Some(MediaCmd::Close) | None => {
                        let _ = conn.close().await;
                        return;
                    }
                },
                ev = conn.next_event(Instant::now() + Duration::from_secs(3600)) => match ev {
                    Ok(event) => {
                        let closed = matches!(event, SessionEvent::Closed { .. } | SessionEvent::Error(_));
                        let _ = internal.send(Internal::Media { handle: handle.clone(), event });
                        if closed {
                            let _ = internal.send(Internal::MediaDown { handle: handle.clone(), error: "closed by the peer".into() });
                            return;
                        }
                    }
                    Err(cpmconf_stack::msrp::MsrpError::Timeout(_)) => {}
                    Err(e) => {
                        let _ = internal.send(Internal::MediaDown { handle: handle.clone(), error: e.to_string() });
                        return;
                    }
                },
            }
        }
    });
}
