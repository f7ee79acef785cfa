//! MSRP (RFC 4975): messages, incremental stream decoding, chunking and reassembly.
