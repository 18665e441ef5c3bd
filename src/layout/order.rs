//! The third phase of the layered layout: the order of the nodes inside
//! each layer, chosen to cross few edges.
//!
//! Starts from a depth-first order (which already draws trees without
//! crossings), then sweeps down and up the layers sorting each one by the
//! barycenter of its neighbours in the layer just fixed, keeping the order
//! with the fewest crossings (counted exactly, with a Fenwick tree); after
//! each sweep, neighbours are swapped wherever that alone removes crossings.
//!
//! Groups constrain every sort: the nodes of a group stay in one block per
//! layer (a group's key is the mean of its nodes' keys), and sibling groups
//! keep the same relative order in every layer they share, taken from their
//! mean position after the previous sweep. That is what lets the
//! coordinate phase give each group one rectangle that no sibling overlaps.

use std::collections::BTreeMap;

use super::layered::LGraph;

/// Node-sweeps the crossing reduction may spend: sweeps × working nodes.
const SWEEP_BUDGET: usize = 400_000;
/// Above this many working nodes, no transposition after the sweeps.
const TRANSPOSE_LIMIT: usize = 20_000;

/// The order of each layer, fewest crossings found in at most `sweeps`
/// barycenter sweeps.
pub(super) fn order_layers(g: &LGraph, sweeps: usize) -> Vec<Vec<usize>> {
    // Big graphs (tens of thousands of dummy nodes) get fewer sweeps and no
    // transposition, so a 10,000-edge diagram still lays out in about a
    // second; at least four sweeps always run.
    let sweeps = sweeps.min((SWEEP_BUDGET / g.len().max(1)).max(4));
    let with_transpose = g.len() <= TRANSPOSE_LIMIT;
    let mut layers = initial_order(g);
    let mut pos = vec![0usize; g.len()];
    set_positions(&layers, &mut pos);
    let mut rank = group_ranks(g, &layers, &pos);
    // Make groups contiguous before anything else: key = current position.
    let mut key = vec![0f64; g.len()];
    for layer in &mut layers {
        for (i, &v) in layer.iter().enumerate() {
            key[v] = i as f64;
        }
        *layer = arrange(g, layer, &key, &pos, &rank);
    }
    set_positions(&layers, &mut pos);
    rank = group_ranks(g, &layers, &pos);

    let mut best = layers.clone();
    let mut best_crossings = crossings(g, &layers, &pos);
    let mut stale = 0;
    for sweep in 0..sweeps {
        if best_crossings == 0.0 {
            break;
        }
        let down = sweep % 2 == 0;
        let n = layers.len();
        let seq: Vec<usize> = if down {
            (1..n).collect()
        } else {
            (0..n.saturating_sub(1)).rev().collect()
        };
        for l in seq {
            let fixed = if down { l - 1 } else { l + 1 };
            let fixed_len = layers[fixed].len().max(1) as f64;
            let own_len = layers[l].len().max(1) as f64;
            for &v in &layers[l] {
                let neighbours = if down { &g.up[v] } else { &g.down[v] };
                let (mut sum, mut weight) = (0.0f64, 0.0f64);
                for &(u, w) in neighbours {
                    sum += f64::from(w) * (pos[u] as f64 + 0.5) / fixed_len;
                    weight += f64::from(w);
                }
                key[v] = if weight > 0.0 {
                    sum / weight
                } else {
                    (pos[v] as f64 + 0.5) / own_len
                };
            }
            layers[l] = arrange(g, &layers[l], &key, &pos, &rank);
            for (i, &v) in layers[l].iter().enumerate() {
                pos[v] = i;
            }
        }
        if with_transpose {
            transpose(g, &mut layers, &mut pos);
        }
        rank = group_ranks(g, &layers, &pos);
        let c = crossings(g, &layers, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = layers.clone();
            stale = 0;
        } else {
            stale += 1;
            if stale >= 4 {
                break;
            }
        }
    }
    best
}

/// Swaps neighbouring nodes of the same group (or both in none) while that
/// removes crossings with the layers above and below: the local fix-up
/// barycenters miss. Groups stay in their blocks and order.
fn transpose(g: &LGraph, layers: &mut [Vec<usize>], pos: &mut [usize]) {
    const PASSES: usize = 4;
    // Crossings among the edges of `v` and `w` (v left of w) to one side.
    let pair = |v: usize, w: usize, side: &[Vec<(usize, f32)>], pos: &[usize]| -> f32 {
        let mut c = 0.0;
        for &(a, wa) in &side[v] {
            for &(b, wb) in &side[w] {
                if pos[a] > pos[b] {
                    c += wa * wb;
                }
            }
        }
        c
    };
    for _ in 0..PASSES {
        let mut improved = false;
        for layer in layers.iter_mut() {
            for i in 0..layer.len().saturating_sub(1) {
                let (v, w) = (layer[i], layer[i + 1]);
                if g.group[v] != g.group[w] {
                    continue;
                }
                let now = pair(v, w, &g.up, pos) + pair(v, w, &g.down, pos);
                let swapped = pair(w, v, &g.up, pos) + pair(w, v, &g.down, pos);
                if swapped < now {
                    layer.swap(i, i + 1);
                    pos[v] = i + 1;
                    pos[w] = i;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

fn set_positions(layers: &[Vec<usize>], pos: &mut [usize]) {
    for layer in layers {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
}

/// Nodes appended to their layers in depth-first order along edges, from
/// the nodes of each layer in turn.
fn initial_order(g: &LGraph) -> Vec<Vec<usize>> {
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); g.n_layers];
    let mut by_layer: Vec<usize> = (0..g.len()).collect();
    by_layer.sort_by_key(|&v| (g.layer[v], v));
    let mut seen = vec![false; g.len()];
    let mut stack = Vec::new();
    for start in by_layer {
        if seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        while let Some(v) = stack.pop() {
            layers[g.layer[v]].push(v);
            // Reversed so the first successor is visited first.
            for &(w, _) in g.down[v].iter().rev() {
                if !seen[w] {
                    seen[w] = true;
                    stack.push(w);
                }
            }
        }
    }
    layers
}

/// Sibling groups' order: by the mean relative position of everything
/// under them over all layers.
fn group_ranks(g: &LGraph, layers: &[Vec<usize>], pos: &[usize]) -> Vec<usize> {
    let count = g.groups.len();
    let mut sum = vec![0f64; count];
    let mut n = vec![0usize; count];
    for layer in layers {
        let len = layer.len().max(1) as f64;
        for &v in layer {
            for &grp in g.chain(v) {
                sum[grp] += (pos[v] as f64 + 0.5) / len;
                n[grp] += 1;
            }
        }
    }
    let mean = |grp: usize| {
        if n[grp] > 0 {
            sum[grp] / n[grp] as f64
        } else {
            0.0
        }
    };
    let mut by_mean: Vec<usize> = (0..count).collect();
    by_mean.sort_by(|&a, &b| mean(a).total_cmp(&mean(b)).then(a.cmp(&b)));
    let mut rank = vec![0usize; count];
    for (r, grp) in by_mean.into_iter().enumerate() {
        rank[grp] = r;
    }
    rank
}

/// One layer sorted by `key`, each group's nodes in one block, sibling
/// groups in `rank` order.
fn arrange(g: &LGraph, layer: &[usize], key: &[f64], pos: &[usize], rank: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(layer.len());
    arrange_scope(g, 0, layer.to_vec(), key, pos, rank, &mut out);
    out
}

enum Item {
    Node(usize),
    Group(usize, Vec<usize>),
}

fn arrange_scope(
    g: &LGraph,
    depth: usize,
    nodes: Vec<usize>,
    key: &[f64],
    pos: &[usize],
    rank: &[usize],
    out: &mut Vec<usize>,
) {
    let mut items: Vec<(f64, usize, Item)> = Vec::new();
    let mut inner: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for v in nodes {
        match g.chain(v).get(depth) {
            None => items.push((key[v], pos[v], Item::Node(v))),
            Some(&child) => inner.entry(child).or_default().push(v),
        }
    }
    for (child, members) in inner {
        let mean = members.iter().map(|&v| key[v]).sum::<f64>() / members.len() as f64;
        let first = members.iter().map(|&v| pos[v]).min().unwrap_or(0);
        items.push((mean, first, Item::Group(child, members)));
    }
    items.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    // Sibling groups take the group slots in their global order.
    let mut slots: Vec<usize> = Vec::new();
    let mut groups: Vec<Item> = Vec::new();
    let mut sorted: Vec<Option<Item>> = Vec::with_capacity(items.len());
    for (i, (_, _, item)) in items.into_iter().enumerate() {
        match item {
            Item::Group(..) => {
                slots.push(i);
                groups.push(item);
                sorted.push(None);
            }
            node => sorted.push(Some(node)),
        }
    }
    groups.sort_by_key(|item| match item {
        Item::Group(grp, _) => rank[*grp],
        Item::Node(_) => usize::MAX,
    });
    for (slot, item) in slots.into_iter().zip(groups) {
        sorted[slot] = Some(item);
    }
    for item in sorted.into_iter().flatten() {
        match item {
            Item::Node(v) => out.push(v),
            Item::Group(_, members) => arrange_scope(g, depth + 1, members, key, pos, rank, out),
        }
    }
}

/// Weighted edge crossings between all neighbouring layers.
pub(super) fn crossings(g: &LGraph, layers: &[Vec<usize>], pos: &[usize]) -> f64 {
    let mut total = 0.0;
    let mut pairs: Vec<(usize, usize, f32)> = Vec::new();
    for l in 0..layers.len().saturating_sub(1) {
        pairs.clear();
        for &u in &layers[l] {
            for &(v, w) in &g.down[u] {
                pairs.push((pos[u], pos[v], w));
            }
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let width = layers[l + 1].len();
        let mut tree = vec![0f64; width + 1];
        let mut inserted = 0.0;
        for &(_, p, w) in &pairs {
            // Weight already inserted at positions <= p.
            let mut at_or_below = 0.0;
            let mut i = p + 1;
            while i > 0 {
                at_or_below += tree[i];
                i &= i - 1;
            }
            total += f64::from(w) * (inserted - at_or_below);
            let mut i = p + 1;
            while i <= width {
                tree[i] += f64::from(w);
                i += i & i.wrapping_neg();
            }
            inserted += f64::from(w);
        }
    }
    total
}
