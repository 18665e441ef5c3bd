//! The generated diagrams the layout test and the layout bench share (one
//! definition, included by both with `#[path]`).

use std::fmt::Write as _;

/// A layered architecture of `n` nodes: each links to `links_per_node`
/// later ones within 40 (the first link labelled), every 50th links back,
/// every 25 nodes a subgraph, one in three with a nested one.
pub fn generated(n: usize, links_per_node: usize) -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |m: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % m as u64) as usize
    };
    let mut src = String::from("flowchart TD\n");
    for i in 0..n {
        let _ = writeln!(src, "n{i}[Service {i}]");
    }
    for i in 0..n {
        for k in 0..links_per_node {
            let j = i + 1 + next(40);
            if j < n {
                if k == 0 {
                    let _ = writeln!(src, "n{i} -->|Evt{k}| n{j}");
                } else {
                    let _ = writeln!(src, "n{i} --> n{j}");
                }
            }
        }
        if i % 50 == 49 {
            let _ = writeln!(src, "n{i} --> n{}", i - 30);
        }
    }
    let mut g = 0;
    while g * 25 + 10 < n {
        let start = g * 25;
        let _ = writeln!(src, "subgraph G{g}[Group {g}]");
        for i in start..start + 8 {
            let _ = writeln!(src, "n{i}");
        }
        if g % 3 == 1 {
            let _ = writeln!(
                src,
                "subgraph I{g}[Inner]\nn{} & n{}\nend",
                start + 8,
                start + 9
            );
        }
        let _ = writeln!(src, "end");
        g += 1;
    }
    src
}
