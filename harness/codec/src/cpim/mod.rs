//! CPIM (RFC 3862) messages with NS alias resolution.
