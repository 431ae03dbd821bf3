//! Config problems: every mistake found in a config file, each with the key path it is
//! about (`mappings[2].organizations[0]: unknown organization "acme-wst"`). Validation
//! collects all of them instead of stopping at the first.

use std::fmt;

/// One problem (or, in [`super::Config::warnings`], one non-fatal remark) with the key
/// path it concerns. Problems about the file as a whole use the file's path, with
/// `:line:column` for a TOML syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    pub path: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Why a config could not be loaded: one or more problems, printed one per line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    pub problems: Vec<ConfigProblem>,
}

impl ConfigErrors {
    pub fn single(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![ConfigProblem::new(path, message)],
        }
    }

    pub fn len(&self) -> usize {
        self.problems.len()
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigProblem> {
        self.problems.iter()
    }

    /// The problem reported at exactly `path`, if any (convenient in tests and tools).
    pub fn at(&self, path: &str) -> Option<&ConfigProblem> {
        self.problems.iter().find(|p| p.path == path)
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Collects problems and warnings while a config is read and validated.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub errors: Vec<ConfigProblem>,
    pub warnings: Vec<ConfigProblem>,
}

impl Problems {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigProblem::new(path, message));
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigProblem::new(path, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_problem_per_line() {
        let errors = ConfigErrors {
            problems: vec![
                ConfigProblem::new(
                    "mappings[2].organizations[0]",
                    "unknown organization \"acme-wst\"",
                ),
                ConfigProblem::new("version", "missing"),
            ],
        };
        assert_eq!(
            errors.to_string(),
            "mappings[2].organizations[0]: unknown organization \"acme-wst\"\nversion: missing"
        );
    }
}
