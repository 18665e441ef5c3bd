//! What sinks hold: real state derived from the payloads of the events
//! applied to them, so a duplicate side effect shows up as wrong data
//! (stock decremented twice), not only as a counter.
//!
//! # Which state a sink gets
//! Chosen from the sink's label (then its Mermaid id), case-insensitively,
//! first match wins ([`SinkKind::for_label`]):
//!
//! | words in the label | state | applies |
//! |---|---|---|
//! | `inventory`, `stock`, `warehouse stock` | [`Inventory`]: stock per sku | `Order`: stock −= quantity |
//! | `read`, `view`, `query` | [`ReadViews`]: orders by status, users, payments | `Order` → created, `Payment` → paid, `User` → registered |
//! | `warehouse`, `analytics`, `dw`, `olap`, `report` | [`Warehouse`]: count and amount per event type and per hour | everything |
//! | `elastic`, `search`, `index`, `solr` | [`SearchIndex`]: documents by id, inverted index of terms | everything (one document per aggregate and kind) |
//! | `email`, `notif`, `push`, `sms`, `mail` | [`Notifications`]: sent per channel and type, the last few | everything |
//! | anything else | [`Counter`]: events per type | everything |
//!
//! # Rebuildable
//! Every state is a function of the *set* of events applied, whatever
//! their order: sums and counts commute; where a value is replaced (a
//! document, a user's email) the event with the highest event id wins,
//! not the one applied last — two topics can carry events of one
//! aggregate (an order service's and the write model's), and their
//! interleaving differs between a live group and a rebuild; the "last N
//! notifications" are the N with the highest event ids; hour buckets use
//! the time the event was produced, not applied. So a projection rebuilt from the event store's log, which
//! interleaves partitions differently, equals the live one exactly when
//! both applied the same events — the invariant the engine checks.
//!
//! # Bounded
//! Maps keyed by aggregate hold at most `Limits::max_sink_entries`
//! entries each; events for new keys beyond that are counted in
//! `overflow` (and the rebuild check is then not made).

use super::clock::VirtualTime;
use super::scenario::Payload;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Keys below this are kept in a [`KeyMap`]'s dense part.
pub const DENSE_KEYS: u64 = 1 << 16;

/// A map keyed by aggregate id: below [`DENSE_KEYS`] (the usual key
/// spaces: ids `1..=count`) a value slot per key plus a presence bit,
/// above a `BTreeMap`. Iterates in key order, so it is as deterministic
/// as a `BTreeMap` — and a lookup in the dense part costs an index into
/// small `Copy` values, which keeps sinks cheap in the hot loop.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyMap<V> {
    dense: Vec<V>,
    present: Vec<u64>,
    sparse: BTreeMap<u64, V>,
    len: usize,
}

impl<V> Default for KeyMap<V> {
    fn default() -> Self {
        KeyMap {
            dense: Vec::new(),
            present: Vec::new(),
            sparse: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<V: PartialEq + Copy + Default> PartialEq for KeyMap<V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<V: Eq + Copy + Default> Eq for KeyMap<V> {}

impl<V: Copy + Default> KeyMap<V> {
    /// Entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn has(&self, i: usize) -> bool {
        self.present
            .get(i / 64)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    /// The value of `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<&V> {
        if key < DENSE_KEYS {
            let i = key as usize;
            if self.has(i) { self.dense.get(i) } else { None }
        } else {
            self.sparse.get(&key)
        }
    }

    /// The value of `key`, created as `V::default()` unless that would
    /// make more than `max` entries (then `None`).
    #[inline]
    pub fn entry(&mut self, key: u64, max: usize) -> Option<&mut V> {
        self.entry_new(key, max).map(|(v, _)| v)
    }

    /// As [`KeyMap::entry`], also saying whether the entry was created.
    #[inline]
    pub fn entry_new(&mut self, key: u64, max: usize) -> Option<(&mut V, bool)> {
        if key < DENSE_KEYS {
            let i = key as usize;
            let created = !self.has(i);
            if created {
                if self.len >= max {
                    return None;
                }
                if i >= self.dense.len() {
                    // Grow by doubling, so that ids in 1..=n cost O(n) in all.
                    let n = (i + 1).next_power_of_two().min(DENSE_KEYS as usize);
                    self.dense.resize(n, V::default());
                    self.present.resize(n.div_ceil(64), 0);
                }
                self.present[i / 64] |= 1 << (i % 64);
                self.dense[i] = V::default();
                self.len += 1;
            }
            self.dense.get_mut(i).map(|v| (v, created))
        } else if self.sparse.contains_key(&key) {
            self.sparse.get_mut(&key).map(|v| (v, false))
        } else if self.len < max {
            self.len += 1;
            Some((self.sparse.entry(key).or_default(), true))
        } else {
            None
        }
    }

    /// Removes `key`'s entry, returning its value.
    pub fn remove(&mut self, key: u64) -> Option<V> {
        let old = if key < DENSE_KEYS {
            let i = key as usize;
            if self.has(i) {
                self.present[i / 64] &= !(1 << (i % 64));
                self.dense.get(i).copied()
            } else {
                None
            }
        } else {
            self.sparse.remove(&key)
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> + '_ {
        let dense = self
            .dense
            .iter()
            .enumerate()
            .filter(|&(i, _)| self.has(i))
            .map(|(k, v)| (k as u64, v));
        dense.chain(self.sparse.iter().map(|(&k, v)| (k, v)))
    }

    /// Values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }
}

/// Units of every sku in stock before the run.
pub const INITIAL_STOCK: i64 = 1_000;
/// Notifications kept in [`Notifications::recent`].
pub const RECENT_NOTIFICATIONS: usize = 16;

/// One event as a sink (or the event store's log) sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The topic it was read from (index into [`super::Engine::topics`]).
    pub topic: u32,
    /// Its event id (unique per run).
    pub event_id: u64,
    /// Its aggregate key.
    pub key: u64,
    /// When it was produced.
    pub produced_at: VirtualTime,
    /// Its fields.
    pub payload: Payload,
}

/// Which kind of state a sink holds (see the module doc for the mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SinkKind {
    /// Stock per sku.
    Inventory,
    /// Materialized views: orders by status, users, payments.
    ReadViews,
    /// Aggregates per event type and hour.
    Warehouse,
    /// Documents and an inverted index of terms.
    SearchIndex,
    /// Notifications sent.
    Notifications,
    /// Events per type, nothing more.
    Counter,
}

impl SinkKind {
    /// The kind for a sink labelled `label` with Mermaid id `key`.
    pub fn for_label(label: &str, key: &str) -> SinkKind {
        let text = format!("{label} {key}").to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
        if has(&["inventory", "stock"]) {
            SinkKind::Inventory
        } else if has(&["read", "view", "query"]) {
            SinkKind::ReadViews
        } else if has(&["warehouse", "analytics", "olap", "report"])
            || text.split_whitespace().any(|w| w == "dw")
        {
            SinkKind::Warehouse
        } else if has(&["elastic", "search", "index", "solr"]) {
            SinkKind::SearchIndex
        } else if has(&["email", "notif", "push", "sms", "mail"]) {
            SinkKind::Notifications
        } else {
            SinkKind::Counter
        }
    }

    /// A short name for tables.
    pub fn title(self) -> &'static str {
        match self {
            SinkKind::Inventory => "inventory",
            SinkKind::ReadViews => "read views",
            SinkKind::Warehouse => "warehouse",
            SinkKind::SearchIndex => "search index",
            SinkKind::Notifications => "notifications",
            SinkKind::Counter => "counter",
        }
    }
}

/// Stock per sku: every sku starts at [`INITIAL_STOCK`]; an order takes
/// its quantity (stock may go negative: backorders).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    /// Units taken per sku (stock = [`INITIAL_STOCK`] − taken).
    taken: KeyMap<u32>,
    /// Orders applied.
    pub orders: u64,
    /// Units taken in all.
    pub units: u64,
    /// Events that are not orders (ignored).
    pub ignored: u64,
}

impl Inventory {
    /// Units of `sku` in stock.
    pub fn stock(&self, sku: u32) -> i64 {
        INITIAL_STOCK - self.taken.get(u64::from(sku)).map_or(0, |&t| i64::from(t))
    }

    /// The `n` skus with the least stock, lowest first (ties by sku).
    pub fn lowest(&self, n: usize) -> Vec<(u32, i64)> {
        let mut v: Vec<(u32, i64)> = self
            .taken
            .iter()
            .map(|(s, &t)| (s as u32, INITIAL_STOCK - i64::from(t)))
            .collect();
        v.sort_by_key(|&(s, stock)| (stock, s));
        v.truncate(n);
        v
    }

    /// Skus whose stock changed.
    pub fn skus(&self) -> usize {
        self.taken.len()
    }
}

/// The status of an order in the read model's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderStatus {
    /// Placed, not paid.
    Created,
    /// Placed and paid.
    Paid,
    /// A payment for an order the view has not seen placed (yet).
    PaymentOnly,
}

/// One order in the read model's view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// `OrderCreated` events applied for it.
    pub placed: u32,
    /// Payments applied for it.
    pub payments: u32,
}

impl OrderView {
    /// Its status: a payment moves a placed order to paid.
    pub fn status(&self) -> OrderStatus {
        match (self.placed > 0, self.payments > 0) {
            (_, false) => OrderStatus::Created,
            (true, true) => OrderStatus::Paid,
            (false, true) => OrderStatus::PaymentOnly,
        }
    }
}

/// One user in the read model's view.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    /// Index of the email domain of the latest registration.
    pub email_domain: u8,
    /// Registrations applied.
    pub registrations: u32,
    /// The event id of the latest registration.
    pub event_id: u64,
}

/// The read model's materialized views.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadViews {
    /// Orders by id.
    pub orders: KeyMap<OrderView>,
    /// Registered users by id.
    pub users: KeyMap<UserView>,
    /// Payments applied.
    pub payments: u64,
    /// Amount of those payments.
    pub paid_cents: u64,
    /// Events of no schema the views know.
    pub ignored: u64,
}

impl ReadViews {
    /// How many orders have each status.
    pub fn orders_by_status(&self) -> BTreeMap<OrderStatus, u64> {
        let mut m = BTreeMap::new();
        for o in self.orders.values() {
            *m.entry(o.status()).or_insert(0) += 1;
        }
        m
    }

    /// The view of order `id`.
    pub fn order(&self, id: u64) -> Option<&OrderView> {
        self.orders.get(id)
    }
}

/// Count and amount of a set of events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Events.
    pub count: u64,
    /// Sum of their amounts (orders and payments), in cents.
    pub amount_cents: u64,
}

impl Tally {
    fn add(&mut self, p: &Payload) {
        self.count += 1;
        self.amount_cents += amount_of(p);
    }
}

fn amount_of(p: &Payload) -> u64 {
    match *p {
        Payload::Order { amount_cents, .. } | Payload::Payment { amount_cents, .. } => amount_cents,
        _ => 0,
    }
}

/// The data warehouse's aggregates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warehouse {
    /// Per topic (indexed by topic).
    pub by_type: Vec<Tally>,
    /// Per hour of production since the start, per topic (indexed by topic).
    pub by_hour: BTreeMap<u64, Vec<Tally>>,
}

impl Warehouse {
    /// The tally of `topic` in `hour`.
    pub fn hour(&self, topic: u32, hour: u64) -> Tally {
        self.by_hour
            .get(&hour)
            .and_then(|v| v.get(topic as usize))
            .copied()
            .unwrap_or_default()
    }
}

/// The slot of `i` in a vector indexed by topic, grown as needed.
#[inline]
fn slot_of<T: Default + Clone>(v: &mut Vec<T>, i: u32) -> &mut T {
    let i = i as usize;
    if i >= v.len() {
        v.resize(i + 1, T::default());
    }
    &mut v[i]
}

/// A term of the search index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "term", content = "value", rename_all = "kebab-case")]
pub enum Term {
    /// The document's kind (its payload schema: 0 order, 1 user, 2 payment, 3 other).
    Kind(u8),
    /// An order's sku.
    Sku(u32),
    /// A user's email domain.
    Domain(u8),
    /// A payment's method.
    Method(u8),
}

impl Term {
    /// The kind of document a term occurs in.
    fn kind(self) -> usize {
        match self {
            Term::Kind(k) => usize::from(k.min(3)),
            Term::Sku(_) => 0,
            Term::Domain(_) => 1,
            Term::Method(_) => 2,
        }
    }
}

/// One indexed document: an aggregate of one kind as of its latest event
/// (the highest event id: two topics may carry events of one aggregate,
/// so "applied last" would depend on how partitions interleave). Its
/// attribute is kept as a number: the sku of an order, the domain of a
/// user, the method of a payment; [`Document::term`] gives it back as a
/// [`Term`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    attr: u32,
    /// The event id it was indexed from.
    pub event_id: u64,
}

impl Document {
    /// Its attribute term, given its kind (besides the kind's own term).
    pub fn term(self, kind: usize) -> Term {
        match kind {
            0 => Term::Sku(self.attr),
            1 => Term::Domain(self.attr as u8),
            2 => Term::Method(self.attr as u8),
            _ => Term::Kind(3),
        }
    }

    fn of(term: Term, event_id: u64) -> Document {
        Document {
            event_id,
            attr: match term {
                Term::Sku(s) => s,
                Term::Domain(d) | Term::Method(d) => u32::from(d),
                Term::Kind(_) => 0,
            },
        }
    }
}

/// The search index: one document per (kind, aggregate id) holding its
/// latest attribute term, and the inverted index as document frequencies
/// (term → documents containing it); [`SearchIndex::search`] lists a
/// term's documents. Kept as counts rather than posting lists so that
/// re-indexing a document costs two counter updates in the hot loop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchIndex {
    /// Documents per kind (0 order, 1 user, 2 payment, 3 other), by aggregate id.
    pub documents: [KeyMap<Document>; 4],
    /// Order documents per sku.
    sku_docs: KeyMap<u32>,
    /// Documents per other attribute term (domains, methods).
    term_docs: TermDocs,
}

/// Documents per email domain and per payment method, indexed by the
/// term's byte: one add in the hot loop where a map would search. Only
/// non-zero counts are kept (no trailing zeros), so equal counts are equal
/// vectors; stored in images as the map of non-zero counts by [`Term`] it
/// replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct TermDocs {
    domain: Vec<u64>,
    method: Vec<u64>,
}

impl TermDocs {
    /// The counts of `term`'s kind and its index, if it is a domain or a method.
    fn slot(&self, term: Term) -> Option<(&Vec<u64>, usize)> {
        match term {
            Term::Domain(d) => Some((&self.domain, usize::from(d))),
            Term::Method(m) => Some((&self.method, usize::from(m))),
            Term::Kind(_) | Term::Sku(_) => None,
        }
    }

    fn get(&self, term: Term) -> u64 {
        self.slot(term)
            .and_then(|(v, i)| v.get(i).copied())
            .unwrap_or(0)
    }

    /// Terms with a non-zero count.
    fn len(&self) -> usize {
        self.domain
            .iter()
            .chain(&self.method)
            .filter(|&&n| n > 0)
            .count()
    }

    /// Adds one document to `term` (`up`) or takes one away (never below 0).
    #[inline]
    fn count(&mut self, term: Term, up: bool) {
        let (v, i) = match term {
            Term::Domain(d) => (&mut self.domain, usize::from(d)),
            Term::Method(m) => (&mut self.method, usize::from(m)),
            Term::Kind(_) | Term::Sku(_) => return,
        };
        if up {
            if i >= v.len() {
                v.resize(i + 1, 0);
            }
            v[i] += 1;
        } else if let Some(n) = v.get_mut(i) {
            *n = n.saturating_sub(1);
            while v.last() == Some(&0) {
                v.pop();
            }
        }
    }

    /// The non-zero counts by term, in term order (domains, then methods).
    fn to_map(&self) -> BTreeMap<Term, u64> {
        let terms = |v: &Vec<u64>, make: fn(u8) -> Term| -> Vec<(Term, u64)> {
            v.iter()
                .enumerate()
                .filter(|&(_, &n)| n > 0)
                .map(|(i, &n)| (make(i as u8), n))
                .collect()
        };
        terms(&self.domain, Term::Domain)
            .into_iter()
            .chain(terms(&self.method, Term::Method))
            .collect()
    }
}

impl Serialize for TermDocs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

impl<'de> Deserialize<'de> for TermDocs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut docs = TermDocs::default();
        for (term, n) in BTreeMap::<Term, u64>::deserialize(d)? {
            let (v, i) = match term {
                Term::Domain(x) => (&mut docs.domain, usize::from(x)),
                Term::Method(x) => (&mut docs.method, usize::from(x)),
                Term::Kind(_) | Term::Sku(_) => {
                    return Err(serde::de::Error::custom(format!(
                        "search index: {term:?} is not counted per domain or method"
                    )));
                }
            };
            if n > 0 {
                if i >= v.len() {
                    v.resize(i + 1, 0);
                }
                v[i] = n;
            }
        }
        Ok(docs)
    }
}

impl SearchIndex {
    /// How many documents contain `term`.
    pub fn matches(&self, term: Term) -> u64 {
        match term {
            Term::Kind(k) => self
                .documents
                .get(usize::from(k))
                .map_or(0, |d| d.len() as u64),
            Term::Sku(sku) => self
                .sku_docs
                .get(u64::from(sku))
                .map_or(0, |&n| u64::from(n)),
            other => self.term_docs.get(other),
        }
    }

    /// The aggregate ids of the documents containing `term`, ascending.
    pub fn search(&self, term: Term) -> Vec<u64> {
        let all = matches!(term, Term::Kind(_));
        self.documents[term.kind()]
            .iter()
            .filter(|(_, d)| all || d.term(term.kind()) == term)
            .map(|(id, _)| id)
            .collect()
    }

    /// Documents indexed.
    pub fn len(&self) -> u64 {
        self.documents.iter().map(|d| d.len() as u64).sum()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Distinct terms occurring in some document.
    pub fn terms(&self) -> u64 {
        let kinds = self.documents.iter().filter(|d| !d.is_empty()).count();
        (kinds + self.sku_docs.len() + self.term_docs.len()) as u64
    }

    fn count(&mut self, term: Term, up: bool) {
        match term {
            Term::Kind(_) => {}
            Term::Sku(sku) => {
                let key = u64::from(sku);
                if up {
                    if let Some(n) = self.sku_docs.entry(key, usize::MAX) {
                        *n += 1;
                    }
                } else if let Some(n) = self.sku_docs.entry(key, usize::MAX) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.sku_docs.remove(key);
                    }
                }
            }
            other => self.term_docs.count(other, up),
        }
    }
}

/// How a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// Order confirmations and welcome mails.
    Email,
    /// Payment receipts and everything else.
    Push,
}

/// One notification sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Its event id.
    pub event_id: u64,
    /// The channel.
    pub channel: Channel,
    /// The topic of the event that caused it.
    pub topic: u32,
    /// Who got it (the user, or the order's aggregate id).
    pub recipient: u64,
}

/// Notifications sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notifications {
    /// Sent per topic (indexed by topic): [email, push].
    pub sent: Vec<[u64; 2]>,
    /// The [`RECENT_NOTIFICATIONS`] with the highest event ids, ascending
    /// (a sorted ring: no allocation once full).
    pub recent: VecDeque<Notification>,
}

impl Notifications {
    /// Notifications sent in all.
    pub fn total(&self) -> u64 {
        self.sent.iter().map(|[e, p]| e + p).sum()
    }
}

/// A generic sink: events applied per topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// Per topic (indexed by topic).
    pub by_type: Vec<u64>,
}

impl Inventory {
    /// [`SinkState::apply`] on an inventory.
    #[inline(never)]
    fn apply(&mut self, ev: &Applied, max_entries: usize) -> bool {
        let s = self;
        match ev.payload {
            Payload::Order { sku, quantity, .. } => {
                let Some(t) = s.taken.entry(u64::from(sku), max_entries) else {
                    return false;
                };
                *t = t.saturating_add(u32::from(quantity));
                s.orders += 1;
                s.units += u64::from(quantity);
            }
            _ => s.ignored += 1,
        }
        true
    }
}

impl ReadViews {
    /// [`SinkState::apply`] on the read views.
    #[inline(never)]
    fn apply(&mut self, ev: &Applied, max_entries: usize) -> bool {
        let s = self;
        match ev.payload {
            Payload::Order { order_id, .. } => {
                let Some(o) = s.orders.entry(order_id, max_entries) else {
                    return false;
                };
                o.placed += 1;
            }
            Payload::Payment {
                order_id,
                amount_cents,
                ..
            } => {
                let Some(o) = s.orders.entry(order_id, max_entries) else {
                    return false;
                };
                o.payments += 1;
                s.payments += 1;
                s.paid_cents += amount_cents;
            }
            Payload::User {
                user_id,
                email_domain,
            } => {
                let Some(u) = s.users.entry(user_id, max_entries) else {
                    return false;
                };
                // The latest registration wins, by event id (see [`Document`]).
                if u.registrations == 0 || u.event_id < ev.event_id {
                    u.email_domain = email_domain;
                    u.event_id = ev.event_id;
                }
                u.registrations += 1;
            }
            Payload::Generic { .. } => s.ignored += 1,
        }
        true
    }
}

impl Warehouse {
    /// [`SinkState::apply`] on a warehouse.
    #[inline(never)]
    fn apply(&mut self, ev: &Applied) -> bool {
        let s = self;
        {
            slot_of(&mut s.by_type, ev.topic).add(&ev.payload);
            let hour = ev.produced_at.as_us() / 3_600_000_000;
            let per_topic = match s.by_hour.last_entry() {
                Some(e) if *e.key() == hour => e.into_mut(),
                _ => s.by_hour.entry(hour).or_default(),
            };
            slot_of(per_topic, ev.topic).add(&ev.payload);
        }
        true
    }
}

impl SearchIndex {
    /// [`SinkState::apply`] on a search index.
    #[inline(never)]
    fn apply(&mut self, ev: &Applied, max_entries: usize) -> bool {
        let s = self;
        {
            let (kind, id, term) = match ev.payload {
                Payload::Order { order_id, sku, .. } => (0u8, order_id, Term::Sku(sku)),
                Payload::User {
                    user_id,
                    email_domain,
                } => (1, user_id, Term::Domain(email_domain)),
                Payload::Payment {
                    order_id, method, ..
                } => (2, order_id, Term::Method(method)),
                Payload::Generic { entity_id } => (3, entity_id, Term::Kind(3)),
            };
            let Some((d, created)) = s.documents[usize::from(kind)].entry_new(id, max_entries)
            else {
                return false;
            };
            if !created && d.event_id >= ev.event_id {
                // An older (or the same) event: the document is newer.
                return true;
            }
            let old = (!created).then_some(d.term(usize::from(kind)));
            *d = Document::of(term, ev.event_id);
            if old != Some(term) {
                if let Some(old) = old {
                    s.count(old, false);
                }
                s.count(term, true);
            }
        }
        true
    }
}

impl Notifications {
    /// [`SinkState::apply`] on a notifier.
    #[inline(never)]
    fn apply(&mut self, ev: &Applied) -> bool {
        let s = self;
        {
            let (channel, recipient) = match ev.payload {
                Payload::Order { user_id, .. } => (Channel::Email, user_id),
                Payload::User { user_id, .. } => (Channel::Email, user_id),
                Payload::Payment { order_id, .. } => (Channel::Push, order_id),
                Payload::Generic { entity_id } => (Channel::Push, entity_id),
            };
            slot_of(&mut s.sent, ev.topic)[channel as usize] += 1;
            let n = Notification {
                event_id: ev.event_id,
                channel,
                topic: ev.topic,
                recipient,
            };
            let newest = s.recent.back().is_none_or(|x| x.event_id < n.event_id);
            let at = if newest {
                s.recent.len()
            } else {
                s.recent.partition_point(|x| x.event_id < n.event_id)
            };
            if newest && s.recent.len() >= RECENT_NOTIFICATIONS {
                // The usual case once full: the oldest makes way.
                s.recent.pop_front();
                s.recent.push_back(n);
            } else if s.recent.get(at).is_some_and(|x| x.event_id == n.event_id) {
                s.recent[at] = n;
            } else if s.recent.len() < RECENT_NOTIFICATIONS {
                s.recent.insert(at, n);
            } else if at > 0 {
                s.recent.pop_front();
                s.recent.insert(at - 1, n);
            }
        }
        true
    }
}

/// The state of one sink.
// One per sink, built once and updated in place: the size of the largest
// variant costs nothing, a box would cost an indirection per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SinkState {
    /// See [`Inventory`].
    Inventory(Inventory),
    /// See [`ReadViews`].
    ReadViews(ReadViews),
    /// See [`Warehouse`].
    Warehouse(Warehouse),
    /// See [`SearchIndex`].
    SearchIndex(SearchIndex),
    /// See [`Notifications`].
    Notifications(Notifications),
    /// See [`Counter`].
    Counter(Counter),
}

impl SinkState {
    /// An empty state of `kind`.
    pub fn new(kind: SinkKind) -> SinkState {
        match kind {
            SinkKind::Inventory => SinkState::Inventory(Inventory::default()),
            SinkKind::ReadViews => SinkState::ReadViews(ReadViews::default()),
            SinkKind::Warehouse => SinkState::Warehouse(Warehouse::default()),
            SinkKind::SearchIndex => SinkState::SearchIndex(SearchIndex::default()),
            SinkKind::Notifications => SinkState::Notifications(Notifications::default()),
            SinkKind::Counter => SinkState::Counter(Counter::default()),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> SinkKind {
        match self {
            SinkState::Inventory(_) => SinkKind::Inventory,
            SinkState::ReadViews(_) => SinkKind::ReadViews,
            SinkState::Warehouse(_) => SinkKind::Warehouse,
            SinkState::SearchIndex(_) => SinkKind::SearchIndex,
            SinkState::Notifications(_) => SinkKind::Notifications,
            SinkState::Counter(_) => SinkKind::Counter,
        }
    }

    /// Applies one event's side effect. Maps keyed by aggregate grow to at
    /// most `max_entries`; returns false when an event for a new key was
    /// dropped because of that bound.
    ///
    /// The dispatch is inlined into the caller's loop and each kind's
    /// update is a function of its own: one call, with only the registers
    /// that kind needs saved, instead of a large function for them all.
    #[inline(always)]
    pub fn apply(&mut self, ev: &Applied, max_entries: usize) -> bool {
        match self {
            SinkState::Inventory(s) => s.apply(ev, max_entries),
            SinkState::ReadViews(s) => s.apply(ev, max_entries),
            SinkState::Warehouse(s) => s.apply(ev),
            SinkState::SearchIndex(s) => s.apply(ev, max_entries),
            SinkState::Notifications(s) => s.apply(ev),
            SinkState::Counter(s) => {
                *slot_of(&mut s.by_type, ev.topic) += 1;
                true
            }
        }
    }

    /// A summary for reports; `topic_name` names topics by index.
    pub fn summary(&self, topic_name: &dyn Fn(u32) -> String) -> SinkReport {
        match self {
            SinkState::Inventory(s) => SinkReport::Inventory {
                orders: s.orders,
                units_taken: s.units,
                skus_touched: s.skus() as u64,
                lowest_stock: s.lowest(5),
            },
            SinkState::ReadViews(s) => SinkReport::ReadViews {
                orders_by_status: s.orders_by_status(),
                users: s.users.len() as u64,
                payments: s.payments,
                paid_cents: s.paid_cents,
            },
            SinkState::Warehouse(s) => SinkReport::Warehouse {
                by_type: s
                    .by_type
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.count > 0)
                    .map(|(t, &tally)| (topic_name(t as u32), tally))
                    .collect(),
                hour_buckets: s
                    .by_hour
                    .values()
                    .map(|v| v.iter().filter(|x| x.count > 0).count() as u64)
                    .sum(),
            },
            SinkState::SearchIndex(s) => SinkReport::SearchIndex {
                documents: s.len(),
                terms: s.terms(),
            },
            SinkState::Notifications(s) => SinkReport::Notifications {
                sent: s
                    .sent
                    .iter()
                    .enumerate()
                    .flat_map(|(t, counts)| {
                        ["email", "push"]
                            .into_iter()
                            .zip(*counts)
                            .filter(|&(_, n)| n > 0)
                            .map(move |(c, n)| (format!("{c}/{}", topic_name(t as u32)), n))
                    })
                    .collect(),
                recent: s.recent.iter().copied().collect(),
            },
            SinkState::Counter(s) => SinkReport::Counter {
                by_type: s
                    .by_type
                    .iter()
                    .enumerate()
                    .filter(|&(_, &n)| n > 0)
                    .map(|(t, &n)| (topic_name(t as u32), n))
                    .collect(),
            },
        }
    }
}

/// A sink's state in brief, for reports and JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SinkReport {
    /// Stock.
    Inventory {
        /// Orders applied.
        orders: u64,
        /// Units taken from stock.
        units_taken: u64,
        /// Skus whose stock changed.
        skus_touched: u64,
        /// The five skus with the least stock: (sku, stock).
        lowest_stock: Vec<(u32, i64)>,
    },
    /// Materialized views.
    ReadViews {
        /// Orders per status.
        orders_by_status: BTreeMap<OrderStatus, u64>,
        /// Users registered.
        users: u64,
        /// Payments applied.
        payments: u64,
        /// Their amount.
        paid_cents: u64,
    },
    /// Aggregates.
    Warehouse {
        /// Count and amount per event type.
        by_type: BTreeMap<String, Tally>,
        /// (type, hour) buckets.
        hour_buckets: u64,
    },
    /// Search index.
    SearchIndex {
        /// Documents indexed.
        documents: u64,
        /// Distinct terms.
        terms: u64,
    },
    /// Notifications.
    Notifications {
        /// Sent per `channel/type`.
        sent: BTreeMap<String, u64>,
        /// The last few (highest event ids).
        recent: Vec<Notification>,
    },
    /// Counts.
    Counter {
        /// Events per type.
        by_type: BTreeMap<String, u64>,
    },
}

/// A sink at the end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SinkSummary {
    /// Its Mermaid id.
    pub key: String,
    /// Its kind.
    pub kind: SinkKind,
    /// Events dropped because a map was full (`Limits::max_sink_entries`).
    pub overflow: u64,
    /// Its state.
    pub state: SinkReport,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event_id: u64, payload: Payload) -> Applied {
        Applied {
            topic: 0,
            event_id,
            key: 1,
            produced_at: VirtualTime::from_secs(3_700),
            payload,
        }
    }

    fn order(id: u64, sku: u32, quantity: u16) -> Payload {
        Payload::Order {
            order_id: id,
            user_id: 9,
            sku,
            quantity,
            amount_cents: 100 * u64::from(quantity),
        }
    }

    fn pay(order_id: u64) -> Payload {
        Payload::Payment {
            payment_id: 1,
            order_id,
            amount_cents: 300,
            method: 1,
        }
    }

    #[test]
    fn a_kept_event_is_small() {
        // The event store keeps one per event (Limits::max_store_events).
        assert!(std::mem::size_of::<Applied>() <= 72);
    }

    #[test]
    fn kinds_follow_the_seed_labels() {
        let k = SinkKind::for_label;
        assert_eq!(k("Inventory DB", "InvDB"), SinkKind::Inventory);
        assert_eq!(
            k("Read DB - Materialized Views", "ReadDB"),
            SinkKind::ReadViews
        );
        assert_eq!(k("Data Warehouse", "DW"), SinkKind::Warehouse);
        assert_eq!(k("Elasticsearch", "Elastic"), SinkKind::SearchIndex);
        assert_eq!(k("Email / Push", "Email"), SinkKind::Notifications);
        assert_eq!(k("Ledger", "L"), SinkKind::Counter);
    }

    #[test]
    fn inventory_takes_stock_and_twice_when_applied_twice() {
        let mut s = SinkState::new(SinkKind::Inventory);
        let e = ev(1, order(5, 42, 3));
        assert!(s.apply(&e, 10));
        assert!(s.apply(&e, 10));
        s.apply(&ev(2, pay(5)), 10);
        let SinkState::Inventory(inv) = &s else {
            panic!("inventory")
        };
        assert_eq!(inv.stock(42), INITIAL_STOCK - 6);
        assert_eq!(inv.stock(7), INITIAL_STOCK);
        assert_eq!((inv.orders, inv.ignored), (2, 1));
        assert_eq!(inv.lowest(1), vec![(42, INITIAL_STOCK - 6)]);
    }

    #[test]
    fn read_views_move_orders_to_paid_in_any_order() {
        let mut a = SinkState::new(SinkKind::ReadViews);
        let mut b = SinkState::new(SinkKind::ReadViews);
        let evs = [ev(1, order(5, 1, 1)), ev(2, pay(5)), ev(3, pay(6))];
        for e in &evs {
            a.apply(e, 10);
        }
        for e in evs.iter().rev() {
            b.apply(e, 10);
        }
        assert_eq!(a, b);
        let SinkState::ReadViews(v) = &a else {
            panic!("views")
        };
        let by = v.orders_by_status();
        assert_eq!(by.get(&OrderStatus::Paid), Some(&1));
        assert_eq!(by.get(&OrderStatus::PaymentOnly), Some(&1));
        assert_eq!(v.order(5).map(OrderView::status), Some(OrderStatus::Paid));
    }

    #[test]
    fn search_index_moves_postings_and_notifications_keep_highest_ids() {
        let mut s = SinkState::new(SinkKind::SearchIndex);
        s.apply(&ev(1, order(5, 1, 1)), 10);
        s.apply(&ev(2, order(5, 2, 1)), 10);
        s.apply(&ev(3, order(6, 2, 1)), 10);
        let SinkState::SearchIndex(ix) = &s else {
            panic!("index")
        };
        assert_eq!(ix.len(), 2);
        assert_eq!(ix.matches(Term::Sku(1)), 0);
        assert_eq!(ix.matches(Term::Sku(2)), 2);
        assert_eq!(ix.matches(Term::Kind(0)), 2);
        assert_eq!(ix.search(Term::Sku(2)), vec![5, 6]);
        assert_eq!(ix.terms(), 2, "kind 0 and sku 2");

        let mut n = SinkState::new(SinkKind::Notifications);
        for id in (0..40u64).rev() {
            n.apply(&ev(id, pay(id)), 10);
        }
        let SinkState::Notifications(n) = &n else {
            panic!("notifications")
        };
        assert_eq!(n.total(), 40);
        assert_eq!(n.recent.len(), RECENT_NOTIFICATIONS);
        assert_eq!(n.recent.front().map(|x| x.event_id), Some(24));
        assert_eq!(n.recent.back().map(|x| x.event_id), Some(39));
    }

    /// Found by the rebuild property test: an order service and the write
    /// model both publish events of order 5 on two topics; the document
    /// must not depend on which topic's partition was read first.
    #[test]
    fn latest_event_wins_whatever_the_order_of_application() {
        let evs = [
            ev(7, order(5, 1, 1)),
            ev(9, order(5, 2, 1)),
            ev(8, order(5, 3, 1)),
            ev(
                3,
                Payload::User {
                    user_id: 5,
                    email_domain: 1,
                },
            ),
            ev(
                4,
                Payload::User {
                    user_id: 5,
                    email_domain: 2,
                },
            ),
        ];
        for kind in [SinkKind::SearchIndex, SinkKind::ReadViews] {
            let mut a = SinkState::new(kind);
            let mut b = SinkState::new(kind);
            for e in &evs {
                a.apply(e, 10);
            }
            for e in evs.iter().rev() {
                b.apply(e, 10);
            }
            assert_eq!(a, b, "{kind:?}");
        }
        let mut s = SinkState::new(SinkKind::SearchIndex);
        for e in &evs {
            s.apply(e, 10);
        }
        let SinkState::SearchIndex(ix) = &s else {
            panic!("index")
        };
        assert_eq!(ix.search(Term::Sku(2)), vec![5]);
        assert_eq!(ix.matches(Term::Sku(3)), 0);
        assert_eq!(ix.matches(Term::Domain(2)), 1);
    }

    #[test]
    fn maps_are_bounded_and_warehouse_buckets_by_hour() {
        let mut s = SinkState::new(SinkKind::ReadViews);
        assert!(s.apply(&ev(1, order(1, 1, 1)), 1));
        assert!(!s.apply(&ev(2, order(2, 1, 1)), 1));
        assert!(s.apply(&ev(3, pay(1)), 1));
        let mut w = SinkState::new(SinkKind::Warehouse);
        w.apply(&ev(1, order(1, 1, 2)), 1);
        w.apply(&ev(2, order(2, 1, 1)), 1);
        let SinkState::Warehouse(w) = &w else {
            panic!("warehouse")
        };
        assert_eq!(
            w.hour(0, 1),
            Tally {
                count: 2,
                amount_cents: 300
            }
        );
        assert_eq!(w.hour(0, 2), Tally::default());
    }

    #[test]
    fn term_counts_equal_the_map_they_replaced() {
        // Counted up and down in any order, the counts equal a map of the
        // non-zero ones and are stored as that map.
        let terms = [
            Term::Domain(2),
            Term::Method(0),
            Term::Domain(7),
            Term::Domain(2),
            Term::Method(3),
        ];
        let mut docs = TermDocs::default();
        let mut map: BTreeMap<Term, u64> = BTreeMap::new();
        for (i, &t) in terms.iter().enumerate() {
            docs.count(t, true);
            *map.entry(t).or_default() += 1;
            if i % 2 == 1 {
                docs.count(Term::Domain(7), false);
                if let Some(n) = map.get_mut(&Term::Domain(7)) {
                    *n -= 1;
                    if *n == 0 {
                        map.remove(&Term::Domain(7));
                    }
                }
            }
        }
        assert_eq!(docs.to_map(), map);
        assert_eq!(docs.len(), map.len());
        for t in [
            Term::Domain(2),
            Term::Domain(7),
            Term::Method(3),
            Term::Method(9),
        ] {
            assert_eq!(docs.get(t), map.get(&t).copied().unwrap_or(0), "{t:?}");
        }
        // Emptied from the top, no trailing zero is left: equal counts are equal.
        let mut a = TermDocs::default();
        a.count(Term::Domain(1), true);
        a.count(Term::Domain(5), true);
        a.count(Term::Domain(5), false);
        let mut b = TermDocs::default();
        b.count(Term::Domain(1), true);
        assert_eq!(a, b);
        let bytes = rmp_serde::to_vec(&docs).expect("serializes");
        assert_eq!(bytes, rmp_serde::to_vec(&map).expect("serializes"));
        let back: TermDocs = rmp_serde::from_slice(&bytes).expect("reads back");
        assert_eq!(back, docs);
    }
}
