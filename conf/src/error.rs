//! Configuration errors. Loading never stops at the first problem: every error is collected, and
//! each one names where it is (file and line, environment variable, or entity path).

use std::fmt;

/// One problem found in a config source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    /// The file the problem is in, or `env SLUICE_X`, or the built-in file's name.
    pub source: String,
    /// 1-based line in `source`, when the source is line-oriented.
    pub line: Option<usize>,
    /// The property (node config) or entity path (declarative config) at fault; may be empty.
    pub at: String,
    /// What is wrong, in Kong's words where Kong has them.
    pub message: String,
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.at.is_empty() {
            write!(f, ": {}", self.at)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found while loading; never empty when returned as `Err`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Errors(Vec<ConfError>);

impl Errors {
    pub(crate) fn push(&mut self, error: ConfError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfError> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was reported, else `Err(self)`.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, Errors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl IntoIterator for Errors {
    type Item = ConfError;
    type IntoIter = std::vec::IntoIter<ConfError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl From<ConfError> for Errors {
    fn from(error: ConfError) -> Self {
        Errors(vec![error])
    }
}

/// One error per line, in the order they were found.
impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Errors {}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(line: Option<usize>, at: &str) -> ConfError {
        ConfError {
            source: "sluice.conf".into(),
            line,
            at: at.into(),
            message: "bad".into(),
        }
    }

    #[test]
    fn display_names_source_line_and_key() {
        assert_eq!(
            error(Some(3), "log_level").to_string(),
            "sluice.conf:3: log_level: bad"
        );
        assert_eq!(
            error(None, "services[0]").to_string(),
            "sluice.conf: services[0]: bad"
        );
        assert_eq!(error(None, "").to_string(), "sluice.conf: bad");
    }

    #[test]
    fn errors_display_one_per_line_and_result() {
        let mut errors = Errors::default();
        assert_eq!(errors.clone().into_result(1), Ok(1));
        errors.push(error(Some(1), "a"));
        errors.push(error(Some(2), "b"));
        assert_eq!(
            errors.to_string(),
            "sluice.conf:1: a: bad\nsluice.conf:2: b: bad"
        );
        assert_eq!(errors.len(), 2);
        assert!(errors.into_result(1).is_err());
    }
}
