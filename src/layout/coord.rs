//! The fourth phase of the layered layout: positions across the layers.
//!
//! Groups make this a nested problem, solved scope by scope. Inside one
//! scope (the whole diagram, or one group) the items are the nodes
//! directly in it and its child groups, each child a rigid column as wide
//! as its rectangle, present in every layer it spans. Every layer is a
//! sequence of items that must keep its order with a minimum gap between
//! neighbours (the columns' order is the same in every layer, see
//! `order.rs`, so the gaps never contradict each other).
//!
//! Within those constraints each item is pulled towards the weighted mean
//! of its neighbours (long edges pull harder, so they run straight):
//! layer by layer, a run of nodes between two columns moves as the
//! least-squares fit of its wishes under the gap constraints (pool
//! adjacent violators), then each column moves as far towards its wish as
//! its neighbours in all its layers allow. Starting from the average of the
//! leftmost and rightmost packings keeps the result balanced.
//!
//! Pass one goes from the innermost groups out, giving every group its
//! width; pass two goes back in, re-placing each group's content inside its
//! now fixed rectangle with the outside neighbours' final positions.

use std::collections::BTreeMap;

use super::layered::{Kind, LGraph};
use super::size::LayoutOptions;

/// Room a group keeps around its content, in the working frame.
#[derive(Debug, Clone, Copy)]
pub(super) struct GroupPads {
    pub cross_start: f32,
    pub cross_end: f32,
    pub main_start: f32,
    pub main_end: f32,
    /// The group is at least this wide across the layers (its title).
    pub min_cross: f32,
}

/// Positions across the layers: node centres and group extents.
#[derive(Debug)]
pub(super) struct Across {
    pub x: Vec<f32>,
    pub group_span: Vec<(f32, f32)>,
}

const PASS_ONE_ITERATIONS: usize = 8;
const PASS_TWO_ITERATIONS: usize = 4;
/// How strongly a node without neighbours in its scope stays where it is.
const ANCHOR_WEIGHT: f32 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Node(usize),
    Col(usize),
}

/// A pull on an item towards another item (`target`) or a fixed position.
#[derive(Debug, Clone, Copy)]
struct Pull {
    target: Option<usize>,
    /// The target's own offset, or the fixed position.
    at: f32,
    /// Offset of the pulled node inside the item.
    own: f32,
    weight: f32,
}

struct Scope {
    items: Vec<Item>,
    seqs: Vec<Vec<usize>>,
    half: Vec<f32>,
    thin: Vec<bool>,
}

struct Work<'a> {
    g: &'a LGraph,
    layers: &'a [Vec<usize>],
    opts: &'a LayoutOptions,
    pads: &'a [GroupPads],
    /// For each group: `(layer, start, end)` of its block in each layer.
    blocks: Vec<Vec<(usize, usize, usize)>>,
    under_nodes: Vec<Vec<usize>>,
    under_groups: Vec<Vec<usize>>,
    ax: Vec<f32>,
    gc: Vec<f32>,
    halfw: Vec<f32>,
    stamp: Vec<usize>,
    slot: Vec<(usize, f32)>,
    round: usize,
}

/// Places every node and group across the layers.
pub(super) fn place_across(
    g: &LGraph,
    layers: &[Vec<usize>],
    pads: &[GroupPads],
    opts: &LayoutOptions,
) -> Across {
    let n_groups = g.groups.len();
    let mut blocks: Vec<BTreeMap<usize, (usize, usize)>> = vec![BTreeMap::new(); n_groups];
    let mut under_nodes = vec![Vec::new(); n_groups];
    for (l, layer) in layers.iter().enumerate() {
        for (i, &v) in layer.iter().enumerate() {
            for &grp in g.chain(v) {
                let e = blocks[grp].entry(l).or_insert((i, i + 1));
                e.0 = e.0.min(i);
                e.1 = e.1.max(i + 1);
                under_nodes[grp].push(v);
            }
        }
    }
    let mut under_groups = vec![Vec::new(); n_groups];
    for grp in 0..n_groups {
        for &a in &g.groups.chain[grp] {
            under_groups[a].push(grp);
        }
    }
    let mut w = Work {
        g,
        layers,
        opts,
        pads,
        blocks: blocks
            .into_iter()
            .map(|b| b.into_iter().map(|(l, (s, e))| (l, s, e)).collect())
            .collect(),
        under_nodes,
        under_groups,
        ax: vec![0.0; g.len()],
        gc: vec![0.0; n_groups],
        halfw: vec![0.0; n_groups],
        stamp: vec![0; g.len()],
        slot: vec![(0, 0.0); g.len()],
        round: 0,
    };
    let mut inner_first: Vec<usize> = (0..n_groups).collect();
    inner_first.sort_by_key(|&grp| (std::cmp::Reverse(g.groups.chain[grp].len()), grp));
    for &grp in &inner_first {
        w.pass_one(Some(grp));
    }
    w.pass_one(None);
    for &grp in inner_first.iter().rev() {
        w.pass_two(grp);
    }
    Across {
        group_span: (0..n_groups)
            .map(|grp| (w.gc[grp] - w.halfw[grp], w.gc[grp] + w.halfw[grp]))
            .collect(),
        x: w.ax,
    }
}

impl Work<'_> {
    fn build_scope(&self, scope: Option<usize>) -> Scope {
        let depth = scope.map_or(0, |s| self.g.groups.chain[s].len());
        let ranges: Vec<(usize, usize, usize)> = match scope {
            None => self
                .layers
                .iter()
                .enumerate()
                .map(|(l, layer)| (l, 0, layer.len()))
                .collect(),
            Some(s) => self.blocks[s].clone(),
        };
        let mut items = Vec::new();
        let mut col_item: BTreeMap<usize, usize> = BTreeMap::new();
        let mut seqs = Vec::with_capacity(ranges.len());
        for (l, start, end) in ranges {
            let mut seq: Vec<usize> = Vec::new();
            for &v in &self.layers[l][start..end] {
                let chain = self.g.chain(v);
                match chain.get(depth) {
                    None => {
                        items.push(Item::Node(v));
                        seq.push(items.len() - 1);
                    }
                    Some(&child) => {
                        let idx = *col_item.entry(child).or_insert_with(|| {
                            items.push(Item::Col(child));
                            items.len() - 1
                        });
                        if seq.last() != Some(&idx) {
                            seq.push(idx);
                        }
                    }
                }
            }
            seqs.push(seq);
        }
        let half = items
            .iter()
            .map(|&it| match it {
                Item::Node(v) => self.g.cross[v] / 2.0,
                Item::Col(c) => self.halfw[c],
            })
            .collect();
        let thin = items
            .iter()
            .map(|&it| match it {
                Item::Node(v) => matches!(self.g.kind[v], Kind::Dummy | Kind::Placeholder),
                Item::Col(_) => false,
            })
            .collect();
        Scope {
            items,
            seqs,
            half,
            thin,
        }
    }

    /// Marks every node under the scope with its item and its offset in it.
    fn stamp_scope(&mut self, sc: &Scope) {
        self.round += 1;
        for (i, &it) in sc.items.iter().enumerate() {
            match it {
                Item::Node(v) => {
                    self.stamp[v] = self.round;
                    self.slot[v] = (i, 0.0);
                }
                Item::Col(c) => {
                    for &v in &self.under_nodes[c] {
                        self.stamp[v] = self.round;
                        self.slot[v] = (i, self.ax[v] - self.gc[c]);
                    }
                }
            }
        }
    }

    fn weight(&self, a: usize, b: usize) -> f32 {
        let dummy = |v: usize| self.g.kind[v] == Kind::Dummy;
        match (dummy(a), dummy(b)) {
            (true, true) => 8.0,
            (false, false) => 1.0,
            _ => 2.0,
        }
    }

    fn pulls(&self, sc: &Scope, with_outside: bool) -> Vec<Vec<Pull>> {
        let mut pulls = vec![Vec::new(); sc.items.len()];
        let add = |i: usize, v: usize, own: f32, pulls: &mut Vec<Vec<Pull>>| {
            for &(n, m) in self.g.up[v].iter().chain(&self.g.down[v]) {
                let weight = m * self.weight(v, n);
                if self.stamp[n] == self.round {
                    let (target, at) = self.slot[n];
                    if target != i {
                        pulls[i].push(Pull {
                            target: Some(target),
                            at,
                            own,
                            weight,
                        });
                    }
                } else if with_outside {
                    pulls[i].push(Pull {
                        target: None,
                        at: self.ax[n],
                        own,
                        weight,
                    });
                }
            }
        };
        for (i, &it) in sc.items.iter().enumerate() {
            match it {
                Item::Node(v) => add(i, v, 0.0, &mut pulls),
                Item::Col(c) => {
                    for &v in &self.under_nodes[c] {
                        add(i, v, self.ax[v] - self.gc[c], &mut pulls);
                    }
                }
            }
        }
        pulls
    }

    fn current(&self, sc: &Scope) -> Vec<f32> {
        sc.items
            .iter()
            .map(|&it| match it {
                Item::Node(v) => self.ax[v],
                Item::Col(c) => self.gc[c],
            })
            .collect()
    }

    /// Writes item positions back: nodes directly, columns by shifting
    /// everything inside them.
    fn apply(&mut self, sc: &Scope, pos: &[f32]) {
        for (i, &it) in sc.items.iter().enumerate() {
            match it {
                Item::Node(v) => self.ax[v] = pos[i],
                Item::Col(c) => {
                    let delta = pos[i] - self.gc[c];
                    for &v in &self.under_nodes[c] {
                        self.ax[v] += delta;
                    }
                    for &h in &self.under_groups[c] {
                        self.gc[h] += delta;
                    }
                }
            }
        }
    }

    fn pass_one(&mut self, scope: Option<usize>) {
        let sc = self.build_scope(scope);
        if sc.items.is_empty() {
            return;
        }
        self.stamp_scope(&sc);
        let pulls = self.pulls(&sc, false);
        let mut pos = balanced_packing(&sc, self.opts);
        relax(
            &sc,
            &mut pos,
            &pulls,
            (f32::NEG_INFINITY, f32::INFINITY),
            PASS_ONE_ITERATIONS,
            self.opts,
        );
        self.apply(&sc, &pos);
        if let Some(s) = scope {
            let lo = (0..sc.items.len())
                .map(|i| pos[i] - sc.half[i])
                .fold(f32::INFINITY, f32::min);
            let hi = (0..sc.items.len())
                .map(|i| pos[i] + sc.half[i])
                .fold(f32::NEG_INFINITY, f32::max);
            let pad = self.pads[s];
            let (mut lo, mut hi) = (lo - pad.cross_start, hi + pad.cross_end);
            let short = pad.min_cross - (hi - lo);
            if short > 0.0 {
                lo -= short / 2.0;
                hi += short / 2.0;
            }
            self.gc[s] = (lo + hi) / 2.0;
            self.halfw[s] = (hi - lo) / 2.0;
        }
    }

    fn pass_two(&mut self, s: usize) {
        let sc = self.build_scope(Some(s));
        if sc.items.is_empty() {
            return;
        }
        self.stamp_scope(&sc);
        let pulls = self.pulls(&sc, true);
        let mut pos = self.current(&sc);
        let pad = self.pads[s];
        let bounds = (
            self.gc[s] - self.halfw[s] + pad.cross_start,
            self.gc[s] + self.halfw[s] - pad.cross_end,
        );
        relax(
            &sc,
            &mut pos,
            &pulls,
            bounds,
            PASS_TWO_ITERATIONS,
            self.opts,
        );
        self.apply(&sc, &pos);
    }
}

fn gap(sc: &Scope, a: usize, b: usize, opts: &LayoutOptions) -> f32 {
    let sep = match (sc.thin[a], sc.thin[b]) {
        (true, true) => opts.edge_sep,
        (false, false) => opts.node_sep,
        _ => (opts.edge_sep + opts.node_sep) / 2.0,
    };
    sc.half[a] + sc.half[b] + sep
}

/// The average of the leftmost and the rightmost packing: feasible, and
/// every layer centred in the widest one.
fn balanced_packing(sc: &Scope, opts: &LayoutOptions) -> Vec<f32> {
    let n = sc.items.len();
    let mut succ: Vec<Vec<(usize, f32)>> = vec![Vec::new(); n];
    let mut indeg = vec![0usize; n];
    for seq in &sc.seqs {
        for w in seq.windows(2) {
            succ[w[0]].push((w[1], gap(sc, w[0], w[1], opts)));
            indeg[w[1]] += 1;
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut queue: std::collections::VecDeque<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
    while let Some(a) = queue.pop_front() {
        order.push(a);
        for &(b, _) in &succ[a] {
            indeg[b] -= 1;
            if indeg[b] == 0 {
                queue.push_back(b);
            }
        }
    }
    debug_assert_eq!(
        order.len(),
        n,
        "the column order must be the same in every layer"
    );
    let mut left: Vec<f32> = sc.half.clone();
    for &a in &order {
        for &(b, d) in &succ[a] {
            left[b] = left[b].max(left[a] + d);
        }
    }
    let total = (0..n).map(|i| left[i] + sc.half[i]).fold(0.0, f32::max);
    let mut right: Vec<f32> = (0..n).map(|i| total - sc.half[i]).collect();
    for &a in order.iter().rev() {
        for &(b, d) in &succ[a] {
            right[a] = right[a].min(right[b] - d);
        }
    }
    (0..n).map(|i| (left[i] + right[i]) / 2.0).collect()
}

fn wish(i: usize, pos: &[f32], pulls: &[Pull]) -> Option<(f32, f32)> {
    let (mut sum, mut weight) = (0.0, 0.0);
    for p in pulls {
        let target = match p.target {
            Some(t) => pos[t] + p.at,
            None => p.at,
        };
        sum += p.weight * (target - p.own);
        weight += p.weight;
    }
    let _ = i;
    (weight > 0.0).then(|| (sum / weight, weight))
}

fn relax(
    sc: &Scope,
    pos: &mut [f32],
    pulls: &[Vec<Pull>],
    bounds: (f32, f32),
    iterations: usize,
    opts: &LayoutOptions,
) {
    let is_col = |i: usize| matches!(sc.items[i], Item::Col(_));
    // Where each column appears: (layer index, index in the layer).
    let mut appear: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
    for (l, seq) in sc.seqs.iter().enumerate() {
        for (k, &i) in seq.iter().enumerate() {
            if is_col(i) {
                appear.entry(i).or_default().push((l, k));
            }
        }
    }
    let mut desired = Vec::new();
    let mut weights = Vec::new();
    let mut gaps = Vec::new();
    for it in 0..iterations {
        let order: Vec<usize> = if it % 2 == 0 {
            (0..sc.seqs.len()).collect()
        } else {
            (0..sc.seqs.len()).rev().collect()
        };
        for l in order {
            let seq = &sc.seqs[l];
            let mut k = 0;
            while k < seq.len() {
                if is_col(seq[k]) {
                    k += 1;
                    continue;
                }
                let start = k;
                while k < seq.len() && !is_col(seq[k]) {
                    k += 1;
                }
                let run = &seq[start..k];
                let lo = if start > 0 {
                    pos[seq[start - 1]] + gap(sc, seq[start - 1], run[0], opts)
                } else {
                    bounds.0 + sc.half[run[0]]
                };
                let last = run[run.len() - 1];
                let hi = if k < seq.len() {
                    pos[seq[k]] - gap(sc, last, seq[k], opts)
                } else {
                    bounds.1 - sc.half[last]
                };
                desired.clear();
                weights.clear();
                gaps.clear();
                for (j, &i) in run.iter().enumerate() {
                    let (d, w) = wish(i, pos, &pulls[i]).unwrap_or((pos[i], ANCHOR_WEIGHT));
                    desired.push(d);
                    weights.push(w);
                    if j + 1 < run.len() {
                        gaps.push(gap(sc, i, run[j + 1], opts));
                    }
                }
                if let Some(placed) = fit_chain(&desired, &weights, &gaps, lo, hi) {
                    for (j, &i) in run.iter().enumerate() {
                        pos[i] = placed[j];
                    }
                }
            }
        }
        for (&c, places) in &appear {
            let Some((d, _)) = wish(c, pos, &pulls[c]) else {
                continue;
            };
            let mut lo = bounds.0 + sc.half[c];
            let mut hi = bounds.1 - sc.half[c];
            for &(l, k) in places {
                let seq = &sc.seqs[l];
                if k > 0 {
                    lo = lo.max(pos[seq[k - 1]] + gap(sc, seq[k - 1], c, opts));
                }
                if let Some(&next) = seq.get(k + 1) {
                    hi = hi.min(pos[next] - gap(sc, c, next, opts));
                }
            }
            if lo <= hi {
                pos[c] = d.clamp(lo, hi);
            }
        }
    }
}

/// Positions for a chain of items, in order, at least `gaps` apart, the
/// first at or after `lo` and the last at or before `hi`, as close to
/// `desired` as possible in weighted least squares. `None` if it does not
/// fit.
fn fit_chain(desired: &[f32], weights: &[f32], gaps: &[f32], lo: f32, hi: f32) -> Option<Vec<f32>> {
    let n = desired.len();
    let mut prefix = Vec::with_capacity(n);
    let mut acc = 0.0;
    for j in 0..n {
        prefix.push(acc);
        if j < gaps.len() {
            acc += gaps[j];
        }
    }
    let hi_y = hi - prefix[n - 1];
    if lo > hi_y + 1e-3 {
        return None;
    }
    // Pool adjacent violators on y = x - prefix, which must not decrease.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(n);
    for j in 0..n {
        let w = f64::from(weights[j].max(1e-6));
        blocks.push((w, w * f64::from(desired[j] - prefix[j]), 1));
        while blocks.len() >= 2 {
            let b = blocks[blocks.len() - 1];
            let a = blocks[blocks.len() - 2];
            if a.1 / a.0 > b.1 / b.0 {
                blocks.pop();
                let top = blocks.len() - 1;
                blocks[top] = (a.0 + b.0, a.1 + b.1, a.2 + b.2);
            } else {
                break;
            }
        }
    }
    let mut out = Vec::with_capacity(n);
    for (w, wy, count) in blocks {
        let y = ((wy / w) as f32).clamp(lo, hi_y.max(lo));
        for _ in 0..count {
            let j = out.len();
            out.push(y + prefix[j]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_fits_its_wishes_when_it_can() {
        let placed = fit_chain(&[0.0, 100.0], &[1.0, 1.0], &[50.0], -1e9, 1e9);
        assert_eq!(placed, Some(vec![0.0, 100.0]));
    }

    #[test]
    fn a_crowded_chain_spreads_around_its_wishes() {
        let placed = fit_chain(&[0.0, 0.0], &[1.0, 1.0], &[50.0], -1e9, 1e9);
        assert_eq!(placed, Some(vec![-25.0, 25.0]));
    }

    #[test]
    fn a_chain_respects_its_bounds() {
        let placed = fit_chain(&[0.0, 0.0], &[1.0, 1.0], &[50.0], 10.0, 1e9);
        assert_eq!(placed, Some(vec![10.0, 60.0]));
        assert_eq!(
            fit_chain(&[0.0, 0.0], &[1.0, 1.0], &[50.0], 0.0, 10.0),
            None
        );
    }
}
