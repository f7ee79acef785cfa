//! multipart/mixed bodies (RFC 2046) with per-part headers.
