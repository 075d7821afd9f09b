//! Typed synapses: a request struct and its reply struct, with the Python class's name and
//! its required and hashed fields, so subnet code never touches JSON maps.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tao_sdk::synapse::Synapse;
//!
//! /// Python: `class Dummy(bt.Synapse): input: int; output: Optional[int] = None`.
//! #[derive(Serialize, Deserialize)]
//! struct Dummy {
//!     input: i64,
//! }
//! #[derive(Serialize, Deserialize)]
//! struct DummyOutput {
//!     output: Option<i64>,
//! }
//! impl Synapse for Dummy {
//!     const NAME: &'static str = "Dummy";
//!     const REQUIRED: &'static [&'static str] = &["input"];
//!     type Output = DummyOutput;
//! }
//! let query = Dummy { input: 21 }.query(std::time::Duration::from_secs(12)).unwrap();
//! assert_eq!(query.fields["input"], 21);
//! ```
//!
//! The axon side is [`crate::axon::Axon::attach_typed`] (or [`typed_spec`]); the dendrite
//! side is [`crate::dendrite::Dendrite::call`]. Body hashes are computed from the
//! serialized fields exactly as for untyped queries (the Python `str()` of each hashed
//! field's value).

use crate::{axon::SynapseSpec, dendrite::Query};
use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Value};
use std::{sync::Arc, time::Duration};

/// A synapse: the request's fields (this type) and the reply's ([`Synapse::Output`]).
pub trait Synapse: Serialize + DeserializeOwned + Send + 'static {
    /// The Python class name (the URL path).
    const NAME: &'static str;
    /// Request fields without a default (the dendrite sends a header for each).
    const REQUIRED: &'static [&'static str];
    /// `required_hash_fields`, in order (covered by the body hash).
    const HASH_FIELDS: &'static [&'static str] = &[];
    /// The fields the miner fills in.
    type Output: Serialize + DeserializeOwned + Send + 'static;

    /// The dendrite query for this request.
    fn query(&self, timeout: Duration) -> Result<Query, String> {
        let Value::Object(fields) = serde_json::to_value(self).map_err(|e| e.to_string())? else {
            return Err(format!("{} does not serialize to a JSON object", Self::NAME));
        };
        Ok(Query {
            name: Self::NAME.into(),
            fields,
            required: Self::REQUIRED.iter().map(|f| (*f).to_owned()).collect(),
            hash_fields: Self::HASH_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
            timeout,
        })
    }
}

/// The axon's spec for synapse `S` answered by `handler` (request fields in, reply fields
/// out; an `Err` is answered as 500, as the Python axon answers a failing forward).
pub fn typed_spec<S: Synapse>(
    handler: impl Fn(S) -> Result<S::Output, String> + Send + Sync + 'static,
) -> SynapseSpec {
    SynapseSpec {
        required: S::REQUIRED.iter().map(|f| (*f).to_owned()).collect(),
        hash_fields: S::HASH_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
        handler: Arc::new(move |body: &Map<String, Value>| {
            let request: S = serde_json::from_value(Value::Object(body.clone()))
                .map_err(|e| format!("{}: {e}", S::NAME))?;
            let output = handler(request)?;
            match serde_json::to_value(output).map_err(|e| e.to_string())? {
                Value::Object(map) => Ok(map),
                _ => Err(format!("{}'s output does not serialize to a JSON object", S::NAME)),
            }
        }),
    }
}

/// Reads a reply's fields as `T` (fields the reply carries besides, like `axon`, are ignored).
pub fn output<T: DeserializeOwned>(synapse: &Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(synapse.clone())).map_err(|e| e.to_string())
}
