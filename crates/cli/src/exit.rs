//! How a command fails: a message, an optional hint, and an exit code by kind, on stderr;
//! under `--json`, also one JSON document on stdout:
//! `{"error": {"code", "exit_code", "message", "hint", "name"}}` (`code`: `bad_input`,
//! `node` or `chain`; `name`: the chain's error name, e.g. `InsufficientBalance`, or null).

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
    name: Option<String>,
}

impl Failure {
    /// A problem with the user's input.
    pub fn user(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::User, message: message.into(), hint: None, name: None }
    }

    /// The node cannot be reached or misbehaved.
    pub fn network(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::Network, message: message.into(), hint: None, name: None }
    }

    /// The chain refused or failed a transaction.
    pub fn chain(message: impl Into<String>) -> Self {
        Self { kind: FailureKind::Chain, message: message.into(), hint: None, name: None }
    }

    /// Adds a hint: what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds the chain's name of the error (what a script acts on).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The chain's name of the error, if it gave one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The same failure with another message (the kind, hint and name kept).
    pub fn reworded(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The exit code and the `code` of the JSON form.
    fn code(&self) -> (u8, &'static str) {
        match self.kind {
            FailureKind::User => (2, "bad_input"),
            FailureKind::Network => (3, "node"),
            FailureKind::Chain => (4, "chain"),
        }
    }

    /// The JSON form (`--json`).
    pub fn to_json(&self) -> serde_json::Value {
        let (exit_code, code) = self.code();
        serde_json::json!({"error": {"code": code, "exit_code": exit_code,
            "message": self.message, "hint": self.hint, "name": self.name}})
    }

    /// Prints the failure to stderr (and with `json` also as one document on stdout) and
    /// returns its exit code.
    pub fn report(&self, json: bool) -> ExitCode {
        if json {
            println!("{}", self.to_json());
        }
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
        ExitCode::from(self.code().0)
    }
}
