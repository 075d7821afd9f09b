//! How a command fails: a message, an optional hint, and an exit code by kind.

use std::process::ExitCode;

/// What kind of failure, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Something the user gave is wrong (arguments, a file): exit 2.
    User,
    /// The node cannot be reached or answered with an error: exit 3.
    Network,
    /// The chain refused or failed the transaction: exit 4.
    Chain,
}

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    kind: FailureKind,
    message: String,
    hint: Option<String>,
}

impl Failure {
    /// A problem with the user's input.
    pub fn user(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::User, message: message.into(), hint: None }
    }

    /// The node cannot be reached or misbehaved.
    pub fn network(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::Network, message: message.into(), hint: None }
    }

    /// The chain refused or failed a transaction.
    pub fn chain(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::Chain, message: message.into(), hint: None }
    }

    /// Adds a hint: what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the failure to stderr and returns its exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
        match self.kind {
            FailureKind::User => ExitCode::from(2),
            FailureKind::Network => ExitCode::from(3),
            FailureKind::Chain => ExitCode::from(4),
        }
    }
}
