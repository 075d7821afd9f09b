//! Typed errors for malformed epoch inputs.

/// Why an epoch input was rejected. The epoch never runs on a malformed input: a wrong
/// length or an out-of-range UID is an error, never a silent zero.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum YumaError {
    /// A per-neuron vector does not have one entry per neuron.
    #[error("`{field}` has {actual} entries, expected {expected} (one per neuron)")]
    LengthMismatch {
        /// The input field.
        field: &'static str,
        /// The number of neurons (the length of `stake`).
        expected: usize,
        /// The field's length.
        actual: usize,
    },
    /// More neurons than a `u16` UID can address.
    #[error("{0} neurons: at most 65535 UIDs fit in a u16")]
    TooManyNeurons(usize),
    /// A sparse row names a UID that is not a neuron.
    #[error("`{field}` row {row} names UID {uid}, but there are only {n} neurons")]
    UidOutOfRange {
        /// The input field (`weights` or `bonds`).
        field: &'static str,
        /// The row (the UID that set the entry).
        row: usize,
        /// The out-of-range UID.
        uid: u16,
        /// The number of neurons.
        n: usize,
    },
    /// A sparse row names the same UID twice.
    #[error("`{field}` row {row} names UID {uid} twice")]
    DuplicateUid {
        /// The input field (`weights` or `bonds`).
        field: &'static str,
        /// The row.
        row: usize,
        /// The repeated UID.
        uid: u16,
    },
    /// The subnet owner's UID is not a neuron.
    #[error("owner UID {uid} is out of range ({n} neurons)")]
    OwnerOutOfRange {
        /// The owner UID.
        uid: u16,
        /// The number of neurons.
        n: usize,
    },
    /// A hyperparameter outside its domain.
    #[error("parameter `{name}` = {value} is invalid: {reason}")]
    InvalidParam {
        /// The parameter.
        name: &'static str,
        /// Its value, printed.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
}
