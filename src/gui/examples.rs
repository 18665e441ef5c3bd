//! The diagrams in `diagrams/`, embedded in the binary for File ▸ Examples.
//! A test fails when a `.mmd` file there is missing from [`EXAMPLES`].

/// `(file name, text)` of every example diagram.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "bank-account.mmd",
        include_str!("../../diagrams/bank-account.mmd"),
    ),
    ("eda-seed.mmd", include_str!("../../diagrams/eda-seed.mmd")),
    (
        "outbox-cdc.mmd",
        include_str!("../../diagrams/outbox-cdc.mmd"),
    ),
    (
        "retry-dlq.mmd",
        include_str!("../../diagrams/retry-dlq.mmd"),
    ),
    (
        "saga-choreography.mmd",
        include_str!("../../diagrams/saga-choreography.mmd"),
    ),
    (
        "saga-orchestrated.mmd",
        include_str!("../../diagrams/saga-orchestrated.mmd"),
    ),
    (
        "schema-upcaster.mmd",
        include_str!("../../diagrams/schema-upcaster.mmd"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_diagram_file_is_listed_and_parses() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("diagrams");
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".mmd") {
                assert!(
                    EXAMPLES.iter().any(|(n, _)| *n == name),
                    "diagrams/{name} is missing from gui::examples::EXAMPLES"
                );
            }
        }
        for (name, text) in EXAMPLES {
            assert!(
                crate::mermaid::parse_flowchart(text).is_ok(),
                "{name} does not parse"
            );
        }
    }
}
