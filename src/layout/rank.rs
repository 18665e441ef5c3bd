//! The first two phases of the layered layout: breaking cycles (a depth
//! first search in creation order reverses its back edges, so the edges
//! written first keep pointing forward) and assigning layers (longest path
//! from the sources, then nodes with more outgoing than incoming edges are
//! pulled down next to their successors, which shortens edges the way
//! network simplex would on the graphs architecture diagrams are).

/// For each edge `(from, to)` over `n` nodes, whether to reverse it so the
/// graph has no cycle. Self-loops are never reversed (the caller keeps
/// them out of layering).
pub(super) fn feedback_edges(n: usize, edges: &[(usize, usize)]) -> Vec<bool> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &(u, v)) in edges.iter().enumerate() {
        if u != v {
            out[u].push(i);
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    let mut reversed = vec![false; edges.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::OnStack;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (v, next) = *top;
            if let Some(&e) = out[v].get(next) {
                top.1 += 1;
                let w = edges[e].1;
                match mark[w] {
                    Mark::New => {
                        mark[w] = Mark::OnStack;
                        stack.push((w, 0));
                    }
                    Mark::OnStack => reversed[e] = true,
                    Mark::Done => {}
                }
            } else {
                mark[v] = Mark::Done;
                stack.pop();
            }
        }
    }
    reversed
}

/// Layers for the nodes of an acyclic graph: every edge `(from, to,
/// min_len)` goes from a lower layer to one at least `min_len` (≥ 1)
/// higher; the lowest layer is 0.
pub(super) fn assign_layers(n: usize, dag: &[(usize, usize, usize)]) -> Vec<usize> {
    let mut succ: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for &(u, v, len) in dag {
        succ[u].push((v, len.max(1)));
        indeg[v] += 1;
    }
    let in_edges = indeg.clone();
    // Kahn's algorithm in node order: a deterministic topological order.
    let mut order = Vec::with_capacity(n);
    let mut remaining = indeg;
    let mut queue: std::collections::VecDeque<usize> =
        (0..n).filter(|&v| remaining[v] == 0).collect();
    while let Some(u) = queue.pop_front() {
        order.push(u);
        for &(v, _) in &succ[u] {
            remaining[v] -= 1;
            if remaining[v] == 0 {
                queue.push_back(v);
            }
        }
    }
    debug_assert_eq!(order.len(), n, "assign_layers needs an acyclic graph");
    let mut layer = vec![0usize; n];
    for &u in &order {
        for &(v, len) in &succ[u] {
            layer[v] = layer[v].max(layer[u] + len);
        }
    }
    // Pull down nodes whose outgoing edges outnumber the incoming ones:
    // that shortens more edges than it stretches.
    for _ in 0..3 {
        let mut moved = false;
        for &u in order.iter().rev() {
            if succ[u].len() > in_edges[u] {
                let Some(target) = succ[u].iter().map(|&(v, len)| layer[v] - len).min() else {
                    continue;
                };
                if target > layer[u] {
                    layer[u] = target;
                    moved = true;
                }
            }
        }
        if !moved {
            break;
        }
    }
    let lowest = layer.iter().copied().min().unwrap_or(0);
    for l in &mut layer {
        *l -= lowest;
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_loses_exactly_its_back_edge() {
        let edges = [(0, 1), (1, 2), (2, 0), (2, 3)];
        assert_eq!(feedback_edges(4, &edges), vec![false, false, true, false]);
    }

    #[test]
    fn layers_follow_edges_and_sources_sit_next_to_their_targets() {
        // 0 -> 1 -> 2 -> 3, and 4 -> 3: 4 should sit on layer 2, not 0.
        let dag = [(0, 1, 1), (1, 2, 1), (2, 3, 1), (4, 3, 1)];
        let layer = assign_layers(5, &dag);
        for &(u, v, _) in &dag {
            assert!(layer[u] < layer[v], "{layer:?}");
        }
        assert_eq!(layer, vec![0, 1, 2, 3, 2]);
    }

    #[test]
    fn a_fork_source_stays_above_its_nearest_target() {
        let dag = [(0, 1, 1), (1, 2, 1), (3, 1, 1), (3, 2, 1)];
        let layer = assign_layers(4, &dag);
        assert_eq!(layer[3], 0);
    }

    #[test]
    fn a_minimum_length_leaves_layers_between() {
        let layer = assign_layers(3, &[(0, 1, 2), (1, 2, 1)]);
        assert_eq!(layer, vec![0, 2, 3]);
    }
}
