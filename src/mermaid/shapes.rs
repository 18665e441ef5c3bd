//! The `@{ shape: … }` names mermaid accepts (`isValidShape`), and near-name
//! suggestions for the "No such shape" diagnostic.

/// Every valid shape name: short names, their aliases, and the lowercase
/// internal names mermaid's shape registry also answers to.
pub(crate) const SHAPE_NAMES: &[&str] = &[
    "rect",
    "proc",
    "process",
    "rectangle",
    "rounded",
    "event",
    "stadium",
    "pill",
    "terminal",
    "subproc",
    "subprocess",
    "subroutine",
    "fr-rect",
    "framed-rectangle",
    "cyl",
    "cylinder",
    "database",
    "db",
    "circle",
    "circ",
    "odd",
    "diamond",
    "decision",
    "question",
    "diam",
    "hex",
    "hexagon",
    "prepare",
    "lean-r",
    "in-out",
    "lean-right",
    "lean-l",
    "out-in",
    "lean-left",
    "trap-b",
    "priority",
    "trapezoid",
    "trapezoid-bottom",
    "trap-t",
    "manual",
    "inv-trapezoid",
    "trapezoid-top",
    "dbl-circ",
    "double-circle",
    "doublecircle",
    "text",
    "notch-rect",
    "card",
    "notched-rectangle",
    "lin-rect",
    "lined-process",
    "lined-rectangle",
    "shaded-process",
    "lin-proc",
    "sm-circ",
    "start",
    "small-circle",
    "framed-circle",
    "stop",
    "fr-circ",
    "fork",
    "join",
    "hourglass",
    "collate",
    "comment",
    "brace",
    "brace-l",
    "brace-r",
    "braces",
    "bolt",
    "com-link",
    "lightning-bolt",
    "doc",
    "document",
    "delay",
    "half-rounded-rectangle",
    "das",
    "h-cyl",
    "horizontal-cylinder",
    "lin-cyl",
    "disk",
    "lined-cylinder",
    "curv-trap",
    "display",
    "curved-trapezoid",
    "div-rect",
    "div-proc",
    "divided-process",
    "divided-rectangle",
    "tri",
    "extract",
    "triangle",
    "win-pane",
    "internal-storage",
    "window-pane",
    "f-circ",
    "junction",
    "filled-circle",
    "lin-doc",
    "lined-document",
    "notch-pent",
    "loop-limit",
    "notched-pentagon",
    "flip-tri",
    "manual-file",
    "flipped-triangle",
    "sl-rect",
    "manual-input",
    "sloped-rectangle",
    "docs",
    "documents",
    "st-doc",
    "stacked-document",
    "processes",
    "procs",
    "st-rect",
    "stacked-rectangle",
    "flag",
    "paper-tape",
    "bow-rect",
    "stored-data",
    "bow-tie-rectangle",
    "cross-circ",
    "summary",
    "crossed-circle",
    "tag-doc",
    "tagged-document",
    "tag-rect",
    "tag-proc",
    "tagged-process",
    "tagged-rectangle",
    "icon",
    "image",
    "state",
    "choice",
    "note",
    "anchor",
];

/// The table's copy of `name` when mermaid knows it (`name` already
/// checked to be lowercase without `_`): a node borrows its shape name
/// instead of owning one.
pub(crate) fn known_shape(name: &str) -> Option<&'static str> {
    SHAPE_NAMES.iter().find(|&&n| n == name).copied()
}

/// Up to three known names close to `name`, best first.
pub(crate) fn near_names(name: &str) -> Vec<&'static str> {
    let wanted = name.to_lowercase().replace('_', "-");
    let mut scored: Vec<(usize, &'static str)> = SHAPE_NAMES
        .iter()
        .filter_map(|&cand| {
            let d = edit_distance(&wanted, cand);
            let close = d <= 2
                || (wanted.len() >= 3 && (cand.starts_with(&wanted) || wanted.starts_with(cand)));
            close.then_some((d, cand))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().take(64).enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_valid_and_typos_get_suggestions() {
        for name in [
            "cyl",
            "manual-file",
            "procs",
            "paper-tape",
            "rounded",
            "icon",
        ] {
            assert!(known_shape(name).is_some(), "{name}");
        }
        assert!(known_shape("this-shape-does-not-exist").is_none());
        assert_eq!(near_names("cylnder").first(), Some(&"cylinder"));
        assert!(near_names("rect_left_inv_arrow").len() <= 3);
    }
}
