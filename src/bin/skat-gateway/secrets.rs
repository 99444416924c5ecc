//! Reading secrets for the CLI: from a file named by an option, from an environment variable, or from a hidden
//! prompt when stdin is a terminal. Never from a plain argument: other users of the machine can read argv.

use gateway::{Error, ErrorKind, Result, Secret};
use std::io::IsTerminal;
use std::path::Path;

/// Where one kind of secret may come from, for reading and for the message when it is missing.
pub struct SecretSource<'a> {
    /// What the secret is, for prompts and messages ("certificate password").
    pub what: &'a str,
    /// The environment variable that may hold it.
    pub env_var: &'a str,
    /// The option naming a file that holds it.
    pub file_option: &'a str,
}

impl SecretSource<'_> {
    /// Whether the environment variable holds a (non-empty) value.
    pub fn in_environment(&self) -> bool {
        std::env::var_os(self.env_var).is_some_and(|v| !v.is_empty())
    }

    /// Where [`SecretSource::read`] without a file took the secret from, for messages.
    pub fn origin(&self) -> String {
        if self.in_environment() {
            format!("the environment variable {}", self.env_var)
        } else {
            "the prompt".to_string()
        }
    }

    /// The secret from `file` if given, else from the environment variable, else from a hidden prompt when
    /// stdin is a terminal; an error naming all three ways otherwise.
    pub fn read(&self, file: Option<&Path>) -> Result<Secret> {
        if let Some(file) = file {
            return Secret::from_file(file);
        }
        if let Some(value) = std::env::var_os(self.env_var) {
            let value = value.into_string().map_err(|_| {
                Error::new(ErrorKind::InvalidArgument, format!("{} is not valid UTF-8", self.env_var))
            })?;
            if !value.is_empty() {
                return Ok(Secret::new(value));
            }
        }
        if std::io::stdin().is_terminal() {
            let prompt = format!("{} (input hidden): ", capitalise(self.what));
            let value = rpassword::prompt_password(prompt).map_err(|err| {
                Error::new(ErrorKind::Io, format!("cannot read the {} from the terminal: {err}", self.what))
            })?;
            if value.is_empty() {
                return Err(Error::new(ErrorKind::InvalidArgument, format!("no {} entered", self.what)));
            }
            return Ok(Secret::new(value));
        }
        Err(Error::new(
            ErrorKind::InvalidArgument,
            format!(
                "the {what} is needed: set the environment variable {env}, or give {option} FILE (a file holding \
                 only the password); passwords are never taken as plain arguments",
                what = self.what,
                env = self.env_var,
                option = self.file_option
            ),
        ))
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
