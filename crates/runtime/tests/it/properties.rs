//! Properties over random transaction sequences.
