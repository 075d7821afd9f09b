//! The epoch vectors of `chain.json`, replayed through the harness.
