//! Errors of the reference client.

/// Why the reference client could not start or carry out an action.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Binding the SIP or MSRP sockets failed.
    #[error("binding sockets: {0}")]
    Bind(#[from] std::io::Error),
    /// The SIP stack refused or failed a send.
    #[error("SIP stack: {0}")]
    Stack(#[from] cpmconf_stack::sip::StackError),
    /// A command cannot be carried out in the current state.
    #[error("{0}")]
    State(String),
    /// A configuration value is unusable.
    #[error("configuration: {0}")]
    Config(String),
}
