//! SDP (RFC 4566) with the MSRP (RFC 4975, 6135, 6714) and file-transfer (RFC 5547) attributes.
